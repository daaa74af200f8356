"""Docker labels: the state store (as compose does). A container or volume without
``io.irisenv.managed-by=irisenv`` is never modified or removed by irisenv."""
from __future__ import annotations

PREFIX = "io.irisenv."
MANAGED_BY = PREFIX + "managed-by"
MANAGED_BY_VALUE = "irisenv"
PROJECT = PREFIX + "project"
INSTANCE = PREFIX + "instance"
CONFIG_HASH = PREFIX + "config-hash"
HASH_FORMAT = PREFIX + "hash-format"
SPEC = PREFIX + "spec"  # the normalized spec as JSON, for field-level diffs
VERSION = PREFIX + "version"
CONFIG_FILE = PREFIX + "config-file"  # the config file that declared it (`irisenv ls`); not hashed
PROJECT_DIR = PREFIX + "project-dir"  # the checkout that made the container (the port registry's)
PORTS = PREFIX + "ports"  # {"superserver": 41972, ...}: the host ports the port registry leased
# "spare": made as a warm spare (docs/spares.md). Docker labels cannot change, so a promoted
# spare keeps it: the name tells what a container is now (<project>-<instance>: the instance).
ROLE = PREFIX + "role"
SPARE = "spare"


def is_ours(labels: dict | None) -> bool:
    return bool(labels) and labels.get(MANAGED_BY) == MANAGED_BY_VALUE


def project_filter(project: str) -> list[str]:
    return [f"{MANAGED_BY}={MANAGED_BY_VALUE}", f"{PROJECT}={project}"]


def container_name(project: str, instance: str) -> str:
    return f"{project}-{instance}"


def temp_name(project: str, instance: str) -> str:
    """The name a replacement is created under before the old container goes away."""
    return f"{project}-{instance}-irisenv-new"


def spare_name(project: str, instance: str, slot: int) -> str:
    """A warm spare's name until it is promoted (renamed to container_name)."""
    return f"{project}-{instance}-spare-{slot}"


def volume_name(project: str, instance: str) -> str:
    return f"{project}-{instance}-data"


def volume_labels(project: str, instance: str) -> dict:
    return {MANAGED_BY: MANAGED_BY_VALUE, PROJECT: project, INSTANCE: instance}
