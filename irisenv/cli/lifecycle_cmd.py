"""irisenv stop / start / restart: the project's containers stopped or started, kept as they
are (irisenv/lifecycle.py)."""
from __future__ import annotations

from .common import add_progress, print_json, print_summary, reporter, seconds


def add_arguments(p) -> None:
    verb = p.prog.split()[-1]
    p.add_argument("instances", nargs="*", metavar="INSTANCE",
                   help="the instances to " + verb + " (default: every instance of the "
                        "project that has a container)")
    p.add_argument("--project", metavar="NAME",
                   help="the project (default: from the config; works without one)")
    if verb != "stop":
        p.add_argument("--wait", dest="wait", action="store_true", default=True,
                       help="wait until every instance is ready (default)")
        p.add_argument("--no-wait", dest="wait", action="store_false",
                       help="return once the containers are started")
        p.add_argument("--timeout", type=seconds, default=180.0, metavar="S",
                       help='seconds to wait for readiness, or a duration such as "90s", '
                            '"5m" (default 180; exit 3 when exceeded)')
    p.add_argument("--json", action="store_true", help="a JSON summary on stdout")
    add_progress(p)
    p.set_defaults(_run=run)


def run(args) -> int:
    from ..lifecycle import run as lifecycle

    verb = args.verb
    if args.project:
        from ..engine import open_engine
        from .common import project_name

        # no config is read, as `down --project`: the labels name the containers
        name, engine = project_name(args.project), open_engine()
    else:
        from .common import load_project

        project = load_project(args)
        name, engine = project.name, project.engine
    wait = getattr(args, "wait", False)
    rep = reporter(args)
    try:
        done = lifecycle(engine, name, verb, args.instances, wait=wait,
                         timeout=getattr(args, "timeout", 180.0), reporter=rep)
    finally:
        rep.close()
    if args.json:
        print_json({"project": name, **done})
    if verb == "stop":
        text = f"stopped {len(done['stopped'])} instance(s)"
        if done["unchanged"]:
            text += f", {len(done['unchanged'])} already stopped"
        if done["spares_stopped"]:
            text += f", {len(done['spares_stopped'])} warm spare(s) stopped"
    else:
        text = (f"{len(done['ready'])} instance(s) ready" if wait
                else f"{len(done['started'] + done['unchanged'])} instance(s) started")
    print_summary(args, rep, f"{verb}: project {name}: {text}", project=name, **done)
    return 0
