"""The facade: one Project per config, used by the CLI, the Python API, nox and pytest.

It reads the config's files at the edge (desired state) and hands each verb to the module
that does it: observe.py (the one observe path), core/plan.py (the pure plan), phases.py (the
two-phase sync), down.py, connection.py (details and connect), testruns.py (what a test run
asks besides a sync)."""
from __future__ import annotations

from pathlib import Path

from .config.model import Config
from .connection import Connection  # noqa: F401  (public: irisenv.project.Connection)
from .core import labels as L
from .core.desired import DesiredContainer, desired_container
from .core.observed import Observed
from .core.plan import Options, Plan, reconcile, tags_to_check
from .errors import ConfigError, IrisenvError, RefusedError, register_secret
from .phases import SyncOutcome  # noqa: F401  (public: what Project.sync returns)

DEFAULT_TIMEOUT = 180.0


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

            self._engine = open_engine(default=self.config.engine)
        return self._engine

    @property
    def base_dir(self) -> Path:
        return self.config.base_dir

    # ------------------------------------------------------------------ desired
    def iris_desired(self) -> dict:
        """IrisDesired by instance, with each namespace's declared init hashed (once per
        Project: files whose size and mtime are unchanged are not read again)."""
        if getattr(self, "_iris_desired", None) is None:
            from .core.iris_plan import IrisDesired

            instances = self.config.instances
            mon = self.monitoring_inputs()
            if any(ns.init for inst in instances.values() for ns in inst.namespaces):
                from .core import init

                hashes = init.cache()
                self._iris_desired = {name: IrisDesired.of(inst, init.declared(inst, hashes),
                                                           **mon)
                                      for name, inst in instances.items()}
                hashes.save()
            else:  # no init declared: nothing to hash, core/init not imported
                self._iris_desired = {name: IrisDesired.of(inst, {}, **mon)
                                      for name, inst in instances.items()}
        return self._iris_desired

    def monitoring_inputs(self) -> dict:
        """What the monitoring policy takes from outside the config: IRISENV_MONITORING=off
        (this run only) and the watcher script's digest (core/monitoring.py)."""
        import os

        from .core.monitoring import env_off
        from .iris.monitoring import watch_sha

        return {"monitoring_off": env_off(os.environ), "watch": watch_sha()}

    def passwords(self) -> dict:
        return {name: inst.credentials.password for name, inst in self.config.instances.items()}

    def desired(self) -> list[DesiredContainer]:
        from . import userfiles
        from .iris import mergefile
        from .iris.converge import boot_actions

        from .connection import placed

        out = []
        iris = self.iris_desired()
        endpoint = self.engine.endpoint
        for inst in self.config.instances.values():
            inst = placed(endpoint, inst)  # host_ip as published on this engine
            key = userfiles.licence(inst)
            merge = userfiles.merge(inst)
            boot = mergefile.first_boot(inst, merge[1] if merge else None,
                                        boot_actions(iris[inst.name]))
            out.append(desired_container(self.config, inst, license_bytes=key,
                                         merge_bytes=merge[0] if merge else None,
                                         first_boot_merge=boot.encode()))
        return out

    # ------------------------------------------------------------------ observe, plan
    def observe(self, desired: list[DesiredContainer]) -> Observed:
        from .observe import observe

        return observe(self, desired)

    def plan(self, options: Options = Options(), *, lease=None) -> Plan:
        return self.survey(options, lease=lease)[2]

    def survey(self, options: Options = Options(), *, registry: bool = True,
               lease=None) -> tuple[list, Observed, Plan]:
        """(desired, observed, plan), read once. The IRIS probes start first (they take
        longest and need only the config), while the desired state is worked out.
        ``registry``: ask the registry about the tags the pull policy checks (plan and
        sync do; status does not).
        ``lease(desired, observed, plan)`` (sync's only: irisenv/phases.py) returns the
        desired containers with their leased host ports, and the plan is made for those."""
        from .observe import start

        observing = start(self)
        desired = self.desired()
        observed = observing.result(desired, tags_to_check(desired, options) if registry else ())
        iris = self.iris_desired()
        init_previous = _lazy_applied()
        unreachable = self.unreachable()
        plan = reconcile(desired, observed, options, iris, init_previous)
        plan.problems.extend(unreachable)
        if lease is not None:
            leased = lease(desired, observed, plan)
            # the run specs carry the ports; the decisions are the same, but for a spare
            # made with other leased ports, which is not promoted (core/plan.sort_spares)
            if leased != desired:
                desired = leased
                plan = reconcile(desired, observed, options, iris, init_previous)
                plan.problems.extend(unreachable)
        return desired, observed, plan

    def unreachable(self) -> list:
        """Plan problems for instances whose ports this machine could not reach where the
        engine would publish them (a loopback host_ip on a remote engine)."""
        from .connection import unreachable
        from .core.plan import Problem

        endpoint = self.engine.endpoint
        return [Problem(inst.name, *found) for inst in self.config.instances.values()
                if (found := unreachable(endpoint, inst)) is not None]

    # ------------------------------------------------------------------ verbs
    def lock(self, verb: str, timeout: float, reporter=None):
        from .lock import engine_lock

        return engine_lock(self.engine, self.name, verb, timeout, reporter)

    def sync(self, options: Options = Options(), *, timeout: float = DEFAULT_TIMEOUT,
             reporter=None, lock_timeout: float | None = None) -> SyncOutcome:
        from .report import QuietReporter
        from .phases import sync

        return sync(self, options, timeout=timeout, reporter=reporter or QuietReporter(),
                    lock_timeout=lock_timeout if lock_timeout is not None else timeout + 120)

    def refused(self, exc: RefusedError) -> ConfigError:
        """Docker refused a config value: the error at that key's file:line, for each
        instance it concerns (a refused image reference: every instance using it)."""
        from .config.load import locate_issue

        if exc.instance is not None:
            names = [exc.instance]
        else:
            names = [n for n, i in self.config.instances.items()
                     if exc.key != "image" or i.image == exc.value] or list(self.config.instances)
        return ConfigError([locate_issue(self.config, ("instances", n, *exc.key.split(".")),
                                         f"{exc.what}: {exc.why}",
                                         "irisenv passes it to Docker, which checks it when it "
                                         + ("reads the image" if exc.key == "image"
                                            else "publishes its ports" if exc.key.startswith(
                                                "ports.") else "creates the container"), exc.fix)
                            for n in names])

    def down(self, *, volumes: bool = False, reporter=None, lock_timeout: float | None = None) -> dict:
        from .down import LOCK_TIMEOUT, remove_project

        return remove_project(self.engine, self.name, volumes=volumes, reporter=reporter,
                              lock_timeout=LOCK_TIMEOUT if lock_timeout is None else lock_timeout)

    # ------------------------------------------------------------------ connections
    def connection(self, instance: str | None = None, namespace: str | None = None) -> Connection:
        from .connection import details

        return details(self, instance, namespace)

    def declared_namespace(self, instance: str | None, namespace: str) -> str:
        from .connection import declared_namespace

        return declared_namespace(self.config, instance, namespace)

    def connect(self, instance: str | None = None, namespace: str | None = None, *,
                timeout: float = 60.0):
        """A DB-API connection (intersystems-irispython) to a running instance."""
        from .connection import connect

        return connect(self, instance, namespace, timeout=timeout)

    def converge_user(self, instance: str) -> None:
        from .connection import converge_user

        converge_user(self, instance)

    # ------------------------------------------------------------------ test runs
    def sync_once(self, run_id: str, *, timeout: float = DEFAULT_TIMEOUT, reporter=None) -> bool:
        from .testruns import sync_once

        return sync_once(self, run_id, timeout=timeout, reporter=reporter)

    def add_namespace(self, instance: str | None, name: str, *, run: str = "") -> str:
        from .testruns import add_namespace

        return add_namespace(self, instance, name, run=run)

    def drop_namespace(self, instance: str | None, name: str) -> None:
        from .testruns import drop_namespace

        drop_namespace(self, instance, name)

    # ------------------------------------------------------------------ lookup
    def container_id(self, instance: str | None = None) -> str:
        inst = self.config.instance(instance)
        name = L.container_name(self.name, inst.name)
        c = next((c for c in self.engine.list_project(self.name) if c.name == name), None)
        if c is None:
            raise IrisenvError(f"instance {inst.name} has no container",
                               f"no container {name} with irisenv's labels exists",
                               "run `irisenv sync` first")
        return c.id


def _lazy_applied():
    """``previous(digest)`` for the plan: the state dir's applied-init manifests, read (and
    core/init imported) only when a plan asks, i.e. when an init changed."""
    got: list = []

    def previous(digest):
        if not got:
            from .core.init import applied

            got.append(applied())
        return got[0].get(digest)

    return previous
