"""irisenv session INSTANCE: an ObjectScript prompt (iris session IRIS) in the container.

On a terminal this hands over to `docker exec -it` (the docker CLI must be installed);
with a script on stdin it runs through the engine API, no CLI needed."""
from __future__ import annotations

import sys


def add_arguments(p) -> None:
    p.add_argument("instance", nargs="?")
    p.add_argument("-U", "--namespace", default=None, help="namespace (default: the instance's first)")
    p.set_defaults(_run=run)


def run(args) -> int:
    from ..errors import IrisenvError, redact
    from .common import load_project

    project = load_project(args)
    inst = project.config.instance(args.instance)
    namespace = (args.namespace or inst.default_namespace).upper()
    cid = project.container_id(inst.name)
    cmd = ["iris", "session", "IRIS", "-U", namespace]
    if sys.stdin is not None and sys.stdin.isatty():
        import os
        import shutil

        docker = shutil.which("docker")
        if docker is None:
            raise IrisenvError("an interactive session needs the docker CLI",
                               "irisenv talks to the engine API, which has no terminal mode here",
                               "install the docker CLI, or pipe a script: "
                               "echo 'write $ZV' | irisenv session")
        os.execv(docker, [docker, "exec", "-it", cid, *cmd])
    res = project.engine.exec(cid, cmd, stdin=sys.stdin.buffer.read(), timeout=3600)
    sys.stdout.write(redact(res.stdout))
    sys.stderr.write(redact(res.stderr))
    return res.exit_code
