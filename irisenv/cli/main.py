"""`irisenv` entry point. Imports stay light: verb modules are imported only when run,
and nothing here imports docker, rich or the IRIS driver (irisenv --help stays fast)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import errors
from .._version import __version__

# verb -> (module under irisenv.cli, one-line help). Order is the order of --help.
VERBS = {
    "sync": ("sync_cmd", "converge Docker to the config and wait until IRIS is ready"),
    "plan": ("plan_cmd", "show what sync would change (read-only)"),
    "status": ("status_cmd", "instances: state, readiness, ports, drift"),
    "down": ("down_cmd", "remove the project's containers (by label; no config needed)"),
    "stop": ("lifecycle_cmd", "stop the project's containers, keeping them and their data"),
    "start": ("lifecycle_cmd", "start the project's stopped containers and wait until ready"),
    "restart": ("lifecycle_cmd", "stop and start the project's containers, then wait until "
                "ready"),
    "ls": ("ls_cmd", "every irisenv project on the engine: instances, state, ports, config "
           "(no config needed)"),
    "ports": ("ports_cmd", "the per-user port registry: every project's ports; release, prune"),
    "env": ("env_cmd", "connection variables (IRIS_HOST, IRIS_PORT, ..., IRIS_URL)"),
    "lease": ("lease_cmd", "lease a clean copy of a pooled namespace: its connection variables"),
    "logs": ("logs_cmd", "an instance's container log"),
    "exec": ("exec_cmd", "run a command in an instance's container"),
    "session": ("session_cmd", "an ObjectScript prompt in an instance"),
    "fixture": ("fixture_cmd", "export a namespace's data database with a manifest; verify one"),
    "monitor": ("monitor_cmd", "^SystemPerformance monitoring: status, pause, resume, report"),
    "doctor": ("doctor_cmd", "check the engine, images, ports and the IRIS driver for known traps"),
    "config": ("config_cmd",
               "validate, show, get, set, init, schema and example for iris-devtester.toml"),
}

# verbs irisenv runs for itself, left out of --help: `pool reset`, the pool's background
# resetter that a release starts (irisenv/pool_lease.py)
HIDDEN = {"pool": "pool_cmd"}

EPILOG = """\
exit codes: 0 ok · 1 error · 2 plan has changes (plan --detailed-exitcode) ·
3 not ready in time · 64 bad command line · 130 interrupted
more: `irisenv VERB --help`; every config key with its default and a comment:
`irisenv config example`; the effective config: `irisenv config show --origin`"""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 64, keeping 2 for "plan has changes"
        self.print_usage(sys.stderr)
        sys.stderr.write(f"error: {message}\n  fix: see `{self.prog} --help`\n")
        raise SystemExit(errors.EXIT_USAGE)


def build_parser(verbs=None) -> Parser:
    """The command line's parser: every verb with its one-line help (what `irisenv --help`
    lists), and the arguments of the ``verbs`` named (None: of every verb). Adding a
    verb's arguments imports its module: a command pays for its own verb, not for all."""
    parser = Parser(prog="irisenv", description="Reproducible, declarative InterSystems IRIS "
                    "test databases: declare instances in iris-devtester.toml, then "
                    "`irisenv sync`.", epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"irisenv {__version__}")
    parser.add_argument("-c", "--config", metavar="PATH",
                        help="config file (default: $IRISENV_CONFIG, else iris-devtester.toml "
                             "found walking up from the working directory)")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=Parser)
    for name, (module, help_text) in VERBS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        # -c also after the verb (`irisenv plan -c x.toml`); SUPPRESS keeps an earlier -c
        p.add_argument("-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
                       help="config file (as before the verb)")
        if verbs is None or name in verbs:
            _module(module).add_arguments(p)
    for name, module in HIDDEN.items():
        if verbs is not None and name in verbs:
            p = sub.add_parser(name)  # no help=: argparse lists it nowhere
            p.set_defaults(_module=module)
            _module(module).add_arguments(p)
    return parser


def chosen_verb(argv: list[str]) -> str | None:
    """The verb a command line names: its first positional argument, skipping the
    top-level options (-c/--config take a value). None when there is none, or it is no
    verb (argparse then prints the help, or says what is wrong)."""
    args = iter(argv)
    for arg in args:
        if arg in ("-c", "--config"):
            next(args, None)
        elif arg == "--":
            return None
        elif not arg.startswith("-"):
            return arg if arg in VERBS or arg in HIDDEN else None
    return None


def _module(name: str):
    return importlib.import_module(f"irisenv.cli.{name}")


def _innermost(parser: argparse.ArgumentParser, args) -> argparse.ArgumentParser:
    """The parser of the verb (and action) the command line chose: its usage is the one
    that helps with an unknown argument, not the top-level one. (argparse keeps its
    subparsers in the private _actions; parse_args would report at the top level.)"""
    while True:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                   None)
        chosen = getattr(args, sub.dest, None) if sub is not None else None
        if chosen not in getattr(sub, "choices", {}):
            return parser
        parser = sub.choices[chosen]


def main(argv: list[str] | None = None) -> int:
    """Run one command line. Without ``argv`` this is the process's entry point (the
    console script, ``python -m irisenv``): the command line is sys.argv, and the process
    ends when main returns. Then everything still alive is frozen out of the garbage
    collector (gc.freeze): the interpreter's final collection at exit would traverse every
    object of every imported module (about 30 ms, as long as a container list) only to
    find nothing, since all of it is freed by the process exit anyway. The collector
    itself stays on while the command runs (sync's threads, `logs -f`). Called with
    ``argv`` (tests, the Python API), main leaves the collector alone."""
    if argv is not None:
        return _main(argv)
    try:
        return _main(sys.argv[1:])
    finally:
        import gc

        gc.freeze()


def _main(argv: list[str]) -> int:
    verb = chosen_verb(argv)
    parser = build_parser([verb] if verb else [])
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "verb", None) != verb:
        # argparse read the line otherwise (e.g. an abbreviated `--conf plan sync`):
        # parse it with every verb's arguments, as if nothing had been guessed
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
    if extra:
        _innermost(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "verb", None):
        parser.print_help()
        return errors.EXIT_OK
    try:
        from ..config.load import working_dir

        working_dir()  # every verb finds its config and relative paths from there
        return int(args._run(args) or 0)
    except errors.IrisenvError as exc:
        if getattr(args, "json", False):
            import json

            print(json.dumps(exc.to_dict(), indent=2))
        print(exc.render(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return errors.EXIT_INTERRUPTED
    except BrokenPipeError as exc:
        if _stdout_gone():  # `irisenv ... | head`: the reader has what it wanted
            return errors.EXIT_OK
        return _internal_error(exc)  # another pipe (an engine's ssh): not the reader's end
    except Exception as exc:  # a bug: say so plainly; the traceback only on request
        return _internal_error(exc)


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has gone: polled, it reports an error (Linux:
    POLLERR; POLLHUP elsewhere). Where poll is missing, assumed so (the reader is the usual
    pipe to break); stdout without a file descriptor has no reader to lose."""
    import select

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))


def _internal_error(exc: BaseException) -> int:
    """A bug: say so plainly; the traceback only on request (IRISENV_DEBUG=1)."""
    if os.environ.get("IRISENV_DEBUG"):
        raise exc
    print(errors.redact(f"error: internal error: {exc.__class__.__name__}: {exc}\n"
                        "  why: this is a bug in irisenv\n"
                        "  fix: rerun with IRISENV_DEBUG=1 for the traceback and report it"),
          file=sys.stderr)
    return errors.EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
