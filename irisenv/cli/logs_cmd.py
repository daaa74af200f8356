"""irisenv logs: an instance's container log (IRIS messages.log)."""
from __future__ import annotations

import sys


def add_arguments(p) -> None:
    p.add_argument("instance", nargs="?")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-n", "--tail", default="all", help="lines from the end (default: all)")
    p.set_defaults(_run=run)


def run(args) -> int:
    from ..errors import redact
    from .common import load_project

    project = load_project(args)
    cid = project.container_id(args.instance)
    tail = int(args.tail) if str(args.tail).isdigit() else "all"
    for line in project.engine.log_lines(cid, follow=args.follow, tail=tail):
        sys.stdout.write(redact(line) + "\n")
        sys.stdout.flush()
    return 0
