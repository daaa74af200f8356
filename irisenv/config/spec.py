"""The declared config keys: the single source of truth for defaults, types, docs and schema.

Each key is declared once, as a Field: its name, its kind (an object from kinds.py that
owns the validation, the display, `config set`'s parsing and the JSON Schema), its default
as the file would write it, and its doc. Everything else follows from this tree: the
loader (load.py) validates by it and builds the typed records of model.py, which are
derived from it (one attribute per key, in this order, defaulting to the key's default);
the JSON Schema (schema.py), `config show` (view.py) and `config set` (edit.py) read it.

Adding a key:
  1. add a Field to its Table here, with a kind from kinds.py (or a new Kind class there);
  2. document it in docs/config.md and irisenv/config/reference.toml (unit tests fail
     while a declared key is missing from either);
  3. regenerate the schema: irisenv config schema -o schemas/iris-devtester.schema.json
     (a unit test fails while it is stale).
A rule between keys (memory against globals + routines, ...) goes into load.py's
cross_field. A new sub-table is a Table here and one decorated class in model.py that
names its record.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..names import POOL_MAX
from .kinds import (Bool, Duration, EngineEndpoint, Enum, EnvMap, FilePath, Float, HostIp, Image,
                    InitList, InstanceName, Int, NamespaceName, Password, Pool, Port, PortRange, ProjectName,
                    Size, UserName, WebPort)

DEFAULT_IMAGE = "containers.intersystems.com/intersystems/iris-community:latest-em"
DEFAULT_INSTANCE = "iris"
CONFIG_FILENAME = "iris-devtester.toml"

# Environment keys irisenv sets itself; a user's env table may not override them.
MANAGED_ENV = frozenset({"ISC_DATA_DIRECTORY", "ISC_CPF_MERGE_FILE", "ISC_PACKAGE_INSTANCENAME"})


class Field(NamedTuple):
    name: str
    kind: Any  # a kinds.Kind
    default: Any  # as the file writes it ("30s"); None: unset
    doc: str
    optional: bool = False  # default None means "unset" (documented as such)
    env: str | None = None  # an environment variable that gives the value when the file does not


class Table(NamedTuple):
    name: str
    doc: str
    fields: tuple = ()


class Named(NamedTuple):
    """A table of user-named sub-tables: [instances.<name>] or [...namespaces.<NAME>]."""

    name: str
    doc: str
    key_kind: Any  # kinds.InstanceName | kinds.NamespaceName: checks the names
    item: Table = Table("", "")
    default_keys: tuple = ()
    min_items: int = 0


PORTS = Table("ports", "Host ports the instance's services are published on.", (
    Field("superserver", Port(), "auto",
          'Host port for the superserver (1972 in the container): "auto" (a stable port from '
          "the per-user port registry, the same across restarts and replacements), 0 (Docker "
          "assigns a free port at each start) or 1..65535."),
    Field("web", WebPort(), "auto",
          'Host port for the private web server (52773 in the container): "auto", 0, 1..65535, '
          "or false to not publish it."),
    Field("host_ip", HostIp(), "127.0.0.1",
          "Host address the ports bind to, on the engine's host. Loopback by default; 0.0.0.0 "
          'exposes IRIS to the network; "engine-host": the address this machine reaches the '
          "engine's host at (127.0.0.1 for a local engine), for a remote engine."),
    Field("preferred", Int(1, 65535), None,
          'The port "auto" tries first for the superserver (the web port tries the next one) '
          "when it leases a new one; taken, the [ports] range is used. Unset: the range only.",
          optional=True),
))

PORT_REGISTRY = Table("ports", "Where \"auto\" ports come from: the per-user port registry.", (
    Field("range", PortRange(), "41972-42971",
          'Host ports "auto" leases new ports from, "FIRST-LAST". Without this key: '
          "$IRISENV_PORT_RANGE, else the default.", env="IRISENV_PORT_RANGE"),
))

CREDENTIALS = Table("credentials", "The account tests connect with.", (
    Field("username", UserName(), "_SYSTEM",
          "User the tests connect as. A name other than a predefined account is created."),
    Field("password", Password(), "SYS",
          'Its password. Use interpolation to keep it out of the file: "${IRIS_PASSWORD:-SYS}". '
          "Never printed by irisenv."),
))

SERVICES = Table("services", "IRIS services to enable or disable.", (
    Field("callin", Bool(), True,
          "%Service_CallIn (embedded Python, irispython, iris+emb://). Remote DB-API and JDBC "
          "use %Service_Bindings, which is on by default."),
))

NAMESPACE = Table("", "A namespace with its own databases.", (
    Field("pool", Pool(POOL_MAX), None,
          "Copies of this namespace kept for tests, each a clean namespace <NS>_P1, <NS>_P2, "
          "... with its own data database, starting from the namespace's initialised data: "
          "a number N, or { min = N, max = M } (N kept ready, grown up to M on demand); "
          f"1 .. {POOL_MAX}. Unset: no pool. Not on USER. Validated now; the copies are "
          "made by a later release.", optional=True),
    Field("init", InitList(), [],
          "What the namespace is initialised with, in order, inside IRIS: paths relative to "
          "the config file (a directory of .cls .mac .inc .int .xml files, loaded and "
          "compiled; a .cls .mac .inc .int .xml file; a .sql script; a .gof globals export) "
          "and { run = \"##class(App.Setup).Run()\" } (its %Status checked); first, "
          "optionally, { fixture = \"fixtures/app\" } (a database fixture whose IRIS.DAT "
          "replaces the namespace's data database). Re-applied, "
          "after a reset of the namespace's databases, only when the content changes."),
))

MONITORING = Table("monitoring", "^SystemPerformance collection kept running by IRIS's Task "
                   "Manager, suspended while the container is busy.", (
    Field("enabled", Bool(), True,
          "Collect ^SystemPerformance data while the instance runs: sync defines a profile "
          "and a Task Manager task and installs the watcher; false removes what irisenv made "
          "(IRISENV_MONITORING=off does the same for one run)."),
    Field("interval", Duration(1, 300), "30s",
          "Sampling interval of the ^SystemPerformance profile."),
    Field("retention", Duration(300, 86400), "1h",
          "How long collected data is kept: runs of min(retention, 1h) follow each other, "
          "and report files older than retention plus one run are deleted."),
    Field("cpu_disable", Int(1, 100), 90,
          "Suspend collection when the container's CPU use reaches this percent."),
    Field("cpu_enable", Int(0, 99), 85,
          "Resume collection when CPU use is below this percent (and memory below memory_enable)."),
    Field("memory_disable", Int(1, 100), 95,
          "Suspend collection when the container's memory use reaches this percent."),
    Field("memory_enable", Int(0, 99), 90,
          "Resume collection when memory use is below this percent (and CPU below cpu_enable)."),
))

INSTANCE = Table("", "One IRIS container.", (
    Field("image", Image(), DEFAULT_IMAGE, "Image reference (registry/name:tag or @digest)."),
    Field("edition", Enum(("community", "enterprise")), "community",
          "community, or enterprise (needs license_key)."),
    Field("license_key", FilePath(), None,
          "Enterprise licence key file (iris.key); relative to the config file, ~ expanded. "
          "Copied into the container, never bind-mounted.", optional=True),
    Field("reuse", Enum(("matching", "never", "always")), "matching",
          "matching: keep the container while its spec matches, replace it when it drifts; "
          "never: a fresh container every sync; always: keep it even when drifted (report drift)."),
    Field("spares", Int(0, 8), 0,
          "Warm spare containers booted ahead with the same spec, so that a sync under reuse = "
          "\"never\" swaps a ready one in instead of waiting for a boot. Each "
          "costs a running IRIS's memory. Needs reuse = \"never\" and storage other than "
          "\"volume\"."),
    Field("pull", Enum(("missing", "always", "never")), "missing",
          "When sync pulls the image. missing: only when it is not on the engine; always: "
          "also when the registry has a newer image behind the tag (one registry round trip "
          "per sync; a moved tag replaces the container); never: never (an absent image is "
          "an error)."),
    Field("memory", Size(), "2g", "Container memory limit."),
    Field("cpus", Float(0.01, 1024), None, "Container CPU limit (e.g. 2.0). Unset: no limit.",
          optional=True),
    Field("globals", Size(8 * 1024**2), "256m",
          "Pinned database cache (global buffers), whole megabytes, at least 8m. Without it "
          "IRIS sizes itself from host RAM."),
    Field("routines", Size(27 * 1024**2), "64m",
          "Pinned routine cache, whole megabytes, at least 27m (IRIS never has fewer than 430 "
          "64-KB routine buffers). Below 80m it is written in the six-value form, else IRIS "
          "would raise it to 80 MB."),
    Field("storage", Enum(("ephemeral", "tmpfs", "volume")), "ephemeral",
          "ephemeral: the container's own layer; tmpfs: data in RAM; volume: a named volume "
          "holding durable %SYS (ISC_DATA_DIRECTORY) that survives replacement."),
    Field("stop_timeout", Duration(1, 3600), "60s",
          "Grace period for IRIS to shut down before Docker kills it (Docker's default is 10s)."),
    Field("merge", FilePath(), None,
          "Your own CPF merge file, applied after irisenv's; relative to the config file.",
          optional=True),
    Field("env", EnvMap(MANAGED_ENV), {}, "Extra container environment variables."),
    PORTS,
    CREDENTIALS,
    SERVICES,
    Named("namespaces", "Namespaces to create, each with its own databases. USER always exists.",
          NamespaceName(), NAMESPACE, default_keys=("USER",)),
    MONITORING,
))

PROJECT = Table("project", "The project these instances belong to.", (
    Field("name", ProjectName(), None,
          "Project name; prefixes container names (<project>-<instance>). Default: the config "
          "file's directory name, sanitized.", optional=True),
    Field("engine", EngineEndpoint(), None,
          "The Docker engine for this project: an endpoint URL (unix://, tcp://, ssh://, "
          "npipe://) or a docker context's name. DOCKER_HOST and DOCKER_CONTEXT override it; "
          "unset: the current docker context, else the local socket.", optional=True),
))

ROOT = Table("", "iris-devtester.toml", (
    PROJECT,
    PORT_REGISTRY,
    Named("instances", "The IRIS instances this project needs, one table each.", InstanceName(),
          INSTANCE, default_keys=(DEFAULT_INSTANCE,), min_items=1),
))


def iter_fields(table: Table, prefix: tuple = ()):
    """Yield (path, Field) for every scalar key; named tables appear as '<name>' segments."""
    for item in table.fields:
        if isinstance(item, Field):
            yield prefix + (item.name,), item
        elif isinstance(item, Table):
            yield from iter_fields(item, prefix + (item.name,))
        elif isinstance(item, Named):
            yield from iter_fields(item.item, prefix + (item.name, item.key_kind.placeholder))
