"""The facade: one Project per config. Reads files at the edge, observes Docker, calls the
pure reconcile(), hands the plan to the executor. Used by the CLI, the Python API, nox and
pytest alike."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, urlparse

from .config.model import Config, Instance
from .core import labels as L
from .core.desired import SUPERSERVER_PORT, WEB_PORT, DesiredContainer, desired_container
from .core.observed import Observed
from .core.plan import Options, Plan, reconcile
from .errors import ConfigError, IrisenvError, RefusedError, register_secret

DEFAULT_TIMEOUT = 180.0
DOWN_LOCK_TIMEOUT = 300.0


@dataclass(frozen=True)
class Connection:
    """How to reach one instance. ``password`` is data for programs: never log it."""

    instance: str
    container: str
    host: str
    port: int | None
    web_port: int | None
    namespace: str
    username: str
    password: str = field(repr=False)

    @property
    def url(self) -> str:
        return (f"iris://{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
                f"{self.host}:{self.port}/{self.namespace}")

    def env(self) -> dict:
        return {"IRIS_HOST": self.host, "IRIS_PORT": str(self.port or ""),
                "IRIS_WEB_PORT": str(self.web_port or ""), "IRIS_NAMESPACE": self.namespace,
                "IRIS_USERNAME": self.username, "IRIS_PASSWORD": self.password,
                "IRIS_URL": self.url, "IRIS_CONTAINER": self.container}


class Project:
    def __init__(self, config: Config, engine=None):
        self.config = config
        if engine is not None:  # e.g. a test's: it gets the retry layer too
            from .engine.retry import with_retries

            engine = with_retries(engine)
        self._engine = engine
        for inst in config.instances.values():
            register_secret(inst.credentials.password)

    @property
    def name(self) -> str:
        return self.config.project

    @property
    def engine(self):
        if self._engine is None:
            from .engine import open_engine

            self._engine = open_engine()
        return self._engine

    @property
    def base_dir(self) -> Path:
        return self.config.base_dir

    # ------------------------------------------------------------------ desired
    def iris_desired(self) -> dict:
        from .core.iris_plan import IrisDesired

        return {name: IrisDesired.of(inst) for name, inst in self.config.instances.items()}

    def passwords(self) -> dict:
        return {name: inst.credentials.password for name, inst in self.config.instances.items()}

    def desired(self) -> list[DesiredContainer]:
        from . import userfiles
        from .iris import mergefile
        from .iris.converge import boot_actions

        out = []
        iris = self.iris_desired()
        for inst in self.config.instances.values():
            key = userfiles.licence(inst)
            merge = userfiles.merge(inst)
            boot = mergefile.first_boot(inst, merge[1] if merge else None,
                                        boot_actions(iris[inst.name]))
            out.append(desired_container(self.config, inst, license_bytes=key,
                                         merge_bytes=merge[0] if merge else None,
                                         first_boot_merge=boot.encode()))
        return out

    # ------------------------------------------------------------------ observe
    def observe(self, desired: list[DesiredContainer]) -> Observed:
        """One list call, one image inspect per image, and one IRIS probe per running
        instance (in parallel): the probe both reads IRIS-level state and proves IRIS
        answers sessions, so no local readiness cache is needed."""
        engine = self.engine
        containers = tuple(engine.list_project(self.name))
        images = {}
        for d in desired:
            if d.image not in images:
                try:
                    images[d.image] = engine.image_id(d.image)
                except RefusedError as exc:  # e.g. an invalid reference: the config's fault
                    raise self.refused(exc) from None
        present = {c.name for c in containers}
        foreign = {}
        for d in desired:
            if d.name not in present:
                other = engine.find_by_name(d.name)
                if other is not None and (not L.is_ours(other.labels)
                                          or other.labels.get(L.PROJECT) != self.name):
                    foreign[d.name] = other  # not ours, or another irisenv project's
        volumes = frozenset()
        if any(d.full_spec()["storage"] == "volume" for d in desired):
            volumes = frozenset(engine.volumes(self.name))
        iris, actual = self._probe_and_inspect(desired, containers)
        containers = tuple(replace(c, actual=actual.get(c.id)) for c in containers)
        return Observed(project=self.name, containers=containers, image_ids=images,
                        foreign_by_name=foreign, volumes=volumes, ready_ids=frozenset(iris),
                        iris=iris)

    def _probe_and_inspect(self, desired, containers) -> tuple[dict, dict]:
        """Concurrently: one IRIS probe per running instance, and one inspect per instance's
        current container (its real settings, for drift the labels cannot see)."""
        from .iris.probe import observe as probe

        wanted = self.iris_desired()
        passwords = self.passwords()
        current = [(d, c) for d in desired for c in containers
                   if c.name == d.name and c.state not in ("removing", "dead")]

        def inspect(c):
            try:
                return "actual", c.id, self.engine.actual(c.id)
            except IrisenvError:
                return "actual", c.id, None  # gone meanwhile: the plan sees no real settings

        def one(d, c):
            try:
                return "iris", c.id, probe(self.engine, c.id, wanted[d.instance],
                                           passwords[d.instance], timeout=30)
            except IrisenvError:
                return "iris", c.id, None  # not answering (yet): the plan waits, then converges

        jobs = [lambda c=c: inspect(c) for _, c in current]
        jobs += [lambda d=d, c=c: one(d, c) for d, c in current if c.state == "running"]
        out: dict = {"iris": {}, "actual": {}}
        for kind, cid, value in _concurrently(jobs):
            if value is not None:
                out[kind][cid] = value
        return out["iris"], out["actual"]

    # ------------------------------------------------------------------ verbs
    def plan(self, options: Options = Options()) -> Plan:
        desired = self.desired()
        return reconcile(desired, self.observe(desired), options, self.iris_desired())

    def lock(self, verb: str, timeout: float, reporter=None):
        return engine_lock(self.engine, self.name, verb, timeout, reporter)

    def sync(self, options: Options = Options(), *, timeout: float = DEFAULT_TIMEOUT,
             reporter=None, lock_timeout: float | None = None) -> "SyncOutcome":
        from .apply import Executor
        from .report import QuietReporter

        reporter = reporter or QuietReporter()
        t0 = time.monotonic()
        with self.lock("sync", lock_timeout if lock_timeout is not None else timeout + 120, reporter):
            plan = self.plan(options)
            if plan.problems:
                p = plan.problems[0]
                raise IrisenvError(f"instance {p.instance}: {p.what}", p.why, p.fix)
            for note in plan.notes:
                reporter.event("note", note)
            try:
                result = Executor(self.engine, reporter, timeout=timeout,
                                  passwords=self.passwords()).run(plan)
            except RefusedError as exc:  # a pull Docker refused
                raise self.refused(exc) from None
        if result.errors:
            errors = {k: self.refused(e) if isinstance(e, RefusedError) else e
                      for k, e in result.errors.items()}
            errs = list(errors.values())
            if len(errs) == 1:
                raise errs[0]
            if all(isinstance(e, ConfigError) for e in errs):
                raise ConfigError([i for e in errs for i in e.issues])
            first = errs[0]
            raise (IrisenvError if isinstance(first, ConfigError) else type(first))(
                f"{len(errs)} instances failed; first: {first.what}",
                "; ".join(f"{k}: {e.what}" for k, e in errors.items()),
                first.fix, exit_code=max(e.exit_code for e in errs))
        return SyncOutcome(plan=plan, seconds=time.monotonic() - t0)

    def refused(self, exc: RefusedError) -> ConfigError:
        """Docker refused a config value: the error at that key's file:line, for each
        instance it concerns (a refused image reference: every instance using it)."""
        from .config.load import locate_issue

        if exc.instance is not None:
            names = [exc.instance]
        else:
            names = [n for n, i in self.config.instances.items()
                     if exc.key != "image" or i.image == exc.value] or list(self.config.instances)
        return ConfigError([locate_issue(self.config, ("instances", n, exc.key),
                                         f"{exc.what}: {exc.why}",
                                         "irisenv passes it to Docker, which checks it when it "
                                         + ("reads the image" if exc.key == "image"
                                            else "creates the container"), exc.fix)
                            for n in names])

    def down(self, *, volumes: bool = False, reporter=None,
             lock_timeout: float = DOWN_LOCK_TIMEOUT) -> dict:
        return down_project(self.engine, self.name, volumes=volumes, reporter=reporter,
                            lock_timeout=lock_timeout)

    # ------------------------------------------------------------------ info
    def connection(self, instance: str | None = None, namespace: str | None = None) -> Connection:
        inst = self.config.instance(instance)
        name = L.container_name(self.name, inst.name)
        c = next((c for c in self.engine.list_project(self.name) if c.name == name), None)
        if c is None or c.state != "running":
            raise IrisenvError(f"instance {inst.name} is not running"
                               + ("" if c is None else f" (container {name} is {c.state})"),
                               "connection details come from the running container",
                               "run `irisenv sync` first")
        return Connection(instance=inst.name, container=name, host=self.host(inst),
                          port=c.ports.get(SUPERSERVER_PORT), web_port=c.ports.get(WEB_PORT),
                          namespace=(namespace or inst.default_namespace),
                          username=inst.credentials.username, password=inst.credentials.password)

    def declared_namespace(self, instance: str | None, namespace: str) -> str:
        """``namespace`` (upper-cased) when the instance declares it or it is built in (USER),
        else an error listing the declared ones. For `irisenv env` and irisenv.session(),
        which hand out a URL from the config: a namespace that does not exist is a mistake
        there. (connect() takes any name, e.g. a test run's own namespace.)"""
        from .errors import did_you_mean
        from .names import BUILTIN_NAMESPACES

        inst = self.config.instance(instance)
        name = namespace.upper()
        declared = [ns.name for ns in inst.namespaces]
        if name in declared or name in BUILTIN_NAMESPACES:
            return name
        allowed = declared + sorted(BUILTIN_NAMESPACES - set(declared))
        hint = did_you_mean(name, allowed)
        raise IrisenvError(f"namespace {namespace} is not declared for instance {inst.name}",
                           f"instance {inst.name} declares: {', '.join(declared) or 'none'}; "
                           f"{', '.join(sorted(BUILTIN_NAMESPACES))} always exists"
                           + (f"; {hint}" if hint else ""),
                           f"pass one of {', '.join(allowed)}, or declare it with "
                           f"[instances.{inst.name}.namespaces.{name}] and run `irisenv sync`")

    def connect(self, instance: str | None = None, namespace: str | None = None, *,
                timeout: float = 60.0):
        """A DB-API connection (intersystems-irispython) to a running instance."""
        from .iris.connect import open_connection

        conn = self.connection(instance, namespace)
        return open_connection(conn, timeout=timeout,
                               remediate=lambda: self.converge_user(conn.instance))

    def converge_user(self, instance: str) -> None:
        """Set and verify the configured user's password now (remediation for a driver's
        "Password change required")."""
        from .core.iris_plan import EnsureUser, migration, record_changes
        from .iris import converge, probe

        want = self.iris_desired()[instance]
        cid = self.container_id(instance)
        password = self.passwords()[instance]
        seen = probe.observe(self.engine, cid, want, password)
        actions = (EnsureUser(want.username, ("password change required",)),) + migration(seen)
        converge.converge(self.engine, cid, want, password, actions,
                          record_changes(seen, actions))

    def sync_once(self, run_id: str, *, timeout: float = DEFAULT_TIMEOUT, reporter=None) -> bool:
        """Sync unless another process of the same run (pytest-xdist workers share a run
        id) already did; True when this call synced. The marker lives in the per-user
        state directory (irisenv/runs.py)."""
        from . import runs
        from .core.plan import Options
        from .lock import project_lock

        endpoint = self.engine.endpoint
        # A lock of its own, held from the marker check until the marker is written: with
        # the project lock released in between, a second worker could find no marker yet
        # and sync a second time. sync() takes the project lock inside this one; nothing
        # takes them in the other order.
        with project_lock(endpoint, self.name, "sync-once", timeout + 120, scope="sync-once"):
            if runs.synced(run_id, endpoint, self.name):
                return False
            self.sync(Options(), timeout=timeout, reporter=reporter)
            runs.mark_synced(run_id, endpoint, self.name)
        runs.prune()
        return True

    def add_namespace(self, instance: str | None, name: str, *, run: str = "") -> str:
        """Create a namespace (with its databases) for a test run (``run``: its id, kept in
        irisenv's record). It is recorded as kind test-run, apart from the config's
        namespaces, so a concurrent `irisenv sync` leaves it alone; drop_namespace removes
        it, and a sync drops it once abandoned (TEMP_TTL)."""
        from dataclasses import replace

        from .core.iris_plan import CreateNamespace, migration, record_changes
        from .core.iris_record import TEST_RUN
        from .iris import converge, probe
        from .names import namespace as check

        name = check(name)
        inst, want, password = self._iris_context(instance)
        with self.lock("namespace", 300):
            cid = self.container_id(inst.name)
            seen = probe.observe(self.engine, cid, replace(want, namespaces=(name,)), password)
            if seen.namespaces.get(name):
                raise IrisenvError(f"namespace {name} already exists in instance {inst.name}",
                                   "irisenv only creates namespaces it can own and drop",
                                   "pick another name")
            actions = (CreateNamespace(name, record_kind=TEST_RUN),) + migration(seen)
            converge.converge(self.engine, cid,
                              replace(want, namespaces=want.namespaces + (name,)), password,
                              actions, record_changes(seen, actions, run=run))
        return name

    def drop_namespace(self, instance: str | None, name: str) -> None:
        """Drop a namespace irisenv created (refuses any other)."""
        from dataclasses import replace

        from .core.iris_plan import DropNamespace, migration, record_changes
        from .iris import converge, probe
        from .names import namespace as check

        name = check(name)
        inst, want, password = self._iris_context(instance)
        with self.lock("namespace", 300):
            cid = self.container_id(inst.name)
            seen = probe.observe(self.engine, cid, want, password)
            if name not in seen.records:
                raise IrisenvError(f"namespace {name} in instance {inst.name} was not created by "
                                   "irisenv", "irisenv never drops namespaces it does not own",
                                   "drop it yourself if you mean to")
            actions = (DropNamespace(name),) + migration(seen)
            converge.converge(self.engine, cid, want, password, actions,
                              record_changes(seen, actions))
            after = probe.observe(self.engine, cid, replace(want, namespaces=(name,)), password)
            if after.namespaces.get(name):
                raise IrisenvError(f"namespace {name} still exists in instance {inst.name}",
                                   "iris merge reported success but the namespace is still there",
                                   "read `irisenv logs`")

    def _iris_context(self, instance: str | None):
        inst = self.config.instance(instance)
        return inst, self.iris_desired()[inst.name], self.passwords()[inst.name]

    def host(self, inst: Instance) -> str:
        endpoint = self.engine.endpoint
        if endpoint.startswith(("tcp://", "ssh://", "http://", "https://")):
            return urlparse(endpoint).hostname or "127.0.0.1"
        ip = inst.ports.host_ip
        return "127.0.0.1" if ip in ("0.0.0.0", "::") else ip

    def container_id(self, instance: str | None = None) -> str:
        inst = self.config.instance(instance)
        name = L.container_name(self.name, inst.name)
        c = next((c for c in self.engine.list_project(self.name) if c.name == name), None)
        if c is None:
            raise IrisenvError(f"instance {inst.name} has no container",
                               f"no container {name} with irisenv's labels exists",
                               "run `irisenv sync` first")
        return c.id


@dataclass
class SyncOutcome:
    plan: Plan
    seconds: float


def engine_lock(engine, project: str, verb: str, timeout: float, reporter=None):
    """The (engine, project) lock (irisenv/lock.py); a reporter hears when it waits."""
    from .lock import project_lock

    def on_wait(holder):
        if reporter is not None:
            reporter.event("lock", "waiting for another irisenv working on this project"
                           + (f" ({holder})" if holder else ""))

    return project_lock(engine.endpoint, project, verb, timeout, on_wait)


def down_project(engine, project: str, *, volumes: bool, reporter=None,
                 lock_timeout: float = DOWN_LOCK_TIMEOUT) -> dict:
    """Remove every container (and with volumes=True every volume) labelled for project,
    under the (engine, project) lock. Needs no config: `down --project NAME` calls it."""
    from .report import QuietReporter

    reporter = reporter or QuietReporter()
    removed = {"containers": [], "volumes": []}
    with engine_lock(engine, project, "down", lock_timeout, reporter):
        for c in engine.list_project(project):
            reporter.event("remove", f"stopping and removing {c.name}", instance=c.instance)
            if c.state in ("running", "restarting", "paused"):
                try:  # graceful, with the container's own stop_timeout
                    engine.stop(c.id, None)
                except IrisenvError:
                    pass
            engine.remove(c.id)
            removed["containers"].append(c.name)
        if volumes:
            for v in engine.volumes(project):
                reporter.event("remove", f"removing volume {v}")
                engine.remove_volume(v)
                removed["volumes"].append(v)
    return removed


def _concurrently(jobs: list) -> list:
    """Run the callables in threads (inline when there is only one); their results in order."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(jobs), 8)) as pool:
        return list(pool.map(lambda job: job(), jobs))

