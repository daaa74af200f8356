"""Property tests: no input makes the config loader fail with anything but a ConfigError,
and the JSON Schema never rejects a document irisenv accepts.

Known, intended disagreements (the schema accepts, irisenv rejects) — checked in the
one direction only for this reason:
  * cross-field and cross-instance rules the schema cannot express: memory too small for
    globals + routines, cpu/memory enable >= disable, retention < interval, the same fixed
    host port twice, namespace names that differ only by case;
  * ranges of durations and the 4m minimum size (the schema checks the spelling only);
  * whole-number floats such as 1.0 (JSON Schema's "integer" accepts them, TOML's does not);
  * white-space-only strings, user names longer than 64 characters;
  * values with ${...}: the schema lets every interpolated string through, irisenv checks
    the value after interpolation (so the agreement check skips documents with a "$").
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irisenv.config import load as load_mod
from irisenv.config import parse_config, spec
from irisenv.config.model import Config
from irisenv.config.schema import build_schema
from irisenv.errors import ConfigError

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PATH = Path("/nonexistent/proj/iris-devtester.toml")
ENVIRON = {"IRIS_PASSWORD": "pw", "EMPTY": ""}

# ------------------------------------------------------------------ a small TOML emitter
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _str(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)
    return out.replace("\x7f", "\\u007F")  # TOML forbids a raw DEL; JSON leaves it raw


def _key(k: str) -> str:
    return k if _BARE.fullmatch(k) else _str(k)


def _val(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_val(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_val(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def to_toml(doc: dict, inline_depth: int = 99) -> str:
    """Tables as [headers] down to ``inline_depth``, inline tables below it."""
    lines: list[str] = []

    def emit(table: dict, path: list[str]):
        subs = []
        for k, v in table.items():
            if isinstance(v, dict) and len(path) < inline_depth:
                subs.append((k, v))
            else:
                lines.append(f"{_key(k)} = {_val(v)}")
        for k, v in subs:
            lines.append("")
            lines.append("[" + ".".join(_key(p) for p in path + [k]) + "]")
            emit(v, path + [k])

    emit(doc, [])
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ value strategies
junk_scalar = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-10, max_value=70000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["${", "${X}", "${X:-1s}", "$$", "${1X}", "${IRIS_PASSWORD}", "${EMPTY:-auto}",
                     "é", "日本", "\u0000", "\x7f", "a\nb", "30", "30 s", "1.5h", "2GB", "-1s"]),
)
junk = st.recursive(junk_scalar,
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                    max_leaves=6)


def _ints(kind):
    lo = int(kind.minimum if kind.minimum is not None else -5)
    hi = int(kind.maximum if kind.maximum is not None else 100)
    return st.integers(min_value=lo - 2, max_value=hi + 2)


def good_value(f: spec.Field):
    """Values that are mostly valid for the kind, with near misses."""
    kind = f.kind
    k = type(kind).__name__
    if k == "Image":
        return st.sampled_from(["iris:latest", "containers.intersystems.com/x/iris:2024.1",
                                "a", " ", "x y"])
    if k == "Bool":
        return st.booleans()
    if k == "Int":
        return _ints(kind)
    if k == "Float":
        return st.one_of(st.floats(min_value=0, max_value=2000, allow_nan=False), _ints(kind))
    if k == "Enum":
        return st.sampled_from(list(kind.choices) + ["Community", "x"])
    if k == "Duration":
        return st.builds(lambda n, u: f"{n}{u}", st.integers(0, 100000),
                         st.sampled_from(["ms", "s", "m", "h", "", " s", "S"]))
    if k == "Size":
        return st.builds(lambda n, u: f"{n}{u}", st.integers(0, 9000),
                         st.sampled_from(["k", "m", "g", "", "GB", "M"]))
    if k == "FilePath":
        return st.sampled_from(["iris.key", "~/iris.key", "/abs/x.cpf", ""])
    if k == "IpAddress":
        return st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "localhost", "999.1.1.1", ""])
    if k == "HostIp":
        return st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "engine-host", "Engine-Host",
                                "999.1.1.1", ""])
    if k == "EngineEndpoint":
        return st.sampled_from(["ssh://me@box", "tcp://10.0.0.5:2376", "unix:///x.sock",
                                "buildbox", "k8s://x", "a b", "-x", ""])
    if k == "Port":
        return st.one_of(st.just("auto"), st.integers(-2, 70000), st.just("1972"))
    if k == "WebPort":
        return st.one_of(st.just("auto"), st.integers(-2, 70000), st.booleans())
    if k == "PortRange":
        return st.sampled_from(["41972-42971", "1-1", "9-1", "0-5", "1-70000", "5", "a-b", "",
                                " 1-2", "１-2"])
    if k == "UserName":
        return st.sampled_from(["_SYSTEM", "bob", "a.b@c-d", "a b", "a'b", "9x", "x" * 65])
    if k == "Password":
        return st.text(max_size=140)
    if k == "ProjectName":
        return st.sampled_from(["demo", "my-proj_1", "Demo", "-x", "", "a" * 41])
    if k == "EnvMap":
        return st.dictionaries(st.sampled_from(["TZ", "LANG", "A_1", "1X", "ISC_DATA_DIRECTORY", "A B"]),
                               st.one_of(st.text(max_size=5), st.integers(), st.booleans()),
                               max_size=3)
    if k == "InitList":
        return st.lists(st.one_of(
            st.sampled_from(["src/", "sql/schema.sql", "x.gof", "a.cls", "../x.sql", "/abs.sql",
                             "a.txt", "", "~/x.sql"]),
            st.fixed_dictionaries({"run": st.sampled_from(["##class(A).B()", "", "a\nb", 1])}),
            st.just({"fixture": "x"}), st.integers()), max_size=4)
    if k == "Pool":
        counts = st.one_of(st.integers(-1, 70), st.just("2"), st.booleans())
        return st.one_of(counts, st.dictionaries(st.sampled_from(["min", "max", "mx"]), counts,
                                                 max_size=3))
    raise AssertionError(k)


def table_strategy(t: spec.Table, depth: int = 0):
    parts = {}
    for item in t.fields:
        if isinstance(item, spec.Field):
            parts[item.name] = st.one_of(good_value(item), good_value(item), junk)
        elif isinstance(item, spec.Table):
            parts[item.name] = table_strategy(item, depth + 1)
        else:
            if item.key_kind.noun == "instance":
                names = st.sampled_from(["iris", "db", "two-b", "My_Iris", "x" * 41, ""])
            else:
                names = st.sampled_from(["USER", "APP", "app", "TEST-1", "%SYS", "1APP", "BROKER",
                                         "A" * 21, "é"])
            parts[item.name] = st.dictionaries(names, table_strategy(item.item, depth + 1),
                                               max_size=3)

    @st.composite
    def build(draw):
        out = {}
        for name, strat in parts.items():
            if draw(st.integers(0, 3)) == 0:  # present about a quarter of the time
                out[name] = draw(strat)
        if draw(st.integers(0, 9)) == 0:  # an unknown key now and then
            out[draw(st.sampled_from(["memry", "port", "instance", "x", "é"]))] = draw(junk)
        return out

    return build()


documents = table_strategy(spec.ROOT)


def _parse(text: str):
    try:
        return parse_config(text, PATH, environ=ENVIRON, default_project="proj")
    except ConfigError as exc:
        rendered = exc.render()  # rendering must not fail either
        assert rendered.startswith("error: ")
        assert "Traceback" not in rendered
        return exc


def _has_dollar(obj) -> bool:
    if isinstance(obj, str):
        return "$" in obj
    if isinstance(obj, dict):
        return any(_has_dollar(k) or _has_dollar(v) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_has_dollar(v) for v in obj)
    return False


# ------------------------------------------------------------------ properties
@SETTINGS
@given(st.text(max_size=300))
def test_random_text_gives_config_or_config_error(text):
    result = _parse(text)
    assert isinstance(result, (Config, ConfigError))


@SETTINGS
@given(st.lists(st.sampled_from(['[instances.iris]\n', '[instances.iris.ports]\n', 'memory = "2g"\n',
                                 'memry = 1\n', '[[instances]]\n', 'a = "${\n', "x = '''\n",
                                 '[instances."é".namespaces.APP]\n', 'pool = 0\n', '= 1\n',
                                 'instances.iris.cpus = nan\n', 'b = [1, {c = 2}]\n', '"k\\n" = 1\n',
                                 '\t', ' ', '#', '\r\n', '"', '[', ']', '{', '}']), max_size=12))
def test_toml_fragments_give_config_or_config_error(parts):
    assert isinstance(_parse("".join(parts)), (Config, ConfigError))


@SETTINGS
@given(junk)
def test_random_values_at_top_level(value):
    doc = value if isinstance(value, dict) else {"instances": value}
    assert isinstance(_parse(to_toml(doc)), (Config, ConfigError))


_VALIDATOR = jsonschema.Draft7Validator(build_schema(),
                                        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


@SETTINGS
@given(documents, st.integers(0, 4))
def test_random_documents_and_schema_agreement(doc, inline_depth):
    text = to_toml(doc, inline_depth)
    result = _parse(text)
    assert isinstance(result, (Config, ConfigError))
    if isinstance(result, Config) and not _has_dollar(doc):
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in _VALIDATOR.iter_errors(doc)]
        assert not errors, f"irisenv accepts but the schema rejects:\n{text}\n{errors}"


@pytest.mark.parametrize("text", [
    '[instances.iris]\nmemory = "${NOPE}"\nglobals = "1g"\n',  # was a TypeError (issue fixed)
    '[instances.iris.monitoring]\ninterval = "${NOPE}"\nretention = "5m"\n',
    '[instances.iris]\ncpus = nan\n',
    '[project]\nname = "demo\\n"\n',
])
def test_regressions_found_by_fuzzing(text):
    assert isinstance(_parse(text), ConfigError)


def test_emitter_round_trips():
    import tomllib

    doc = {"a": 1, "b": {"c": [1, "x"], "d": {"e": float("inf")}}, "é k": "\x7f\n"}
    for depth in (0, 1, 5):
        assert tomllib.loads(to_toml(doc, depth))["é k"] == "\x7f\n"
    assert load_mod  # the module under test is importable on its own
