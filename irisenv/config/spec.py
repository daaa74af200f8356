"""The declared config keys: the single source of truth for defaults, types, docs and schema.

Validation (load.py), the JSON schema (schema.py), `config show --origin` and the
reference in docs/config.md all read this tree. Adding a key means adding one Field here
(and one attribute on the model in model.py; a unit test checks the two agree).
"""
from __future__ import annotations

from typing import Any, NamedTuple

DEFAULT_IMAGE = "containers.intersystems.com/intersystems/iris-community:latest-em"
DEFAULT_INSTANCE = "iris"
CONFIG_FILENAME = "iris-devtester.toml"

# Field kinds understood by load.py and schema.py:
#   str, bool, int, float, enum, duration, size, path, ip, port, web_port, username,
#   password, docker_name, env_map


class Field(NamedTuple):
    name: str
    kind: str
    default: Any
    doc: str
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    optional: bool = False  # default None means "unset" (documented as such)


class Table(NamedTuple):
    name: str
    doc: str
    fields: tuple = ()


class Named(NamedTuple):
    """A table of user-named sub-tables: [instances.<name>] or [...namespaces.<NAME>]."""

    name: str
    doc: str
    key_kind: str  # "instance" | "namespace"
    item: Table = Table("", "")
    default_keys: tuple = ()


PORTS = Table("ports", "Host ports the instance's services are published on.", (
    Field("superserver", "port", "auto",
          'Host port for the superserver (1972 in the container): "auto" or 0 (Docker assigns '
          "a free port when the container starts) or 1..65535."),
    Field("web", "web_port", "auto",
          'Host port for the private web server (52773 in the container): "auto", 0, 1..65535, '
          "or false to not publish it."),
    Field("host_ip", "ip", "127.0.0.1",
          "Host address the ports bind to. Loopback by default; 0.0.0.0 exposes IRIS to the network."),
))

CREDENTIALS = Table("credentials", "The account tests connect with.", (
    Field("username", "username", "_SYSTEM",
          "User the tests connect as. A name other than a predefined account is created."),
    Field("password", "password", "SYS",
          'Its password. Use interpolation to keep it out of the file: "${IRIS_PASSWORD:-SYS}". '
          "Never printed by irisenv."),
))

SERVICES = Table("services", "IRIS services to enable or disable.", (
    Field("callin", "bool", True,
          "%Service_CallIn (embedded Python, irispython, iris+emb://). Remote DB-API and JDBC "
          "use %Service_Bindings, which is on by default."),
))

NAMESPACE = Table("", "A namespace with its own databases.", (
    Field("pool", "int", 1,
          "How many isolated copies to keep for parallel tests (pooling is applied by a later "
          "release; the value is validated now).", minimum=1, maximum=32),
))

MONITORING = Table("monitoring", "^SystemPerformance policy for debugging (validated now; "
                   "applied by a later release).", (
    Field("enabled", "bool", True, "Collect ^SystemPerformance data while the instance runs."),
    Field("interval", "duration", "30s", "Sampling interval.", minimum=1, maximum=300),
    Field("retention", "duration", "1h", "How long collected data is kept.",
          minimum=300, maximum=86400),
    Field("cpu_disable", "int", 90, "Pause collection when container CPU use reaches this percent.",
          minimum=1, maximum=100),
    Field("cpu_enable", "int", 85, "Resume collection when CPU use falls below this percent.",
          minimum=0, maximum=99),
    Field("memory_disable", "int", 95, "Pause collection when memory use reaches this percent.",
          minimum=1, maximum=100),
    Field("memory_enable", "int", 90, "Resume collection when memory use falls below this percent.",
          minimum=0, maximum=99),
))

INSTANCE = Table("", "One IRIS container.", (
    Field("image", "str", DEFAULT_IMAGE, "Image reference (registry/name:tag or @digest)."),
    Field("edition", "enum", "community", "community, or enterprise (needs license_key).",
          choices=("community", "enterprise")),
    Field("license_key", "path", None,
          "Enterprise licence key file (iris.key); relative to the config file, ~ expanded. "
          "Copied into the container, never bind-mounted.", optional=True),
    Field("reuse", "enum", "matching",
          "matching: keep the container while its spec matches, replace it when it drifts; "
          "never: a fresh container every sync; always: keep it even when drifted (report drift).",
          choices=("matching", "never", "always")),
    Field("memory", "size", "2g", "Container memory limit."),
    Field("cpus", "float", None, "Container CPU limit (e.g. 2.0). Unset: no limit.",
          minimum=0.01, maximum=1024, optional=True),
    Field("globals", "size", "256m",
          "Pinned database cache (global buffers), whole megabytes, at least 8m. Without it "
          "IRIS sizes itself from host RAM.", minimum=8 * 1024**2),
    Field("routines", "size", "64m",
          "Pinned routine cache, whole megabytes, at least 27m (IRIS never has fewer than 430 "
          "64-KB routine buffers). Below 80m it is written in the six-value form, else IRIS "
          "would raise it to 80 MB.", minimum=27 * 1024**2),
    Field("storage", "enum", "ephemeral",
          "ephemeral: the container's own layer; tmpfs: data in RAM; volume: a named volume "
          "holding durable %SYS (ISC_DATA_DIRECTORY) that survives replacement.",
          choices=("ephemeral", "tmpfs", "volume")),
    Field("stop_timeout", "duration", "60s",
          "Grace period for IRIS to shut down before Docker kills it (Docker's default is 10s).",
          minimum=1, maximum=3600),
    Field("merge", "path", None,
          "Your own CPF merge file, applied after irisenv's; relative to the config file.",
          optional=True),
    Field("env", "env_map", {}, "Extra container environment variables."),
    PORTS,
    CREDENTIALS,
    SERVICES,
    Named("namespaces", "Namespaces to create, each with its own databases. USER always exists.",
          "namespace", NAMESPACE, default_keys=("USER",)),
    MONITORING,
))

PROJECT = Table("project", "The project these instances belong to.", (
    Field("name", "docker_name", None,
          "Project name; prefixes container names (<project>-<instance>). Default: the config "
          "file's directory name, sanitized.", optional=True),
))

ROOT = Table("", "iris-devtester.toml", (
    PROJECT,
    Named("instances", "The IRIS instances this project needs, one table each.", "instance",
          INSTANCE, default_keys=(DEFAULT_INSTANCE,)),
))

# Environment keys irisenv sets itself; a user's env table may not override them.
MANAGED_ENV = frozenset({"ISC_DATA_DIRECTORY", "ISC_CPF_MERGE_FILE", "ISC_PACKAGE_INSTANCENAME"})


def iter_fields(table: Table, prefix: tuple = ()):
    """Yield (path, Field) for every scalar key; named tables appear as '<name>' segments."""
    for item in table.fields:
        if isinstance(item, Field):
            yield prefix + (item.name,), item
        elif isinstance(item, Table):
            yield from iter_fields(item, prefix + (item.name,))
        elif isinstance(item, Named):
            placeholder = "<name>" if item.key_kind == "instance" else "<NAMESPACE>"
            yield from iter_fields(item.item, prefix + (item.name, placeholder))
