"""Generate the JSON Schema (draft-07, which taplo / Even Better TOML understand) from spec:
each key's kind gives its schema (kinds.py), the key its description and default.

The committed copy lives in schemas/iris-devtester.schema.json; a test fails when it is
stale. Regenerate with: irisenv config schema -o schemas/iris-devtester.schema.json
"""
from __future__ import annotations

import json

from . import spec

SCHEMA_ID = "https://irisenv.invalid/schemas/iris-devtester.schema.json"


def _field(f: spec.Field) -> dict:
    s = f.kind.schema()
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
    out = {"type": "object", "description": n.doc, "propertyNames": n.key_kind.schema(),
           "additionalProperties": _table(n.item)}
    if n.min_items:
        out["minProperties"] = n.min_items
    return out


def build_schema() -> dict:
    root = _table(spec.ROOT)
    return {"$schema": "http://json-schema.org/draft-07/schema#", "$id": SCHEMA_ID,
            "title": "iris-devtester.toml", **{k: v for k, v in root.items() if k != "description"},
            "description": "irisenv project config: the IRIS instances a project's tests need."}


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, sort_keys=False) + "\n"
