"""The committed JSON Schema: fresh, valid draft-07, accepts the example, rejects mistakes."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from irisenv.config.schema import build_schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / "iris-devtester.schema.json"
EXAMPLE = ROOT / "irisenv" / "config" / "reference.toml"
REGENERATE = "irisenv config schema -o schemas/iris-devtester.schema.json"


def validator():
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def test_committed_schema_is_fresh():
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == schema_text(), (
        f"schemas/iris-devtester.schema.json is stale (spec.py or schema.py changed); "
        f"regenerate it with: {REGENERATE}")


def test_schema_is_valid_draft7():
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator.check_schema(build_schema())


def test_example_says_how_to_get_the_schema():
    # the example ships in the wheel and is printed into users' projects, which have no
    # schemas/ directory: it says how to write the schema instead of pointing at a path
    text = EXAMPLE.read_text(encoding="utf-8")
    assert not text.startswith("#:schema")
    assert "irisenv config schema -o iris-devtester.schema.json" in text
    assert "#:schema ./iris-devtester.schema.json" in text


def test_example_validates_against_the_schema():
    doc = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    errors = [e.message for e in validator().iter_errors(doc)]
    assert not errors


@pytest.mark.parametrize("text", [
    "",
    "[instances.iris]\n",
    '[instances.iris]\nedition = "enterprise"\nlicense_key = "iris.key"\n',
    '[instances.iris]\nmemory = "${MEM:-2g}"\nedition = "${EDITION:-community}"\n',
    '[project]\nname = "${PROJECT:-demo}"\n[instances.iris.ports]\nhost_ip = "${HOST:-::1}"\n',
    '[instances.iris.ports]\nsuperserver = 0\nweb = false\nhost_ip = "::1"\n',
    "[instances.iris.namespaces.app]\n[instances.iris.namespaces.brokerage]\n",
    '[instances.iris.credentials]\npassword = "' + "$$" * 100 + '"\n',
])
def test_good_configs_pass_the_schema(text):
    assert not [e.message for e in validator().iter_errors(tomllib.loads(text))]


@pytest.mark.parametrize("text, where", [
    ('[instances.iris]\nmemory = "2GB"\n', "memory"),
    ('[instances.iris]\nmemory = 2\n', "memory"),
    ('[instances.iris]\nmemry = "2g"\n', "memry"),
    ('[instance.iris]\n', "instance"),
    ('[instances.iris.port]\n', "port"),
    ('[instances.iris.namespaces."%SYS"]\n', "%SYS"),
    ('[instances.iris.namespaces.1APP]\n', "1APP"),
    ('[instances.iris.namespaces."APP;Halt"]\n', "APP;Halt"),
    (f"[instances.iris.namespaces.{'A' * 60}]\n", "A" * 60),
    ("[instances.iris.namespaces.Broker]\n", "Broker"),
    ('[instances.iris]\nlicense_key = "iris.key"\n', "license_key"),
    ('[instances.iris]\nedition = "enterprise"\n', "license_key"),
    ('[instances.iris]\nedition = "pro"\n', "pro"),
    ('[instances.iris]\nreuse = "Never"\n', "Never"),
    ('[instances.iris]\nstorage = "disk"\n', "disk"),
    ('[instances.iris.monitoring]\ninterval = "30"\n', "30"),
    ('[instances.iris.monitoring]\ncpu_disable = 101\n', "101"),
    ('[instances.iris.namespaces.APP]\npool = 65\n', "65"),
    ('[instances.iris.namespaces.APP]\npool = { min = 2 }\n', "max"),
    ('[instances.iris.namespaces.APP]\npool = { min = 1, max = 2, x = 3 }\n', "x"),
    ('[instances.iris.services]\ncallin = "yes"\n', "yes"),
    ('[instances.iris.ports]\nsuperserver = 70000\n', "70000"),
    ('[instances.iris.ports]\nsuperserver = "1972"\n', "1972"),
    ('[instances.iris.ports]\nweb = true\n', "True"),
    ('[instances.iris.ports]\nhost_ip = "localhost"\n', "localhost"),
    ('[instances.My_Iris]\n', "My_Iris"),
    ('[project]\nname = "Demo"\n', "Demo"),
    ('[instances.iris.credentials]\nusername = "a b"\n', "a b"),
    ('[instances.iris]\nenv = { ISC_DATA_DIRECTORY = "/d" }\n', "ISC_DATA_DIRECTORY"),
    ("[instances]\n", "instances"),
])
def test_broken_configs_fail_the_schema(text, where):
    errors = list(validator().iter_errors(tomllib.loads(text)))
    assert errors, "the schema accepted a broken config"
    assert any(where in (str(e.instance) + e.message + "/".join(map(str, e.absolute_path)))
               or any(where in str(c.instance) + c.message for c in e.context) for e in errors), \
        [e.message for e in errors]


def test_schema_carries_docs_and_defaults_for_editors():
    inst = build_schema()["properties"]["instances"]["additionalProperties"]
    assert inst["properties"]["memory"]["default"] == "2g"
    assert "description" in inst["properties"]["memory"]
    assert inst["properties"]["monitoring"]["properties"]["interval"]["default"] == "30s"
