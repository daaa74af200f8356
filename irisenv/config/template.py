"""The starter file written by `irisenv config init`."""
from __future__ import annotations

STARTER = '''\
# irisenv project config. Reference: docs/config.md; every key with its default:
# iris-devtester.toml.example. Editor validation: `irisenv config schema -o
# iris-devtester.schema.json` and add `#:schema ./iris-devtester.schema.json` on line 1.

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
