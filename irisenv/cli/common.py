"""Shared CLI plumbing: loading the project, progress reporters, JSON output."""
from __future__ import annotations

import json
import sys


def add_progress(p) -> None:
    p.add_argument("--progress", choices=["auto", "rich", "plain", "json", "quiet"], default="auto",
                   help="progress on stderr: rich live view (terminal, not CI), plain lines, "
                        "NDJSON events, or nothing (default: auto)")


def seconds(text: str) -> float:
    """argparse type for timeouts: seconds or a duration (units.parse_seconds)."""
    import argparse

    from ..config.units import parse_seconds

    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def load_project(args):
    from ..config import load_config
    from ..project import Project

    return Project(load_config(args.config))


def project_name(text: str) -> str:
    """A --project NAME argument, checked as a Docker-safe project name."""
    from ..errors import IrisenvError
    from ..names import docker_name

    try:
        return docker_name(text, "project name")
    except ValueError as exc:
        raise IrisenvError(str(exc), "project names are Docker-safe names",
                           "pass the name shown by `irisenv status` or `irisenv ls`") from None


def reporter(args):
    from ..report import make_reporter

    return make_reporter(getattr(args, "progress", "auto"))


def print_summary(args, rep, text: str, **fields) -> None:
    """The one-line summary at the end of sync and down, on stderr: nothing with --progress
    quiet; with --progress json a `summary` event (so every stderr line is JSON); else text."""
    mode = getattr(args, "progress", "auto")
    if mode == "quiet":
        return
    if mode == "json":
        rep.event("summary", text, **fields)
    else:
        print(text, file=sys.stderr)


def print_json(data) -> None:
    from ..errors import redact

    sys.stdout.write(redact(json.dumps(data, indent=2, default=str)) + "\n")
