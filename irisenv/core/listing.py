"""`irisenv ls` as plain data: every irisenv project on an engine, from its containers'
labels alone (no config is read). Pure: the CLI (cli/ls_cmd.py) lists the containers and,
with --stats, their memory use, and hands them here."""
from __future__ import annotations

from . import labels as L
from .desired import SUPERSERVER_PORT, WEB_PORT


def projects(containers, now: float, memory: dict | None = None) -> list[dict]:
    """One dict per project, sorted by name: its containers (an instance's own first, then
    e.g. a leftover of an interrupted sync), their state, host ports and age, the project's
    state ("running", "exited"... when every container is in it, else "mixed"), its config
    file and checkout as the newest container that records them says (None: not recorded;
    containers made before irisenv recorded the config file have only the checkout).
    ``memory``: container id -> bytes in use (None: not running), when asked for.
    Containers without a project and instance label (the engine-side lock objects) are no
    project's."""
    by_project: dict = {}
    for c in containers:
        project, instance = c.labels.get(L.PROJECT), c.instance
        if L.is_ours(c.labels) and project and instance:
            by_project.setdefault(project, []).append(c)
    out = []
    for project, cs in sorted(by_project.items()):
        cs.sort(key=lambda c: (c.instance, c.name != L.container_name(project, c.instance),
                               c.name))
        newest = sorted(cs, key=lambda c: c.created or 0, reverse=True)

        def recorded(label):  # what the newest container that records it says
            return next((c.labels[label] for c in newest if c.labels.get(label)), None)

        rows = []
        for c in cs:
            row = {"instance": c.instance, "container": c.name, "id": c.short_id,
                   "state": c.state, "status": c.status,
                   "port": c.ports.get(SUPERSERVER_PORT), "web_port": c.ports.get(WEB_PORT),
                   "created": c.created,
                   "age_seconds": None if c.created is None else max(0, round(now - c.created))}
            if memory is not None:
                row["memory"] = memory.get(c.id)
            rows.append(row)
        states = {c.state for c in cs}
        project_row = {
            "project": project,
            "state": states.pop() if len(states) == 1 else "mixed",
            "config": recorded(L.CONFIG_FILE),
            "project_dir": recorded(L.PROJECT_DIR),
            "age_seconds": max((r["age_seconds"] for r in rows
                                if r["age_seconds"] is not None), default=None),
            "containers": rows,
        }
        if memory is not None:
            used = [r["memory"] for r in rows if r["memory"] is not None]
            project_row["memory"] = sum(used) if used else None
        out.append(project_row)
    return out


def age(seconds: int | None) -> str:
    """An age as `docker ps` rounds it, in one unit: "40s", "12m", "3h", "5d"."""
    if seconds is None:
        return "-"
    for unit, factor in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= factor:
            return f"{seconds // factor}{unit}"
    return f"{seconds}s"


def size(nbytes: int | None) -> str:
    """Memory in use, rounded: "412m", "1.5g"."""
    if nbytes is None:
        return "-"
    mib = nbytes / 1024**2
    return f"{mib / 1024:.1f}g" if mib >= 1024 else f"{mib:.0f}m"
