"""irisenv plan: the read-only diff between the config and Docker."""
from __future__ import annotations

import sys

from .common import load_project, print_json


def add_arguments(p) -> None:
    p.add_argument("--detailed-exitcode", action="store_true",
                   help="exit 0 when nothing would change, 2 when something would, 1 on error")
    p.add_argument("--json", action="store_true", help="the plan as JSON on stdout")
    p.add_argument("--recreate", action="store_true", help="plan as if --recreate were given to sync")
    p.add_argument("--remove-orphans", action="store_true",
                   help="plan removing containers of instances no longer in the config")
    p.add_argument("--drop-namespaces", action="store_true",
                   help="plan dropping namespaces no longer declared on durable storage too")
    p.add_argument("--pull", action="store_true",
                   help="plan as if --pull were given to sync (asks the registry about each tag)")
    p.add_argument("--reuse", choices=("never", "matching", "always"),
                   help="plan as if --reuse were given to sync")
    p.set_defaults(_run=run)


def run(args) -> int:
    from ..core.plan import Options
    from ..core.render import plan_json, plan_text
    from ..errors import redact

    project = load_project(args)
    plan = project.plan(Options(recreate=args.recreate, remove_orphans=args.remove_orphans,
                                drop_namespaces=args.drop_namespaces, pull=args.pull,
                                reuse=args.reuse))
    if args.json:
        print_json(plan_json(plan))
    else:
        sys.stdout.write(redact(plan_text(plan)))
    if plan.problems:
        return 1
    if args.detailed_exitcode and plan.has_changes:
        return 2
    return 0
