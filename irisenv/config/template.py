"""The starter file written by `irisenv config init`, and the annotated reference printed by
`irisenv config example` (package data, so that a pip install has it)."""
from __future__ import annotations

STARTER = '''\
# irisenv project config. Every key, with its default and what it does:
# `irisenv config example`. Check it: `irisenv config validate`. Editor validation:
# `irisenv config schema -o iris-devtester.schema.json` and add
# `#:schema ./iris-devtester.schema.json` on line 1.

[project]
name = "{project}"

[instances.iris]
image = "containers.intersystems.com/intersystems/iris-community:latest-em"
reuse = "matching"          # matching | never | always

[instances.iris.credentials]
username = "_SYSTEM"
password = "${{IRIS_PASSWORD:-SYS}}"

[instances.iris.namespaces.USER]
'''


def starter(project: str) -> str:
    return STARTER.format(project=project)


def reference() -> str:
    """Every key with its default and a comment (reference.toml, shipped)."""
    from importlib.resources import files

    return files(__package__).joinpath("reference.toml").read_text(encoding="utf-8")
