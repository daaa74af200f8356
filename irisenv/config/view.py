"""The effective config as plain data: for `config show`, `config get`, and JSON output.

Passwords are always masked here; nothing that renders a Config should go around this.
"""
from __future__ import annotations

from . import spec
from .mask import MASK  # noqa: F401 - what show prints for a password
from .model import Config


def _value(f: spec.Field, value):
    return None if value is None else f.kind.show(value)


def _table(t: spec.Table, obj) -> dict:
    out = {}
    for item in t.fields:
        if isinstance(item, spec.Field):
            out[item.name] = _value(item, getattr(obj, item.name))
        elif isinstance(item, spec.Table):
            out[item.name] = _table(item, getattr(obj, item.name))
        else:  # namespaces: a tuple of Namespace objects
            out[item.name] = {ns.name: _table(item.item, ns) for ns in getattr(obj, item.name)}
    return out


def effective(config: Config) -> dict:
    return {
        "project": {"name": config.project, "engine": config.engine},
        "ports": _table(spec.PORT_REGISTRY, config.ports),
        "instances": {name: _table(spec.INSTANCE, inst) for name, inst in config.instances.items()},
    }


def flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and key != "env":
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def resolve_origins(config: Config, text: str | None) -> dict:
    """Origins with file positions: 'iris-devtester.toml:12', 'default', '... via $VAR'."""
    from .locate import locate

    locs = locate(text) if text else {}
    display = str(config.path) if config.path else "<default>"
    out = {}
    for key, how in config.origins.items():
        if how.startswith("file"):
            loc = locs.get(tuple(key.split(".")))
            where = f"{display}:{loc.line}" if loc else display
            out[key] = where + how[len("file"):]
        else:
            out[key] = how
    return out
