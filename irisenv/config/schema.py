"""Generate the JSON Schema (draft-07, which taplo / Even Better TOML understand) from spec.

The committed copy lives in schemas/iris-devtester.schema.json; a test fails when it is
stale. Regenerate with: irisenv config schema -o schemas/iris-devtester.schema.json
"""
from __future__ import annotations

import json

from .. import names
from . import spec, units

SCHEMA_ID = "https://irisenv.invalid/schemas/iris-devtester.schema.json"
# A string with ${...} is checked after interpolation, so the schema lets it through.
_INTERP = r"\$\{"


def _interp_or(pattern: str) -> dict:
    return {"type": "string", "anyOf": [{"pattern": pattern}, {"pattern": _INTERP}]}


def _field(f: spec.Field) -> dict:
    k = f.kind
    if k in ("str", "path"):
        s = {"type": "string", "minLength": 1}
    elif k == "password":
        # at most 128 characters after interpolation ("$$" shrinks to "$")
        s = {"type": "string", "minLength": 1,
             "anyOf": [{"maxLength": 128}, {"pattern": r"\$[{$]"}]}
    elif k == "bool":
        s = {"type": "boolean"}
    elif k == "int":
        s = {"type": "integer"}
    elif k == "float":
        s = {"type": "number"}
    elif k == "enum":
        s = {"type": "string", "anyOf": [{"enum": list(f.choices)}, {"pattern": _INTERP}]}
    elif k == "duration":
        s = _interp_or(units.DURATION_PATTERN)
    elif k == "size":
        s = _interp_or(units.SIZE_PATTERN)
    elif k == "ip":
        s = {"type": "string",
             "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}, {"pattern": _INTERP}]}
    elif k in ("port", "web_port"):
        options = [{"const": "auto"}, {"type": "integer", "minimum": 0, "maximum": 65535}]
        if k == "web_port":
            options.append({"const": False})
        s = {"anyOf": options}
    elif k == "username":
        s = _interp_or(names.USERNAME_PATTERN)
    elif k == "docker_name":
        s = {"type": "string", "anyOf": [
            {"pattern": names.DOCKER_NAME_PATTERN, "maxLength": names.DOCKER_NAME_MAX},
            {"pattern": _INTERP}]}
    elif k == "env_map":
        s = {"type": "object", "propertyNames": {"pattern": names.ENV_KEY_PATTERN,
                                                 "not": {"enum": sorted(spec.MANAGED_ENV)}},
             "additionalProperties": {"type": ["string", "integer", "number"]}}
    else:  # pragma: no cover - a new kind must be added here
        raise AssertionError(f"no schema for kind {k}")
    if k in ("int", "float"):
        if f.minimum is not None:
            s["minimum"] = f.minimum
        if f.maximum is not None:
            s["maximum"] = f.maximum
    s["description"] = f.doc
    if f.default is not None:
        s["default"] = f.default
    return s


def _table(t: spec.Table) -> dict:
    props = {}
    for item in t.fields:
        if isinstance(item, spec.Field):
            props[item.name] = _field(item)
        elif isinstance(item, spec.Table):
            props[item.name] = _table(item)
        else:
            props[item.name] = _named(item)
    out = {"type": "object", "description": t.doc, "properties": props,
           "additionalProperties": False}
    if t is spec.INSTANCE:
        # license_key belongs to enterprise images only (checked by irisenv as well).
        out["allOf"] = [
            {"if": {"properties": {"edition": {"const": "enterprise"}}, "required": ["edition"]},
             "then": {"required": ["license_key"]},
             "else": {"not": {"required": ["license_key"]}}},
        ]
    return out


def _named(n: spec.Named) -> dict:
    if n.key_kind == "instance":
        pattern = names.DOCKER_NAME_PATTERN
        extra = {"maxLength": names.DOCKER_NAME_MAX}
    else:
        pattern = names.NAMESPACE_PATTERN
        # reserved names, case-insensitively (ECMA regexes have no inline (?i) flag)
        reserved = "|".join(
            "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in name)
            for name in sorted(names.RESERVED_NAMESPACES) if not name.startswith("%"))
        extra = {"maxLength": names.NAMESPACE_MAX, "not": {"pattern": f"^({reserved})$"}}
    return {"type": "object", "description": n.doc,
            "propertyNames": {"pattern": pattern, **extra},
            "additionalProperties": _table(n.item)}


def build_schema() -> dict:
    root = _table(spec.ROOT)
    root["properties"]["instances"]["minProperties"] = 1
    return {"$schema": "http://json-schema.org/draft-07/schema#", "$id": SCHEMA_ID,
            "title": "iris-devtester.toml", **{k: v for k, v in root.items() if k != "description"},
            "description": "irisenv project config: the IRIS instances a project's tests need."}


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, sort_keys=False) + "\n"
