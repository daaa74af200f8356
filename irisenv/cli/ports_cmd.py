"""irisenv ports: the per-user port registry -- list its entries (every project's), release
a project's, prune the stale ones. Needs no config (but `release` without a PROJECT reads
it for the project's name)."""
from __future__ import annotations

import argparse
import sys

from .common import print_json

COLUMNS = ("PROJECT", "INSTANCE", "KIND", "PORT", "HOW", "CONTAINER", "STALE", "ENGINE")


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    sub = p.add_subparsers(dest="ports_action", metavar="ACTION", parser_class=type(p))
    r = sub.add_parser("release", help="forget a project's ports (default: this config's project)",
                       description="Remove every registry entry of PROJECT (on any engine). "
                                   "Its containers keep the ports they publish until replaced.")
    r.add_argument("project", nargs="?", metavar="PROJECT",
                   help="the project (default: the config's project)")
    pr = sub.add_parser("prune", help="forget the stale entries",
                        description="Remove every stale entry: its container is gone and its "
                                    "project directory too, or irisenv has not seen it for "
                                    "$IRISENV_PORT_STALE_AFTER (default 30d).")
    for q in (r, pr):
        q.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="JSON on stdout")
        q.add_argument("-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
                       help="config file (as before the verb)")
    p.set_defaults(_run=run)


class Engines:
    """Engines by registry key, opened once each (None: cannot be opened); ``current``:
    the one the Docker CLI would use, where a corrupt registry is rebuilt from."""

    def __init__(self):
        self._by: dict = {}
        self._current = None

    def __call__(self, key: str):
        if key not in self._by:
            from ..engine import open_engine
            from ..errors import IrisenvError

            try:
                self._by[key] = open_engine(key)
            except IrisenvError:
                self._by[key] = None
        return self._by[key]

    @property
    def current(self):
        if self._current is None:
            from ..engine import open_engine
            from ..errors import IrisenvError

            try:
                self._current = open_engine()
            except IrisenvError:
                return None
        return self._current


def run(args) -> int:
    action = getattr(args, "ports_action", None)
    engines = Engines()
    if action == "release":
        return release(args, engines)
    if action == "prune":
        return prune(args, engines)
    return listing(args, engines)


def rows(engines: Engines) -> list[dict]:
    """Every entry with its container's state ("absent", or "unknown" when its engine did
    not answer) and whether it is stale."""
    import os
    import time

    from .. import registry
    from ..core.ports import stale_reason

    entries = registry.read(engines.current)
    if not entries and not registry.path().exists() and engines.current is not None:
        # no registry yet (before the first sync since it came): what the engine's irisenv
        # containers publish, shown as the first sync will record it (nothing is written)
        entries = registry.rebuild(engines.current)[0]
    states = registry.containers_by_engine({k: engines(k) for k in {e.engine for e in entries}})
    now, max_age = time.time(), registry.stale_after()
    out = []
    for e in sorted(entries, key=lambda e: (e.project, e.instance, e.kind, e.engine)):
        seen = states.get(e.engine)
        state = "unknown" if seen is None else seen.get((e.project, e.instance), "absent")
        reason = stale_reason(e, container=None if seen is None else state != "absent",
                              dir_exists=os.path.isdir(e.project_dir) if e.project_dir else None,
                              now=now, max_age=max_age)
        out.append({**e.to_dict(), "container": state, "stale": reason is not None,
                    "stale_reason": reason})
    return out


def listing(args, engines: Engines) -> int:
    from .. import registry

    found = rows(engines)
    recorded = registry.path().exists()
    if args.json:
        print_json({"registry": str(registry.path()), "recorded": recorded, "entries": found})
        return 0
    if not found:
        print(f"the port registry holds no ports ({registry.path()})", file=sys.stderr)
        return 0
    if not recorded:
        print(f"no port registry yet ({registry.path()}): these are the ports the engine's "
              "irisenv containers publish, which the next `irisenv sync` records",
              file=sys.stderr)
    table = [COLUMNS] + [(r["project"], r["instance"], r["kind"], str(r["port"]), r["how"],
                          r["container"], "yes" if r["stale"] else "no", r["engine"])
                         for r in found]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    for line in table:
        print(" ".join(v.ljust(w) for v, w in zip(line, widths)) + " " + line[-1])
    for r in found:
        if r["stale"]:
            print(f"  stale: {r['project']} {r['instance']} {r['kind']} {r['port']}: "
                  f"{r['stale_reason']} (`irisenv ports prune` frees it)")
    return 0


def release(args, engines: Engines) -> int:
    from .. import registry

    if args.project:
        from .common import project_name

        name = project_name(args.project)
    else:
        from .common import load_project

        name = load_project(args).name
    gone = registry.release(name, engines.current)
    if args.json:
        print_json({"project": name, "released": [e.to_dict() for e in gone]})
        return 0
    if not gone:
        print(f"ports release: project {name} has no ports in the registry", file=sys.stderr)
        return 0
    print(f"ports release: project {name}: released "
          + ", ".join(f"{e.port} ({e.instance} {e.kind})" for e in gone), file=sys.stderr)
    return 0


def prune(args, engines: Engines) -> int:
    from .. import registry

    gone = registry.prune(engines, engines.current)
    if args.json:
        print_json({"released": [{**e.to_dict(), "stale_reason": why} for e, why in gone]})
        return 0
    print(f"ports prune: released {len(gone)} stale port(s)", file=sys.stderr)
    for e, why in gone:
        print(f"  {e.port} ({e.project} {e.instance} {e.kind}): {why}", file=sys.stderr)
    return 0
