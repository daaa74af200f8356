"""Every example project's config (examples/**/iris-devtester.toml) loads, and the files its
namespaces' init lists exist and are hashed, as `irisenv plan` would read them."""
from __future__ import annotations

from pathlib import Path

import pytest

from irisenv.config.load import parse_config
from irisenv.core import init

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIGS = sorted(EXAMPLES.rglob("iris-devtester.toml"))


def test_the_examples_are_found():
    assert EXAMPLES / "iris-devtester.toml" in CONFIGS
    assert EXAMPLES / "schema" / "iris-devtester.toml" in CONFIGS


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_config_loads_with_its_init_files(path):
    cfg = parse_config(path.read_text(encoding="utf-8"), path, environ={})
    for inst in cfg.instances.values():
        declared = init.declared(inst)  # raises when an init file is missing or unreadable
        assert set(declared) == {ns.name for ns in inst.namespaces if ns.init}


def test_the_schema_example_initialises_app_with_classes_schema_and_seed():
    path = EXAMPLES / "schema" / "iris-devtester.toml"
    inst = parse_config(path.read_text(encoding="utf-8"), path, environ={}).instances["iris"]
    items = init.declared(inst)["APP"].items
    assert [(i.kind, i.rel) for i in items] == [("code", "src/App/Pricing.cls"),
                                                ("sql", "sql/schema.sql"),
                                                ("sql", "sql/seed.sql")]
    statements = init.split_sql((EXAMPLES / "schema" / "sql" / "seed.sql").read_text())
    assert len(statements) == 6 and all(s.startswith("INSERT INTO App.") for _, s in statements)
