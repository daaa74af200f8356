"""`irisenv sync`, as two phases, each observe -> pure plan -> apply, under the project lock
and, when there is something to change, the engine-side lock (enginelock.py).

Phase one, the containers: observe (irisenv/observe.py), reconcile() (core/plan.py), and
the executor (irisenv/apply.py) carries the steps out. Phase two, IRIS, per instance as
soon as it is ready: observe IRIS (iris/probe.py), plan_iris() (core/iris_plan.py), apply
(the executor's converge). The executor decides nothing: when the engine changed under it
(Docker reported a conflict, e.g. a name taken meanwhile), the instance's steps end and
this module observes and plans again, at most PLANS times.

Between phase one's plan and its apply, the port registry (irisenv/registry.py) leases the
host ports of "auto" ports, once per sync: the run specs carry them. When another program
took a leased port before a new container could publish it, that port is avoided, another
leased, and the sync plans again (as after a conflict)."""
from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass

from .core.plan import Create, Options, Plan, Promote, Replace
from .errors import ConfigError, ConflictError, IrisenvError, PortInUseError, RefusedError, combine

PLANS = 3  # plans a sync may make when the engine keeps changing under it
FIRST_LOOK_TIMEOUT = 30.0  # seconds for phase two's first probe (as the plan's probes)


@dataclass
class SyncOutcome:
    plan: Plan  # the first plan: what the sync set out to do
    seconds: float
    plans: int = 1  # how many plans it took (more than one after a conflict)


def sync(project, options: Options, *, timeout: float, reporter, lock_timeout: float) -> SyncOutcome:
    from .apply import Executor

    t0 = time.monotonic()
    with project.lock("sync", lock_timeout, reporter), ExitStack() as held:
        first = None
        leases = Leases(project, reporter)
        engine_locked = False

        def lock_engine() -> None:
            from .enginelock import LEASE_MARGIN, hold

            held.enter_context(hold(project.engine, project.name, "sync",
                                    lease=timeout + LEASE_MARGIN, timeout=lock_timeout,
                                    reporter=reporter))
            leases.engine_locked = True

        for attempt in range(1, PLANS + 1):
            if not engine_locked and changes_certain(project, options):
                lock_engine()  # no plan first: it could only say there are changes
                engine_locked = True
            plan = _planned(project, options, leases)
            if plan.has_changes and not engine_locked:
                # Changes to make: take the engine-side lock (another machine may sync this
                # project on the same engine; a no-op never takes it), then plan again from
                # what the engine holds now, while nobody else changes it.
                lock_engine()
                engine_locked = True
                plan = _planned(project, options, leases)
            first = first or plan
            for note in plan.notes:
                reporter.event("note", note)
            executor = Executor(project.engine, reporter, timeout=timeout,
                                passwords=project.passwords())
            try:
                result = executor.run(plan, when_ready=_phase_two(reporter, timeout))
            except RefusedError as exc:  # a pull Docker refused
                raise project.refused(exc) from None
            conflicts = sorted(k for k, e in result.errors.items() if isinstance(e, ConflictError))
            taken = leases.taken(plan, result.errors) if attempt < PLANS else {}
            if not (conflicts or taken) or attempt == PLANS:
                break
            if conflicts:
                reporter.event("replan", f"{', '.join(conflicts)}: the engine changed while "
                               "irisenv worked (Docker reported a conflict); observing and "
                               "planning again")
            for instance, ports in sorted(taken.items()):
                reporter.event("replan", f"host port {', '.join(map(str, ports))}, leased from "
                               "the port registry, was taken by another program; leasing "
                               "another and planning again", instance=instance)
        if options.wait:  # --no-wait leaves IRIS unconverged: the pools too
            _settle_pools(project, result.errors, reporter, timeout)
    _raise_errors(project, result.errors)
    return SyncOutcome(plan=first, seconds=time.monotonic() - t0, plans=attempt)


def changes_certain(project, options: Options | None = None) -> bool:
    """A sync of an instance under reuse = "never" (its own, or `--reuse never` for this
    run) always changes something (a fresh container, or a spare swapped in): the
    engine-side lock is taken before the first plan, which saves a whole observe
    (docs/spares.md)."""
    override = options.reuse if options is not None else None
    return any((override or i.reuse) == "never" for i in project.config.instances.values())


def _settle_pools(project, errors: dict, reporter, timeout: float) -> None:
    """After the plan: each instance's pools told to the lease table and their dirty copies
    reset (pool_sync.settle), still under the project lock. An instance that failed is
    left alone; a failure here joins ``errors``."""
    from .pool_sync import settle, table

    known = table(project.engine, project.name).read().templates
    for name, want in project.iris_desired().items():
        if name in errors or not (want.pools or any(k.startswith(f"{name}/") for k in known)):
            continue
        try:
            cid = project.container_id(name)
            settle(project.engine, project.name, cid, want, project.passwords().get(name, ""),
                   reporter=reporter, timeout=timeout)
        except IrisenvError as exc:
            errors[name] = exc


class Leases:
    """lease(desired, observed, plan) for Project.survey: the port registry asked once per
    sync (irisenv/registry.py), and again only after a leased port was found taken. A plan
    with changes is leased for only once the engine-side lock is held (``engine_locked``):
    a sync that waits for another machine's leases nothing meanwhile, and one that never
    gets the lock leaves no entry behind. A no-op is leased for at once (the lease keeps
    its entries seen)."""

    def __init__(self, project, reporter):
        self.project, self.reporter = project, reporter
        self.ports: dict | None = None  # instance -> {kind: host port}
        self.avoid: set = set()
        self._asked: set | None = None
        self.engine_locked = False

    def __call__(self, desired: list, observed, plan) -> list:
        from dataclasses import replace

        if plan.problems:  # the sync stops on them: nothing to lease
            return desired
        if plan.has_changes and not self.engine_locked:  # planned again under the lock
            return desired
        if self.ports is None or self._asked != self.avoid:
            from .registry import lease

            leased = lease(self.project, desired, observed, plan, self.reporter,
                           frozenset(self.avoid))
            self.ports = {d.instance: d.host_ports for d in leased}
            self._asked = set(self.avoid)
        return [replace(d, host_ports=self.ports.get(d.instance, {})) for d in desired]

    def taken(self, plan, errors: dict) -> dict:
        """{instance: ports} of the leased ports a new container of ``plan`` could not
        publish (another program holds them): avoided from now on in this sync."""
        new = {s.desired.instance for s in plan.steps if isinstance(s, (Create, Replace, Promote))}
        out = {}
        for instance, exc in errors.items():
            leased = set((self.ports or {}).get(instance, {}).values())
            if not isinstance(exc, PortInUseError) or instance not in new or not leased:
                continue
            ports = {exc.port} & leased if exc.port is not None else leased
            if ports:
                out[instance] = sorted(ports)
                self.avoid.update(ports)
        return out


def _planned(project, options: Options, leases) -> Plan:
    """The plan (with its leased ports), or the error of its first problem (nothing is
    changed then)."""
    plan = project.plan(options, lease=leases)
    if plan.problems:
        p = plan.problems[0]
        raise IrisenvError(f"instance {p.instance}: {p.what}", p.why, p.fix)
    return plan


def _phase_two(reporter, timeout: float):
    """Phase two of one instance, once its container is ready: observe IRIS, plan, apply.
    Its first look (one probe) is started by the ladder alongside qlist (apply.py, wait):
    when that answered, it is the observation; else IRIS is probed until it answers."""
    from .core.init import applied
    from .core.iris_plan import init_kept_note, kept_note, plan_iris, sticky_note
    from .errors import IrisenvError
    from .iris.probe import observe, observe_when_ready
    from .pool_sync import with_held

    def first_look(executor, step, container_id: str):
        return observe(executor.engine, container_id, step.iris,
                       executor.passwords.get(step.desired.instance, ""),
                       timeout=min(timeout, FIRST_LOOK_TIMEOUT))

    def run(executor, step, container_id: str) -> None:
        d, want = step.desired, step.iris
        seen = None
        early = executor.first_looks.pop(container_id, None)
        if early is not None:
            try:
                seen = early.result()
            except IrisenvError:  # no session yet: probed until it answers, below
                seen = None
        if seen is None:
            seen = observe_when_ready(executor.engine, container_id, want,
                                      executor.passwords.get(d.instance, ""), timeout=timeout)
        seen = with_held(executor.engine, d.project, d.instance, seen, want)
        ip = plan_iris(want, seen, drop_durable=step.drop_durable, fresh=step.fresh,
                       previous=applied().get)
        for name in ip.kept:
            reporter.event("note", kept_note(name), instance=d.instance)
        for name in ip.init_kept:
            reporter.event("note", init_kept_note(name), instance=d.instance)
        if ip.sticky:
            reporter.event("note", sticky_note(want.username), instance=d.instance)
        if ip.empty:
            reporter.event("converged", "IRIS state already as declared", instance=d.instance)
            return
        executor.converge(d, want, container_id, ip.actions, ip.records)

    run.first_look = first_look
    return run


def _raise_errors(project, errors: dict) -> None:
    if not errors:
        return
    errors = {k: project.refused(e) if isinstance(e, RefusedError) else e
              for k, e in errors.items()}
    raise combine(errors)
