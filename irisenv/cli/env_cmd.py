"""irisenv env: connection variables for programs (the one verb that hands out the password,
because programs need it: `eval "$(irisenv env)"`)."""
from __future__ import annotations

import json


def add_arguments(p) -> None:
    p.add_argument("instance", nargs="?", help="instance name (default: the first declared)")
    p.add_argument("--format", choices=["shell", "dotenv", "json"], default="shell")
    p.add_argument("--namespace", help="namespace for IRIS_NAMESPACE and the URL")
    p.set_defaults(_run=run)


def run(args) -> int:
    from .common import load_project

    project = load_project(args)
    env = project.connection(args.instance, args.namespace).env()
    if args.format == "json":
        print(json.dumps(env, indent=2))
    elif args.format == "dotenv":
        for k, v in env.items():
            print(f"{k}={json.dumps(v)}")
    else:
        import shlex

        for k, v in env.items():
            print(f"export {k}={shlex.quote(v)}")
    return 0
