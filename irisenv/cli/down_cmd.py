"""irisenv down: remove the project's containers (and volumes) by label."""
from __future__ import annotations

from .common import add_progress, print_json, print_summary, reporter


def add_arguments(p) -> None:
    p.add_argument("--volumes", action="store_true", help="also remove the project's volumes "
                   "(durable %%SYS data is lost)")
    p.add_argument("--project", metavar="NAME",
                   help="the project to remove (default: from the config; works without one)")
    p.add_argument("--json", action="store_true")
    add_progress(p)
    p.set_defaults(_run=run)


def run(args) -> int:
    from ..names import docker_name

    if args.project:
        try:
            name = docker_name(args.project, "project name")
        except ValueError as exc:
            from ..errors import IrisenvError

            raise IrisenvError(str(exc), "project names are Docker-safe names",
                               "pass the name shown by `irisenv status`") from None
        from ..config import load_config
        from ..project import Project

        try:  # the config's directory holds the lock; without a config, the working directory
            cfg = load_config(args.config)
        except Exception:
            cfg = load_config(None, environ={})
        cfg = type(cfg)(project=name, instances=cfg.instances, path=cfg.path, origins={})
        project = Project(cfg)
    else:
        from .common import load_project

        project = load_project(args)
    rep = reporter(args)
    try:
        removed = project.down(volumes=args.volumes, reporter=rep)
    finally:
        rep.close()
    if args.json:
        print_json({"project": project.name, **removed})
    else:
        print_summary(args, rep, f"down: project {project.name}: removed "
                      f"{len(removed['containers'])} container(s)"
                      + (f" and {len(removed['volumes'])} volume(s)" if args.volumes else ""),
                      project=project.name, **removed)
    return 0
