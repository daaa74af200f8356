"""irisenv exec [--instance NAME] [-u USER] -- CMD [ARG ...]: run a command in an instance's
container.

The instance is an option, never a word before the command, so `irisenv exec -- iris qlist
IRIS` runs `iris qlist IRIS`: everything after `--` (or from the first word that is not one
of exec's options) is the command, untouched.
"""
from __future__ import annotations

import argparse
import re
import sys

# The container runtime's own refusal to start the command (runc, crun: "OCI runtime exec
# failed: ... unable to start container process: exec: "x": executable file not found in
# $PATH"; an unknown -u user: "unable to find user x"). Docker reports it as the command's
# output with exit code 126 (or 127); a command that ran prints nothing of the sort.
_RUNTIME_REFUSED = re.compile(r"OCI runtime exec failed|unable to start container process|"
                              r"unable to find user")
_NOT_FOUND = re.compile(r"executable file not found|no such file or directory", re.I)


def add_arguments(p) -> None:
    p.usage = "%(prog)s [-h] [-c PATH] [--instance NAME] [-u USER] -- CMD [ARG ...]"
    p.add_argument("--instance", metavar="NAME",
                   help="the instance whose container runs the command (default: the first "
                        "declared)")
    p.add_argument("-u", "--user", help="user inside the container (default: the image's)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARG ...]",
                   help="the command and its arguments, after --; run without a shell "
                        "(use -- sh -c '...' for pipes and built-ins)")
    p.set_defaults(_run=run)


def run(args) -> int:
    from ..core.labels import container_name
    from ..errors import EXIT_USAGE, IrisenvError, redact
    from .common import load_project

    cmd = list(args.cmd)
    if cmd[:1] == ["--"]:
        cmd = cmd[1:]
    if not cmd:
        raise IrisenvError("no command to run", "exec runs the words after -- in the container",
                           "write e.g. irisenv exec -- iris qlist IRIS", exit_code=EXIT_USAGE)
    project = load_project(args)
    if args.instance is None and len(cmd) > 1 and cmd[1] == "--" \
            and cmd[0] in project.config.instances:
        raise IrisenvError(f"`irisenv exec {cmd[0]} -- ...` names the instance as a word",
                           "the instance is an option (--instance NAME); every word after -- is "
                           "the command", f"write: irisenv exec --instance {cmd[0]} -- "
                           + " ".join(cmd[2:]), exit_code=EXIT_USAGE)
    inst = project.config.instance(args.instance)
    cid = project.container_id(inst.name)
    stdin = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()
    res = project.engine.exec(cid, cmd, stdin=stdin, user=args.user, timeout=3600)
    said = (res.stdout + res.stderr).strip()
    if res.exit_code in (126, 127) and _RUNTIME_REFUSED.search(said):
        raise _refused(cmd[0], args.user, container_name(project.name, inst.name), said)
    sys.stdout.write(redact(res.stdout))
    sys.stderr.write(redact(res.stderr))
    return res.exit_code


def _refused(command: str, user: str | None, container: str, said: str):
    """The runtime could not start the command: say which of the usual reasons it was."""
    from ..errors import IrisenvError

    why = f"the container runtime said: {said}"
    if "unable to find user" in said:
        return IrisenvError(f"user {user!r} does not exist in container {container}", why,
                            "pass a user of the image with -u (IRIS images run as irisowner), "
                            "or leave -u out", exit_code=126)
    if _NOT_FOUND.search(said):
        return IrisenvError(f"command {command!r} not found in container {container}", why,
                            "check the name; the command runs without a shell, so a pipe or a "
                            "shell built-in needs -- sh -c '...'; IRIS's own commands are in "
                            "/usr/irissys/bin", exit_code=127)
    return IrisenvError(f"command {command!r} could not be started in container {container}",
                        why, "check that it is an executable file (not a directory, and with "
                        "its execute permission), or run it through -- sh -c '...'",
                        exit_code=126)
