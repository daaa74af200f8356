"""irisenv down: remove the project's containers (and volumes) by label."""
from __future__ import annotations

from .common import add_progress, print_json, print_summary, project_name, reporter


def add_arguments(p) -> None:
    p.add_argument("--volumes", action="store_true", help="also remove the project's volumes "
                   "(durable %%SYS data is lost)")
    p.add_argument("--project", metavar="NAME",
                   help="the project to remove (default: from the config; works without one)")
    p.add_argument("--json", action="store_true")
    add_progress(p)
    p.set_defaults(_run=run)


def run(args) -> int:
    if args.project:
        name = project_name(args.project)
        # No config is read, not even a broken one next to us: the labels are the state
        # store and the lock is the (engine, project) one every checkout shares.
        from ..engine import open_engine
        from ..down import remove_project

        engine = open_engine()

        def down(rep):
            return remove_project(engine, name, volumes=args.volumes, reporter=rep)
    else:
        from .common import load_project

        project = load_project(args)
        name = project.name

        def down(rep):
            return project.down(volumes=args.volumes, reporter=rep)
    rep = reporter(args)
    try:
        removed = down(rep)
    finally:
        rep.close()
    if args.json:
        print_json({"project": name, **removed})
    else:
        print_summary(args, rep, f"down: project {name}: removed "
                      f"{len(removed['containers'])} container(s)"
                      + (f" and {len(removed['volumes'])} volume(s)" if args.volumes else ""),
                      project=name, **removed)
    return 0

