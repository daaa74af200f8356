"""irisenv env: connection variables for programs (the one verb that hands out the password,
because programs need it: `eval "$(irisenv env)"`)."""
from __future__ import annotations

import json


def add_arguments(p) -> None:
    p.add_argument("instance", nargs="?", help="instance name (default: the first declared)")
    p.add_argument("--format", choices=["shell", "dotenv", "json"], default="shell")
    p.add_argument("--namespace", help="namespace for IRIS_NAMESPACE and the URL: one the "
                                       "instance declares, or USER (default: its first)")
    p.set_defaults(_run=run)


def run(args) -> int:
    from .common import load_project

    project = load_project(args)
    namespace = args.namespace
    if namespace is not None:
        namespace = project.declared_namespace(args.instance, namespace)
    env = project.connection(args.instance, namespace).env()
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
