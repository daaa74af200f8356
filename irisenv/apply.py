"""Walk a plan and carry it out. The plan says what, this says how: no step here chooses
what to do (a conflict, for one, ends the instance's steps and the orchestrator plans
again; phase two is the orchestrator's observe -> plan -> apply, called when an instance
is ready). What remains here is mechanics: order, threads, clean-up of what a failed step
made, and retrying a start whose "auto" port was taken.

Steps of different instances run in parallel (threads); steps of one instance in order.
The engine retries transient faults itself (engine/retry.py, bounded: attempts and time);
terminal ones fail the instance at once. A failed create removes what it made, so the next
sync starts clean; a crash at any point leaves containers that the next plan recognizes by
label.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .core import labels as L
from .core.plan import (Converge, ConvergeWhenReady, Create, CreateSpare, Plan, Promote, Pull,
                        Remove, Replace, Start, Wait)
from .errors import IrisenvError, PortInUseError, RefusedError

PORT_ATTEMPTS = 3  # starts of a container whose "auto" port another program took meanwhile


@dataclass
class ApplyResult:
    ready: dict = field(default_factory=dict)  # instance -> container id
    errors: dict = field(default_factory=dict)  # instance -> IrisenvError
    seconds: dict = field(default_factory=dict)  # instance -> wall seconds


class Executor:
    def __init__(self, engine, reporter, *, timeout: float = 180.0, wait_ready=None,
                 passwords: dict | None = None):
        self.engine = engine
        self.report = reporter
        self.timeout = timeout
        self.passwords = passwords or {}  # instance -> password (never reported)
        self._wait_ready = wait_ready  # None: iris/readiness.py's, imported when first waited
        # container id -> Background of phase two's first look at IRIS, started by the
        # ladder right after the log line (run(); see wait())
        self.first_looks: dict = {}

    def wait_ready(self, *args, **kwargs):
        if self._wait_ready is None:
            from .iris.readiness import wait_ready

            self._wait_ready = wait_ready
        return self._wait_ready(*args, **kwargs)

    def run(self, plan: Plan, when_ready=None) -> ApplyResult:
        """Carry out ``plan``. ``when_ready(executor, step, container_id)`` is phase two for
        a ConvergeWhenReady step (irisenv/phases.py): observe IRIS, plan, apply. Its
        ``first_look(executor, step, container_id)``, when it has one, is what phase two
        reads first (one attempt): for a wait followed by phase two, the ladder starts it
        right after the log line, alongside qlist, and phase two finds it in
        ``executor.first_looks``."""
        self.when_ready = when_ready
        self.first_looks = {}
        result = ApplyResult()
        for step in plan.steps:
            if isinstance(step, Pull):
                self.pull(step)
        groups: dict = {}
        planned = {s.desired.instance for s in plan.steps if hasattr(s, "desired")}
        for step in plan.steps:
            if isinstance(step, Pull):
                continue
            if getattr(step, "group", None):  # a spare's: never waited for by its instance
                key = step.group
            elif hasattr(step, "desired"):
                key = step.desired.instance
            elif step.container.instance in planned:
                # a leftover (dead, or a temp name) of an instance planned here: remove it in
                # that instance's thread, before the create that may need its name
                key = step.container.instance
            else:
                key = f"orphan:{step.container.id}"
            groups.setdefault(key, []).append(step)
        if not groups:
            return result
        # Daemon threads, not a thread pool: pool workers are joined at interpreter exit,
        # so Ctrl-C during a readiness wait would hang until the timeout. An interrupt
        # leaves what a crash leaves, and the next sync converges from that.
        gate = threading.BoundedSemaphore(8)
        outcomes: dict = {}

        def work(key: str, steps: list) -> None:
            with gate:
                try:
                    self._run_group(key, steps, result)
                except BaseException as exc:  # handed to the calling thread below
                    outcomes[key] = exc

        threads = {key: threading.Thread(target=work, args=(key, steps), daemon=True,
                                         name=f"irisenv-{key}") for key, steps in groups.items()}
        for t in threads.values():
            t.start()
        for key, t in threads.items():
            while t.is_alive():  # a bounded join: the main thread wakes every 0.2 s, so a
                t.join(0.2)      # Ctrl-C is raised promptly (seen to hang with a plain join)
            exc = outcomes.get(key)
            if isinstance(exc, IrisenvError):
                name = key.removeprefix("orphan:")
                result.errors[name] = exc
                self.report.event("error", exc.what, instance=name)
            elif exc is not None:
                raise exc
        return result

    def _run_group(self, key: str, steps: list, result: ApplyResult) -> None:
        t0 = time.monotonic()
        container_id = None  # the container an earlier step of this instance made or started
        for i, step in enumerate(steps):
            if isinstance(step, Create):
                container_id = self.create(step)
            elif isinstance(step, Start):
                container_id = self.start(step)
            elif isinstance(step, Replace):
                container_id = self.replace(step)
            elif isinstance(step, Promote):  # a spare whose IRIS answered the plan's probe
                container_id = result.ready[step.desired.instance] = self.promote(step)
            elif isinstance(step, CreateSpare):
                self.create_spare(step)
            elif isinstance(step, Remove):
                self.remove(step)
            elif isinstance(step, Wait):
                container_id = container_id or step.container.id
                then = steps[i + 1] if i + 1 < len(steps) else None
                self.wait(step, container_id, then)
                result.ready[step.desired.instance] = container_id
            elif isinstance(step, Converge):
                self.converge(step.desired, step.iris, container_id or step.container.id,
                              step.actions, step.records)
            elif isinstance(step, ConvergeWhenReady):
                if self.when_ready is None:
                    raise AssertionError("a ConvergeWhenReady step needs run(when_ready=...)")
                self.when_ready(self, step, container_id)
        result.seconds[key] = time.monotonic() - t0

    # ------------------------------------------------------------------ steps
    def pull(self, step: Pull) -> None:
        self.report.event("pull", f"pulling image {step.image}" + (
            f" (newer behind the tag: {step.newer[:19]})" if step.newer else ""))
        last = [0.0]

        def progress(ev):
            now = time.monotonic()
            if now - last[0] > 1.0 and ev.get("status"):
                last[0] = now
                self.report.event("progress", f"{ev.get('status')} {ev.get('progress', '')}".strip())

        self.engine.pull(step.image, on_progress=progress)
        self.report.event("pulled", f"pulled image {step.image}")

    def _make(self, d, name: str, spare: bool = False) -> str:
        """Create (not start) a container under ``name`` with irisenv's files copied in."""
        from .core.runspec import run_spec  # not imported by a sync with nothing to create

        spec = run_spec(d, name, spare=spare)
        for volume in spec.volumes:
            self.engine.create_volume(volume.volume, volume.labels)
        try:
            cid = self.engine.create(spec)
        except RefusedError as exc:  # a value of this instance's config
            exc.instance = d.instance
            raise
        try:
            self.engine.put_files(cid, spec.files)
        except BaseException:
            self._discard(cid)
            raise
        return cid

    def _start_new(self, cid: str, d) -> str:
        """Start a container just made; its id. When another program took a port Docker
        picked for an "auto" port, the container is made again (Docker picks anew)."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self.engine.start(cid)
                return cid
            except PortInUseError as exc:
                self._discard(cid)  # leave nothing half-made behind
                if not _picked_by_docker(d, exc.port):
                    raise  # a fixed or leased port: not Docker's to pick anew
                if attempt == PORT_ATTEMPTS:
                    raise auto_port_taken(d, exc, attempt) from None
                self.report.event("retry", f"host port {exc.port or '?'} that Docker picked "
                                  "was taken by another program; creating the container again",
                                  instance=d.instance)
                cid = self._make(d, d.name)
            except RefusedError as exc:  # e.g. a host_ip the engine's host does not have
                self._discard(cid)
                exc.instance = d.instance
                raise
            except BaseException:
                self._discard(cid)  # e.g. a fixed port taken: leave nothing half-made behind
                raise
        raise AssertionError("unreachable")

    def _discard(self, cid: str) -> None:
        try:
            self.engine.remove(cid)
        except IrisenvError:
            pass

    def create(self, step: Create) -> str:
        """A ConflictError (the name was taken meanwhile) ends this instance's steps: the
        orchestrator observes and plans again, where the container found is judged like any
        other (ours and current, ours and stale, or foreign)."""
        d = step.desired
        self.report.event("create", f"creating container {d.name}", instance=d.instance)
        cid = self._start_new(self._make(d, d.name), d)
        self.report.event("created", f"created and started {d.name} ({cid[:12]})", instance=d.instance)
        return cid

    def start(self, step: Start) -> str:
        c = step.container
        self.report.event("start", f"starting {c.name} (was {c.state})", instance=step.desired.instance)
        if c.state == "paused":
            self.engine.unpause(c.id)
        else:
            for attempt in range(1, PORT_ATTEMPTS + 1):
                try:
                    self.engine.start(c.id)
                    break
                except PortInUseError as exc:  # Docker picks an "auto" port at each start
                    if exc.port is not None and exc.port in step.desired.host_ports.values():
                        raise leased_port_taken(step.desired, exc) from None
                    if not _picked_by_docker(step.desired, exc.port):
                        raise
                    if attempt == PORT_ATTEMPTS:
                        raise auto_port_taken(step.desired, exc, attempt) from None
        self.report.event("started", f"started {c.name}", instance=step.desired.instance)
        return c.id

    def replace(self, step: Replace) -> str:
        d, old = step.desired, step.container
        self.report.event("replace", f"replacing {d.name} ({step.cause})", instance=d.instance)
        # a leftover under the temporary name is removed by the plan's own Remove step first
        new = self._make(d, L.temp_name(d.project, d.instance))
        try:
            self.report.event("stop", f"stopping {old.name} (up to {d.stop_timeout:.0f}s)",
                              instance=d.instance)
            self.engine.stop(old.id, d.stop_timeout)
            self.engine.remove(old.id)
            self.engine.rename(new, d.name)
        except BaseException:
            self._discard(new)
            raise
        new = self._start_new(new, d)
        self.report.event("replaced", f"replaced {d.name} ({old.short_id} -> {new[:12]})",
                          instance=d.instance)
        return new

    def promote(self, step: Promote) -> str:
        """The old container is removed at once, not stopped gracefully: a fresh container
        every sync keeps none of its data (and spares exclude a volume). Then the spare
        takes the instance's name, and its ports (the same bindings) are published. Each
        operation leaves a state the next plan recognizes (docs/spares.md)."""
        d, spare, old = step.desired, step.spare, step.old
        self.report.event("promote", f"promoting spare {spare.name} ({spare.short_id}), ready "
                          f"since before this sync, to {d.name}", instance=d.instance)
        if old is not None:
            self.engine.remove(old.id)
        self.engine.rename(spare.id, d.name)
        self.engine.attach(spare.id)
        self.report.event("promoted", f"promoted {spare.short_id} to {d.name}" + (
            f" (replacing {old.short_id})" if old is not None else ""), instance=d.instance)
        return spare.id

    def create_spare(self, step: CreateSpare) -> None:
        """Create and start a spare; its boot is not waited for (a later sync probes it).
        A spare that cannot be made is a warning, not the sync's failure: the instance is
        what was asked for, and the next sync tries again (what was made is removed)."""
        d = step.desired
        self.report.event("spare", f"creating spare {step.name}", instance=d.instance)
        cid = None
        try:
            cid = self._make(d, step.name, spare=True)
            self.engine.start(cid)
        except IrisenvError as exc:
            if cid is not None:
                self._discard(cid)
            self.report.event("warning", f"spare {step.name} could not be made: {exc.what} "
                              f"({exc.why}); the next sync tries again", instance=d.instance)
            return
        except BaseException:
            if cid is not None:
                self._discard(cid)
            raise
        self.report.event("spare-started", f"started spare {step.name} ({cid[:12]}); it boots "
                          "while you work", instance=d.instance)

    def remove(self, step: Remove) -> None:
        c = step.container
        self.report.event("remove", f"removing {c.name} ({step.reason})", instance=c.instance)
        if c.state in ("running", "restarting", "paused") and not step.spare:
            try:
                self.engine.stop(c.id, None)
            except IrisenvError:
                pass
        self.engine.remove(c.id)
        self.report.event("removed", f"removed {c.name}", instance=c.instance)

    def wait(self, step: Wait, cid: str, then=None) -> None:
        """The readiness ladder; when phase two comes ``then``, its first look at IRIS
        starts once the log has the ready line (one exec alongside qlist's, not after it)."""
        d = step.desired
        self.report.event("wait", "waiting for IRIS to be ready", instance=d.instance)
        extra = {}
        first_look = getattr(self.when_ready, "first_look", None)
        if isinstance(then, ConvergeWhenReady) and first_look is not None:
            extra["after_log"] = lambda: first_look(self, then, cid)
        r = self.wait_ready(self.engine, cid, self.timeout, instance=d.instance, image=d.image,
                            session_probe=step.session_probe, **extra)
        if getattr(r, "after_log", None) is not None:
            self.first_looks[cid] = r.after_log
        probe = f", probe {r.probe_seconds:.2f}s" if step.session_probe else ""
        self.report.event("ready", f"ready (log {r.log_seconds:.2f}s, qlist {r.qlist_seconds:.2f}s"
                          f"{probe})", instance=d.instance, log_seconds=round(r.log_seconds, 3),
                          qlist_seconds=round(r.qlist_seconds, 3),
                          probe_seconds=round(r.probe_seconds, 3) if step.session_probe else None,
                          monitor=r.monitor, version=r.version)
        if r.monitor and r.monitor not in ("ok", ""):
            self.report.event("warning", f"IRIS system monitor state is {r.monitor!r}: check "
                              "`irisenv logs` (e.g. a previous abnormal shutdown)", instance=d.instance)

    def converge(self, d, want, cid: str, actions: tuple, records) -> None:
        """Apply IRIS-level ``actions`` and the record nodes they change, then verify."""
        from .core.iris_plan import STICKY_SYSTEM_NOTE, ClearSystemChange
        from .iris import converge

        password = self.passwords.get(d.instance, "")
        self.report.event("converge", "updating IRIS in place: "
                          + ("; ".join(a.describe() for a in actions) or "recording ownership"),
                          instance=d.instance)
        after = converge.converge(self.engine, cid, want, password, actions, records,
                                  timeout=self.timeout)
        if after is not None and after.system_change_required and any(
                isinstance(a, ClearSystemChange) for a in actions):
            self.report.event("warning", STICKY_SYSTEM_NOTE.format(user=want.username),
                              instance=d.instance)
        self.report.event("converged", f"IRIS state verified ({len(actions)} change(s))",
                          instance=d.instance)


def _docker_keys(d) -> list[str]:
    """The ports Docker picks at each start: 0, or "auto" without a lease from the port
    registry (a sync always has one)."""
    full = d.full_spec()
    return [k for k in ("superserver", "web")
            if full[k] == 0 or (full[k] == "auto" and k not in d.host_ports)]


def _picked_by_docker(d, port: int | None) -> bool:
    """The clashing host port is one Docker picked (not a fixed one, nor a leased one: a
    leased port that is taken goes back to the orchestrator, which leases another)."""
    full = d.full_spec()
    chosen = {int(full[k]) for k in ("superserver", "web") if full[k] not in ("auto", 0, False)}
    chosen |= set(d.host_ports.values())
    return bool(_docker_keys(d)) and (port is None or port not in chosen)


def leased_port_taken(d, exc) -> PortInUseError:
    """A stopped container's leased port, taken meanwhile by another program."""
    kind = next(k for k, p in d.host_ports.items() if p == exc.port)
    return PortInUseError(
        f"instance {d.instance}: host port {exc.port}, its \"auto\" {kind} port from the port "
        "registry, is taken by another program",
        f"the container was made with that port and cannot start while another program holds "
        f"it (Docker said: {exc.why.removeprefix('Docker could not publish it: ')})",
        f"stop what holds it (`ss -ltnp | grep {exc.port}`), or run `irisenv sync --recreate`: "
        "the new container gets another port", port=exc.port)


def auto_port_taken(d, exc, attempts: int) -> IrisenvError:
    keys = " and ".join(f"ports.{k}" for k in _docker_keys(d))
    port = f"host port {exc.port}" if exc.port else "the host port"
    return IrisenvError(
        f"instance {d.instance}: {port} that Docker picked for an \"auto\" port was taken by "
        f"another program ({attempts} attempts, a new port each time)",
        f"{keys} {'are' if ' and ' in keys else 'is'} assigned by Docker: it picks a free port "
        "when the container starts, and each time another program bound it first (Docker said: "
        f"{exc.why.removeprefix('Docker could not publish it: ')})",
        "run `irisenv sync` again; if it keeps failing, find what takes ports on this host "
        f"(`ss -ltnp`), or set {keys} to a fixed free port in iris-devtester.toml")
