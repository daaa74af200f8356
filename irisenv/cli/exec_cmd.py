"""irisenv exec INSTANCE -- CMD...: run a command in an instance's container."""
from __future__ import annotations

import sys


def add_arguments(p) -> None:
    p.add_argument("instance")
    p.add_argument("cmd", nargs="+", metavar="CMD", help="the command (put -- before it)")
    p.add_argument("-u", "--user", help="user inside the container (default: the image's)")
    p.set_defaults(_run=run)


def run(args) -> int:
    from ..errors import redact
    from .common import load_project

    project = load_project(args)
    cid = project.container_id(args.instance)
    stdin = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()
    res = project.engine.exec(cid, args.cmd, stdin=stdin, user=args.user, timeout=3600)
    sys.stdout.write(redact(res.stdout))
    sys.stderr.write(redact(res.stderr))
    return res.exit_code
