"""irisenv lease APP: lease a clean copy of a pooled namespace and print its connection
variables (as `irisenv env`, IRIS_NAMESPACE the copy): `eval "$(irisenv lease APP)"`.
The lease is held by the calling shell (this command's parent process): it lasts while
that shell runs, or until `irisenv lease --release COPY` (docs/pool.md)."""
from __future__ import annotations

import json
import sys


def add_arguments(p) -> None:
    from .common import seconds

    which = p.add_mutually_exclusive_group()
    which.add_argument("namespace", nargs="?", metavar="NAMESPACE",
                   help="the pooled namespace to lease a copy of (default: the instance's "
                        "first namespace)")
    p.add_argument("--instance", help="instance name (default: the first declared)")
    which.add_argument("--release", metavar="COPY",
                   help="hand back a leased or kept copy (e.g. APP_P1): it is reset in the "
                        "background")
    p.add_argument("--timeout", type=seconds, default=None,
                   help="how long to wait for a clean copy when the pool is at its max "
                        "(default: 120s)")
    p.add_argument("--json", action="store_true",
                   help="the variables as a JSON object (else shell `export` lines)")
    p.set_defaults(_run=run)


def run(args) -> int:
    import os

    from .. import pool_lease
    from ..leases import holder
    from .common import load_project

    project = load_project(args)
    if args.release is not None:
        pool_lease.release(project, args.instance, args.release)
        print(f"released {args.release.upper()}: it is reset in the background",
              file=sys.stderr)
        if args.json:
            print(json.dumps({"released": args.release.upper()}))
        return 0
    timeout = pool_lease.DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    conn = project.connection(args.instance)  # running? the ports, the id (one container list)
    copy = pool_lease.acquire(project, conn.instance, args.namespace,
                              container=conn.container_id,
                              who=holder(os.getppid()), timeout=timeout,
                              say=lambda text: print(text, file=sys.stderr))
    from dataclasses import replace

    env = replace(conn, namespace=copy).env()
    if args.json:
        print(json.dumps(env, indent=2))
    else:
        import shlex

        for k, v in env.items():
            print(f"export {k}={shlex.quote(v)}")
    print(f"leased {copy}; hand it back with `irisenv lease --release {copy}`",
          file=sys.stderr)
    return 0
