"""irisenv sync: plan, apply, wait until ready."""
from __future__ import annotations

import sys

from .common import (add_progress, load_project, print_json, print_summary, reporter,
                     seconds)


def add_arguments(p) -> None:
    p.add_argument("--wait", dest="wait", action="store_true", default=True,
                   help="wait until every instance is ready (default)")
    p.add_argument("--no-wait", dest="wait", action="store_false", help="return once started")
    p.add_argument("--timeout", type=seconds, default=180.0, metavar="S",
                   help='seconds to wait for readiness, or a duration such as "90s", "5m" '
                        "(default 180; exit 3 when exceeded)")
    p.add_argument("--recreate", action="store_true",
                   help="replace every container even if it matches (beats reuse)")
    p.add_argument("--remove-orphans", action="store_true",
                   help="remove containers of instances no longer in the config")
    p.add_argument("--drop-namespaces", action="store_true",
                   help="also drop namespaces no longer declared on durable storage "
                        "(storage = \"volume\"): their databases and data are deleted")
    p.add_argument("--pull", action="store_true",
                   help='this run, check the registry for a newer image behind each tag and '
                        'pull it (as pull = "always"; instances with pull = "never" excepted)')
    p.add_argument("--reuse", choices=("never", "matching", "always"),
                   help="this run, every instance's reuse mode instead of its own: never (a "
                        "fresh container), matching (replace a drifted one), always (keep it)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    p.add_argument("--json", action="store_true", help="a JSON summary on stdout")
    add_progress(p)
    p.set_defaults(_run=run)


def run(args) -> int:
    from ..core.plan import Options
    from ..core.render import plan_json, plan_text
    from ..errors import redact

    project = load_project(args)
    options = Options(recreate=args.recreate, remove_orphans=args.remove_orphans, wait=args.wait,
                      drop_namespaces=args.drop_namespaces, pull=args.pull,
                      reuse=args.reuse)
    if args.dry_run:
        plan = project.plan(options)
        if args.json:
            print_json(plan_json(plan))
        else:
            sys.stdout.write(redact(plan_text(plan)))
        return 1 if plan.problems else 0
    rep = reporter(args)
    try:
        outcome = project.sync(options, timeout=args.timeout, reporter=rep)
    finally:
        rep.close()
    counts = outcome.plan.counts()
    past = {"pull": "pulled", "add": "added", "start": "started", "replace": "replaced",
            "update": "updated in place", "destroy": "destroyed", "remove": "removed",
            "promote": "swapped in from a spare", "spare": "spare(s) booting"}
    done = ", ".join(f"{n} {past[k]}" for k, n in counts.items() if n)
    summary = (f"sync: project {project.name}: "
               + (done if done else "no changes")
               + f"; {len(project.config.instances)} instance(s) "
               + ("ready" if args.wait else "started") + f" in {outcome.seconds:.2f}s")
    if args.json:
        print_json({"project": project.name, "changes": outcome.plan.has_changes,
                    "summary": counts, "seconds": round(outcome.seconds, 3),
                    "plan": plan_json(outcome.plan)})
    print_summary(args, rep, summary, project=project.name, summary=counts,
                  seconds=round(outcome.seconds, 3))
    return 0
