"""`irisenv down`: remove a project's containers (and volumes) by label. Needs no config:
`down --project NAME` calls remove_project() with the name alone."""
from __future__ import annotations

from .errors import IrisenvError

LOCK_TIMEOUT = 300.0


def remove_project(engine, project: str, *, volumes: bool, reporter=None,
                   lock_timeout: float = LOCK_TIMEOUT) -> dict:
    """Remove every container (and with volumes=True every volume) labelled for project,
    under the (engine, project) lock and, when there is anything to remove, the
    engine-side lock (another machine may sync the project on the same engine)."""
    from .lock import engine_lock
    from .report import QuietReporter

    from contextlib import ExitStack

    from .enginelock import hold

    reporter = reporter or QuietReporter()
    removed = {"containers": [], "volumes": []}
    with engine_lock(engine, project, "down", lock_timeout, reporter), ExitStack() as held:
        if not engine.list_project(project) and not (volumes and engine.volumes(project)):
            return removed  # nothing to remove: no engine-side lock either
        held.enter_context(hold(engine, project, "down", lease=lock_timeout,
                                timeout=lock_timeout, reporter=reporter))
        for c in engine.list_project(project):
            # a warm spare holds nothing of the user's: no graceful stop (docs/spares.md)
            spare = c.is_spare
            reporter.event("remove", f"{'removing' if spare else 'stopping and removing'} "
                           f"{c.name}", instance=c.instance)
            if c.state in ("running", "restarting", "paused") and not spare:
                try:  # graceful, with the container's own stop_timeout
                    engine.stop(c.id, None)
                except IrisenvError:
                    pass
            engine.remove(c.id)
            removed["containers"].append(c.name)
        # the pool's lease table: its copies went with the containers (on a kept volume
        # they stay, and the next sync, finding them unknown to the table, resets them)
        from .leases import LeaseTable

        LeaseTable(engine.endpoint, project).remove()
        if volumes:
            for v in engine.volumes(project):
                reporter.event("remove", f"removing volume {v}")
                engine.remove_volume(v)
                removed["volumes"].append(v)
    return removed
