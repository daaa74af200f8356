"""irisenv config validate | show | get | set | init | schema | example"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..errors import IrisenvError, did_you_mean


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    v = sub.add_parser("validate", help="check the config; exit 1 with every problem located")
    v.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    v.set_defaults(_run=run_validate)
    s = sub.add_parser("show", help="the effective config: defaults filled in, ${VAR} resolved, "
                                    "passwords masked")
    s.add_argument("--json", action="store_true")
    s.add_argument("--origin", action="store_true", help="where each value came from")
    s.set_defaults(_run=run_show)
    g = sub.add_parser("get", help="one effective value, e.g. instances.iris.memory")
    g.add_argument("key")
    g.add_argument("--json", action="store_true")
    g.set_defaults(_run=run_get)
    st = sub.add_parser("set", help="change one key in the file, keeping comments and layout")
    st.add_argument("key")
    st.add_argument("value", help='a TOML value (4, 2.0, true, "x") or plain text')
    st.set_defaults(_run=run_set)
    i = sub.add_parser("init", help="write a starter iris-devtester.toml here")
    i.add_argument("--force", action="store_true", help="overwrite an existing file")
    i.set_defaults(_run=run_init)
    sc = sub.add_parser("schema", help="print the JSON Schema of the config file")
    sc.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead")
    sc.set_defaults(_run=run_schema)
    ex = sub.add_parser("example", help="print every key with its default and a comment "
                                        "(a complete, valid iris-devtester.toml)")
    ex.set_defaults(_run=run_example)
    for action_parser in (v, s, g, st, i, sc, ex):  # -c also after the action
        action_parser.add_argument("-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
                                   help="config file (as before the verb)")


def _load(args):
    from ..config import load_config

    return load_config(args.config)


def _source(cfg) -> str:
    return str(cfg.path) if cfg.path else "(no config file: zero-config default)"


def run_validate(args) -> int:
    from ..config.load import check_files
    from ..errors import ConfigError

    try:
        cfg = _load(args)
        issues = check_files(cfg)  # the merge and licence files it names
        if issues:
            raise ConfigError(issues)
    except ConfigError as exc:
        if args.json:
            print(json.dumps({"valid": False, **exc.to_dict()}, indent=2))
            print(exc.render(), file=sys.stderr)
            return exc.exit_code
        raise
    if args.json:
        print(json.dumps({"valid": True, "file": str(cfg.path) if cfg.path else None,
                          "project": cfg.project, "instances": list(cfg.instances)}, indent=2))
    else:
        n = len(cfg.instances)
        print(f"ok: {_source(cfg)}: project {cfg.project!r}, {n} instance{'s' * (n != 1)} "
              f"({', '.join(cfg.instances)})")
    return 0


def _text_of(cfg) -> str | None:
    return cfg.path.read_text(encoding="utf-8") if cfg.path else None


def run_show(args) -> int:
    from ..config.view import effective, flatten, resolve_origins

    cfg = _load(args)
    data = effective(cfg)
    origins = resolve_origins(cfg, _text_of(cfg)) if args.origin else {}
    if args.json:
        if args.origin:
            flat = flatten(data)
            data = {k: {"value": v, "origin": origins.get(k, _origin_for(k, origins))}
                    for k, v in flat.items()}
        print(json.dumps(data, indent=2))
        return 0
    print(f"# effective config of {_source(cfg)}")
    _print_toml(data, origins)
    return 0


def _origin_for(key: str, origins: dict) -> str:
    # namespace tables may be spelt in another case in the file
    for k, v in origins.items():
        if k.lower() == key.lower():
            return v
    return "default"


def _print_toml(data: dict, origins: dict) -> None:
    from ..config.render import toml_value

    def emit(table: dict, path: list[str]):
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict) or k == "env"}
        tables = {k: v for k, v in table.items() if isinstance(v, dict) and k != "env"}
        if path and (scalars or not tables):
            print(f"\n[{'.'.join(path)}]")
        for k, v in scalars.items():
            line = f"{k} = {toml_value(v)}" if v is not None else f"# {k} = (unset)"
            if origins:
                line = f"{line:<60} # {_origin_for('.'.join(path + [k]), origins)}"
            print(line)
        for k, v in tables.items():
            emit(v, path + [k])

    emit(data, [])


def run_get(args) -> int:
    from ..config.edit import split_key
    from ..config.view import effective

    cfg = _load(args)
    node = effective(cfg)
    parts = split_key(args.key)
    for i, part in enumerate(parts):
        if i == 3 and parts[0] == "instances" and parts[2] == "namespaces":
            part = part.upper()  # namespace names are case-insensitive, stored upper-case
        if not isinstance(node, dict) or part not in node:
            choices = list(node) if isinstance(node, dict) else []
            hint = did_you_mean(part, choices)
            raise IrisenvError(f"no key {args.key!r} in the effective config",
                               f"{'.'.join(parts[:i]) or 'the top level'} has: {', '.join(choices)}"
                               if choices else f"{'.'.join(parts[:i])} is a value",
                               hint or "see `irisenv config show` for every key")
        node = node[part]
    if args.json or isinstance(node, dict):
        print(json.dumps(node, indent=2))
    elif isinstance(node, bool):
        print("true" if node else "false")
    else:
        print("" if node is None else node)
    if args.key.endswith("credentials.password"):
        print("note: passwords are never printed; `irisenv env` hands them to programs",
              file=sys.stderr)
    return 0


def run_set(args) -> int:
    from ..config import find_config
    from ..config.edit import set_value

    path = Path(args.config).expanduser() if args.config else find_config()[0]
    if path is None or not path.is_file():
        raise IrisenvError("no config file to edit",
                           "config set changes an existing iris-devtester.toml",
                           "create one with `irisenv config init`")
    old, new = set_value(path, args.key, args.value)
    if old == new:
        print(f"{path}: {args.key} unchanged", file=sys.stderr)
    else:
        print(f"{path}: set {args.key}", file=sys.stderr)
    return 0


def run_init(args) -> int:
    from ..config.edit import write_atomic
    from ..config.load import working_dir
    from ..config.spec import CONFIG_FILENAME
    from ..config.template import starter
    from ..names import sanitize_project_name

    path = Path(args.config).expanduser() if args.config else working_dir() / CONFIG_FILENAME
    if path.is_symlink() and not path.exists():  # a link to nothing, or a loop
        import errno

        try:
            os.stat(path)
            loop = False
        except OSError as exc:
            loop = exc.errno == errno.ELOOP
        raise IrisenvError(f"{path} is a symbolic link loop" if loop else
                           f"{path} is a symbolic link to {os.readlink(path)}, which does not "
                           "exist", "irisenv creates no file through a link",
                           "remove the link and run init again" if loop else
                           "create the target first, or remove the link and run init again")
    if os.path.lexists(path) and not args.force:  # lexists: a broken link or a loop exists too
        raise IrisenvError(f"{path} already exists", "init never overwrites a config by default",
                           "edit it with `irisenv config set`, or pass --force to overwrite")
    # abspath, not resolve(): the directory name as the user sees it, and no symlink to follow
    write_atomic(path, starter(sanitize_project_name(Path(os.path.abspath(path)).parent.name)))
    print(f"wrote {path}; next: `irisenv config validate`, then `irisenv sync`", file=sys.stderr)
    return 0


def run_example(args) -> int:
    from ..config.template import reference

    sys.stdout.write(reference())
    return 0


def run_schema(args) -> int:
    from ..config.schema import schema_text

    text = schema_text()
    if args.output:
        from ..config.edit import write_atomic

        write_atomic(Path(args.output), text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
