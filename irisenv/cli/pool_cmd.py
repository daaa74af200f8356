"""irisenv pool reset (hidden): the pool's background resetter, started detached by a
release (irisenv/pool_lease.py); resets every dirty copy of the project's pools and ends."""
from __future__ import annotations


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = sub.add_parser("reset", help="reset the dirty pool copies, then end")
    r.set_defaults(_run=run)


def run(args) -> int:
    from .. import pool_lease
    from .common import load_project

    out = pool_lease.drain(load_project(args))
    return 1 if out.failed else 0
