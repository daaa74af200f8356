"""`irisenv stop`, `start` and `restart`: a project's containers stopped or started as they
are, keeping each container and its data (nothing is made, replaced or removed). Needs no
config: the labels name the containers (``io.irisenv.project``, ``io.irisenv.instance``);
a container without them is never touched.

Each verb takes the (engine, project) lock like `sync` and `down` (irisenv/lock.py) and,
when there is something to change, the engine-side lock (irisenv/enginelock.py). An
instance's container is the one named ``<project>-<instance>``: leftovers of an
interrupted sync (a temporary name) are the next sync's to clear. Instances are handled
in parallel; `start` and `restart` then wait on the readiness ladder (iris/readiness.py)
as `sync` does, unless told not to."""
from __future__ import annotations

from .core import labels as L
from .errors import IrisenvError

LOCK_TIMEOUT = 300.0
UP = ("running", "restarting", "paused")  # states a stop acts on


def instance_containers(engine, project: str, instances=()) -> list:
    """The project's instance containers (one per instance, by name), those of
    ``instances`` only when given; an instance named that has none is an error that says
    which do."""
    found = {c.instance: c for c in engine.list_project(project)
             if c.instance and c.name == L.container_name(project, c.instance)
             and c.state not in ("removing", "dead")}
    missing = [i for i in instances if i not in found]
    if missing:
        have = ", ".join(sorted(found)) or "none"
        raise IrisenvError(
            f"project {project} has no container for instance {', '.join(missing)}",
            f"the instances with a container are: {have}",
            "`irisenv sync` makes the declared instances' containers; `irisenv ls` lists "
            "every project and its instances")
    if instances:
        return [found[i] for i in dict.fromkeys(instances)]
    return [found[i] for i in sorted(found)]


def run(engine, project: str, verb: str, instances=(), *, wait: bool = True,
        timeout: float = 180.0, reporter=None, lock_timeout: float = LOCK_TIMEOUT) -> dict:
    """Carry out ``verb`` ("stop", "start" or "restart") on the project's instance
    containers (``instances``: only these). Returns {"stopped": [...], "started": [...],
    "ready": [...], "unchanged": [...]} (instance names). Errors of single instances
    are raised together once every instance is done (errors.combine)."""
    from contextlib import ExitStack

    from .enginelock import LEASE_MARGIN, hold
    from .lock import engine_lock
    from .report import QuietReporter

    reporter = reporter or QuietReporter()
    done = {"stopped": [], "started": [], "ready": [], "unchanged": []}
    if verb == "stop":
        done["spares_stopped"] = []  # container names of the warm spares it stopped
    with engine_lock(engine, project, verb, lock_timeout, reporter), ExitStack() as held:
        containers = instance_containers(engine, project, instances)
        if not containers and verb != "stop":
            raise IrisenvError(f"project {project} has no containers to {verb}",
                               "no container with irisenv's labels of this project exists",
                               "`irisenv sync` makes them")
        for c in containers:
            if verb != "stop" and c.state == "created":
                raise IrisenvError(
                    f"instance {c.instance}: container {c.name} was created but never started",
                    "an interrupted sync leaves such a container; its files may be incomplete",
                    "`irisenv sync` makes it anew")
        if verb == "stop":
            changes = [c for c in containers if c.state in UP] + spare_containers(
                engine, project, instances)
        else:
            changes = [c for c in containers if verb == "restart" or c.state != "running"]
        if changes:
            held.enter_context(hold(engine, project, verb, lease=timeout + LEASE_MARGIN,
                                    timeout=lock_timeout, reporter=reporter))
            # as sync plans again under it: what the engine holds now, nobody else changing it
            containers = instance_containers(engine, project, instances)
        errors = _each(containers, lambda c: _one(engine, c, verb, wait, timeout, reporter,
                                                  done), reporter)
        if verb == "stop":  # a running spare is a whole IRIS too: stop frees its memory
            _stop_spares(engine, project, instances, reporter, done)
    if errors:
        from .errors import combine

        raise combine(errors)
    for names in done.values():
        names.sort()
    return done


def spare_containers(engine, project: str, instances=()) -> list:
    """The project's warm spares that run (docs/spares.md), of ``instances`` only when
    given: made as spares and not promoted (a promoted one holds the instance's name)."""
    return [c for c in engine.list_project(project)
            if c.is_spare and c.state in UP
            and (not instances or c.instance in instances)]


def _stop_spares(engine, project: str, instances, reporter, done: dict) -> None:
    """Stop the running spares: `stop` is how a developer frees what a project holds.
    A stopped spare is never promoted; the next sync drains it and boots a new one."""
    for c in spare_containers(engine, project, instances):
        reporter.event("stop", f"stopping spare {c.name}", instance=c.instance)
        engine.stop(c.id, None)
        done["spares_stopped"].append(c.name)


def _one(engine, c, verb: str, wait: bool, timeout: float, reporter, done: dict) -> None:
    instance = c.instance
    if verb in ("stop", "restart") and c.state in UP:
        reporter.event("stop", f"stopping {c.name}", instance=instance)
        engine.stop(c.id, None)  # graceful, with the container's own stop_timeout
        reporter.event("stopped", f"stopped {c.name}", instance=instance)
        done["stopped"].append(instance)
    if verb == "stop":
        if c.state not in UP:
            reporter.event("note", f"{c.name} is already {c.state}", instance=instance)
            done["unchanged"].append(instance)
        return
    if verb == "restart" or c.state != "running":
        reporter.event("start", f"starting {c.name}" + (f" (was {c.state})" if verb == "start"
                                                        else ""), instance=instance)
        if c.state == "paused" and verb == "start":
            engine.unpause(c.id)
        else:
            engine.start(c.id)
        reporter.event("started", f"started {c.name}", instance=instance)
        done["started"].append(instance)
    else:
        done["unchanged"].append(instance)
    if wait:
        from .iris.readiness import wait_ready

        reporter.event("wait", "waiting for IRIS to be ready", instance=instance)
        r = wait_ready(engine, c.id, timeout, instance=instance,
                       image=(c.spec or {}).get("image", ""))
        reporter.event("ready", f"ready (log {r.log_seconds:.2f}s, qlist {r.qlist_seconds:.2f}s"
                       f", probe {r.probe_seconds:.2f}s)", instance=instance,
                       log_seconds=round(r.log_seconds, 3))
        done["ready"].append(instance)


def _each(containers: list, fn, reporter) -> dict:
    """fn(container) for each, in parallel (daemon threads: Ctrl-C is not held up by a
    readiness wait); {instance: IrisenvError} of those that failed."""
    from .background import Background

    jobs = [(c.instance, Background(fn, c, thread=f"irisenv-{c.instance}")) for c in containers]
    errors = {}
    for instance, job in jobs:
        try:
            job.result()
        except IrisenvError as exc:
            errors[instance] = exc
            reporter.event("error", exc.what, instance=instance)
    return errors
