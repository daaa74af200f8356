"""irisenv ls: every irisenv project on the engine, from labels alone (core/listing.py)."""
from __future__ import annotations

from .common import print_json


def add_arguments(p) -> None:
    p.add_argument("--stats", action="store_true",
                   help="also each running container's memory use (asks the engine to "
                        "sample: about a second more)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(_run=run)


def run(args) -> int:
    import time

    from ..core.listing import age, projects, size
    from ..engine import open_engine

    # No config is read (a broken one next to us does not matter): the engine is the one
    # DOCKER_HOST or the Docker context names, as for `down --project`.
    engine = open_engine()
    containers = engine.list_managed()
    memory = _memory(engine, containers) if args.stats else None
    rows = projects(containers, time.time(), memory)
    if args.json:
        print_json({"engine": engine.endpoint, "projects": rows})
        return 0
    if not rows:
        print(f"no irisenv projects on {engine.endpoint}")
        return 0
    head = ("PROJECT", "INSTANCE", "CONTAINER", "STATE", "PORT", "WEB", "AGE") + (
        ("MEMORY",) if memory is not None else ()) + ("CONFIG",)
    table = [head]
    for p in rows:
        where = p["config"] or (f"{p['project_dir']} (checkout)" if p["project_dir"] else "-")
        for i, c in enumerate(p["containers"]):
            table.append((p["project"] if i == 0 else "", c["instance"], c["container"],
                          c["state"], str(c["port"] or "-"), str(c["web_port"] or "-"),
                          age(c["age_seconds"]))
                         + ((size(c["memory"]),) if memory is not None else ())
                         + (where if i == 0 else "",))
    widths = [max(len(line[i]) for line in table) for i in range(len(head) - 1)]
    for line in table:
        print(" ".join(v.ljust(w) for v, w in zip(line, widths)) + " " + line[-1])
    return 0


def _memory(engine, containers) -> dict:
    """{container id: bytes in use} of the running containers, asked concurrently (Docker
    samples each for about a second); a container that stopped meanwhile, or whose
    answer failed, is left out (shown as "-")."""
    from ..errors import IrisenvError
    from ..observe import concurrently

    running = [c for c in containers if c.state == "running"]

    def one(c):
        try:
            return c.id, engine.memory_usage(c.id)
        except IrisenvError:
            return c.id, None

    return dict(concurrently([lambda c=c: one(c) for c in running]))
