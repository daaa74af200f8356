"""irisenv fixture export NAMESPACE DIR [--instance NAME] | fixture verify DIR: a
namespace's data database as a file with a manifest (docs/cli.md, "irisenv fixture").

`export` holds the project lock (a sync must not drop or re-create the namespace while its
database is dismounted); `verify` reads only the directory and needs no config or engine.
"""
from __future__ import annotations

import argparse
import sys

from .common import print_json


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="fixture_action", metavar="ACTION", parser_class=type(p),
                           required=True)
    e = sub.add_parser("export", help="copy a namespace's data database into DIR, with a "
                                      "manifest",
                       description="Dismount the namespace's data database, copy IRIS.DAT, "
                                   "mount it again; write DIR/IRIS.DAT and "
                                   "DIR/irisenv-fixture.json (IRIS version, namespace, sizes, "
                                   "sha256, globals). DIR must be new or empty.")
    e.add_argument("namespace", metavar="NAMESPACE", help="a namespace irisenv manages")
    e.add_argument("dir", metavar="DIR", help="the fixture directory to create")
    e.add_argument("--instance", metavar="NAME",
                   help="the instance (default: the first declared)")
    v = sub.add_parser("verify", help="check a fixture directory against its manifest",
                       description="Exit 0 when every file the manifest lists is there with "
                                   "its size and sha256 and nothing else is; 1 otherwise "
                                   "(what differs is listed).")
    v.add_argument("dir", metavar="DIR", help="the fixture directory")
    for q in (e, v):
        q.add_argument("--json", action="store_true", help="JSON on stdout")
        q.add_argument("-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
                       help="config file (as before the verb)")
    p.set_defaults(_run=run)


def run(args) -> int:
    if args.fixture_action == "verify":
        return verify(args)
    return export(args)


def _summary(directory, manifest) -> dict:
    return {"dir": str(directory), "namespace": manifest.namespace,
            "database": manifest.database, "iris_version": manifest.iris_version,
            "files": manifest.files, "globals": list(manifest.globals)}


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def verify(args) -> int:
    from ..core import fixture as F
    from ..iris.probe import short_version

    manifest = F.verify(args.dir)
    if args.json:
        print_json({"ok": True, **_summary(args.dir, manifest)})
    else:
        size = manifest.files[F.DATA_FILE]["size"]
        print(f"fixture {args.dir}: ok (namespace {manifest.namespace}, IRIS "
              f"{short_version(manifest.iris_version)}, {F.DATA_FILE} {_size(size)}, "
              f"{len(manifest.globals)} global(s))")
    return 0


def export(args) -> int:
    from ..core import fixture as F
    from ..iris import fixture as IF
    from ..down import LOCK_TIMEOUT
    from .common import load_project

    from ..errors import EXIT_USAGE, IrisenvError
    from ..names import namespace as check_namespace

    try:
        check_namespace(args.namespace)
    except ValueError as exc:
        raise IrisenvError(f"{args.namespace!r} is not a namespace name", str(exc),
                           "name a namespace declared in the config, e.g. APP",
                           exit_code=EXIT_USAGE) from None
    project = load_project(args)
    inst = project.config.instance(args.instance)
    with project.lock("fixture export", LOCK_TIMEOUT):
        cid = project.container_id(inst.name)
        manifest = IF.export(project.engine, cid, args.namespace, args.dir)
    if args.json:
        print_json({"ok": True, "instance": inst.name, **_summary(args.dir, manifest)})
    else:
        size = manifest.files[F.DATA_FILE]["size"]
        print(f"fixture {args.dir}: namespace {manifest.namespace} of instance {inst.name} "
              f"({F.DATA_FILE} {_size(size)}, {len(manifest.globals)} global(s))",
              file=sys.stderr)
    return 0
