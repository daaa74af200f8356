"""What a test run asks of irisenv besides a sync: sync once per run across pytest-xdist
workers, and namespaces of the run's own (created for it, recorded as kind test-run so a
concurrent `irisenv sync` leaves them alone, dropped at its end or, once abandoned, by a
later sync)."""
from __future__ import annotations

from dataclasses import replace

from .errors import IrisenvError

NAMESPACE_LOCK_TIMEOUT = 300.0


def sync_once(project, run_id: str, *, timeout: float, reporter=None) -> bool:
    """Sync unless another process of the same run (pytest-xdist workers share a run id)
    already did; True when this call synced. The marker lives in the per-user state
    directory (irisenv/runs.py)."""
    from . import runs
    from .core.plan import Options
    from .lock import project_lock

    endpoint = project.engine.endpoint
    # A lock of its own, held from the marker check until the marker is written: with the
    # project lock released in between, a second worker could find no marker yet and sync
    # a second time. sync() takes the project lock inside this one; nothing takes them in
    # the other order.
    with project_lock(endpoint, project.name, "sync-once", timeout + 120, scope="sync-once"):
        if runs.synced(run_id, endpoint, project.name):
            return False
        project.sync(Options(), timeout=timeout, reporter=reporter)
        runs.mark_synced(run_id, endpoint, project.name)
    runs.prune()
    return True


def _context(project, instance: str | None):
    inst = project.config.instance(instance)
    return inst, project.iris_desired()[inst.name], project.passwords()[inst.name]


def add_namespace(project, instance: str | None, name: str, *, run: str = "") -> str:
    """Create a namespace (with its databases) for a test run (``run``: its id, kept in
    irisenv's record); drop_namespace removes it, and a sync drops it once abandoned."""
    from .core.iris_plan import CreateNamespace, migration, record_changes
    from .core.iris_record import TEST_RUN
    from .iris import converge, probe
    from .names import namespace as check

    name = check(name)
    inst, want, password = _context(project, instance)
    with project.lock("namespace", NAMESPACE_LOCK_TIMEOUT):
        cid = project.container_id(inst.name)
        seen = probe.observe(project.engine, cid, replace(want, namespaces=(name,)), password)
        if seen.namespaces.get(name):
            raise IrisenvError(f"namespace {name} already exists in instance {inst.name}",
                               "irisenv only creates namespaces it can own and drop",
                               "pick another name")
        actions = (CreateNamespace(name, record_kind=TEST_RUN),) + migration(seen)
        converge.converge(project.engine, cid,
                          replace(want, namespaces=want.namespaces + (name,)), password,
                          actions, record_changes(seen, actions, run=run))
    return name


def drop_namespace(project, instance: str | None, name: str) -> None:
    """Drop a namespace irisenv created (refuses any other)."""
    from .core.iris_plan import DropNamespace, migration, record_changes
    from .iris import converge, probe
    from .names import namespace as check

    name = check(name)
    inst, want, password = _context(project, instance)
    with project.lock("namespace", NAMESPACE_LOCK_TIMEOUT):
        cid = project.container_id(inst.name)
        seen = probe.observe(project.engine, cid, want, password)
        if name not in seen.records:
            raise IrisenvError(f"namespace {name} in instance {inst.name} was not created by "
                               "irisenv", "irisenv never drops namespaces it does not own",
                               "drop it yourself if you mean to")
        actions = (DropNamespace(name),) + migration(seen)
        converge.converge(project.engine, cid, want, password, actions,
                          record_changes(seen, actions))
        after = probe.observe(project.engine, cid, replace(want, namespaces=(name,)), password)
        if after.namespaces.get(name):
            raise IrisenvError(f"namespace {name} still exists in instance {inst.name}",
                               "iris merge reported success but the namespace is still there",
                               "read `irisenv logs`")
