"""What `sync` does for one instance's namespace pools besides the plan (docs/pool.md):
before planning, the copies the lease table holds (leased or kept: never dropped now);
after converging, the table is told which copies exist, and every dirty copy (new, stale
after a template change, released) is reset from its template's master before the sync
returns. The IRIS side is iris/pool.py, the ordering of the table pool_reset.py.
"""
from __future__ import annotations

from functools import partial

from .core import leases as core
from .errors import IrisenvError


def table(engine, project: str):
    from .leases import LeaseTable

    return LeaseTable(engine.endpoint, project)


def held(engine, project: str, instance: str) -> frozenset:
    """The instance's copies a sync must not drop (pool_plan.pool_actions' ``held``): one
    read of the table, no lock (a reader sees a whole file)."""
    return core.held(table(engine, project).read(), instance)


def with_held(engine, project: str, instance: str, seen, desired):
    """``seen`` (IrisObserved) with the held copies, when the instance declares a pool or
    IRIS records copies (a pool that was removed)."""
    from dataclasses import replace

    from .core.iris_record import POOL

    if not desired.pools and not seen.recorded(POOL):
        return seen
    return replace(seen, held=held(engine, project, instance))


def settle(engine, project: str, container_id: str, d, password: str, *, reporter,
           timeout: float):
    """Tell the lease table what exists in IRIS for ``d``'s pools (``d``: IrisDesired),
    forget the pools no longer declared, then reset the dirty copies (pool_reset.drain,
    iris/pool.reset_copies). Returns the ResetRun, or None when the instance has no pool.
    IrisenvError when a copy could not be reset (it stays dirty, with its error)."""
    from .core.pool_plan import existing
    from .iris.pool import reset_copies
    from .iris.probe import observe
    from .pool_reset import drain

    t = table(engine, project)
    prefix = f"{d.instance}/"
    known = [k for k in t.read().templates if k.startswith(prefix)]
    if not d.pools and not known:
        return None
    wanted = {core.key(d.instance, p.template) for p in d.pools}
    for k in known:
        if k not in wanted:
            t.forget(k)
    if not d.pools:
        return None
    seen = observe(engine, container_id, d, password, timeout=timeout)
    for p in d.pools:
        t.synced(core.key(d.instance, p.template), p.digest, p.max,
                 existing(seen, p.template, d.instance), container_id)
    run = drain(t, partial(reset_copies, engine, container_id, d, timeout=timeout),
                instance=d.instance)
    if run.reset:
        reporter.event("pool", f"reset {len(run.reset)} pool cop"
                       f"{'y' if len(run.reset) == 1 else 'ies'} from the template's "
                       "initialised data", instance=d.instance)
    if run.failed:
        first = sorted(run.failed.items())[0]
        raise IrisenvError(
            f"instance {d.instance}: {len(run.failed)} pool cop"
            f"{'y' if len(run.failed) == 1 else 'ies'} could not be reset",
            f"{first[0]}: {first[1]}",
            "they stay dirty and are never leased; read `irisenv status` and `irisenv "
            "logs`, then run `irisenv sync` again")
    return run
