"""The desired container spec of each instance and its stable hash.

The hash covers what only a new container can change (image, resources, ports, storage,
environment, licence and merge-file contents, pinned caches). IRIS-level state
(credentials, services, namespaces, monitoring) is not in it: that is converged in place.
Keys at their default are omitted, so adding an optional key later does not recreate
everyone's containers. Changing what goes in, or how, bumps HASH_FORMAT.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from ..config.model import Config, Instance
from . import labels

# 1: the first release. 2: the first-boot merge pins routine caches below 80 MB in the
# six-value form (format 1 wrote a single value, which IRIS raises to 80 MB), so containers
# made under format 1 do not have the cache their spec says and are replaced once.
HASH_FORMAT = "2"

# Fields of the normalized spec with their defaults (omitted from the hash when default).
SPEC_DEFAULTS = {
    "edition": "community",
    "license_sha256": None,
    "memory": 2 * 1024**3,
    "cpus": None,
    "globals": 256 * 1024**2,
    "routines": 64 * 1024**2,
    "storage": "ephemeral",
    "superserver": "auto",
    "web": "auto",
    "host_ip": "127.0.0.1",
    "env": {},
    "merge_sha256": None,
}

CONTAINER_DIR = "/home/irisowner/irisenv"  # where irisenv copies its files, before start
MERGE_PATH = CONTAINER_DIR + "/merge.cpf"
KEY_PATH = CONTAINER_DIR + "/iris.key"
# The monitoring watcher's files (core/monitoring.py writes them, core/runspec.py's --after
# hook starts the watcher): container-local, owned by irisowner.
MONDIR = "/home/irisowner/irisenv-monitor"
DATA_DIR = "/irisenv-data/iris"  # ISC_DATA_DIRECTORY inside the named volume
VOLUME_MOUNT = "/irisenv-data"


def data_dir(storage: str) -> str | None:
    """ISC_DATA_DIRECTORY for a storage mode. The volume gets a subdirectory irisenv creates
    owned by irisowner (a fresh volume's root is root-owned); a tmpfs is mounted with
    uid/gid 51773, so its empty mount point serves directly."""
    return {"volume": DATA_DIR, "tmpfs": VOLUME_MOUNT}.get(storage)


def mgr_dir(storage: str) -> str:
    """The instance's mgr/ directory inside the container for a storage mode."""
    base = data_dir(storage)
    return f"{base}/mgr" if base else "/usr/irissys/mgr"
SUPERSERVER_PORT = 1972
WEB_PORT = 52773


def nano_cpus(cpus: float | None) -> int:
    """Docker's NanoCpus for a cpus value (0: no limit)."""
    return round(cpus * 1e9) if cpus else 0


@dataclass(frozen=True)
class DesiredContainer:
    project: str
    instance: str
    name: str
    image: str
    spec: dict  # normalized, defaults omitted (what the hash covers)
    hash: str
    stop_timeout: float
    reuse: str
    pull: str = "missing"  # the pull policy: missing | always | never (not in the hash)
    files: dict = field(default_factory=dict, repr=False)  # in-container path -> bytes
    project_dir: str = ""  # the checkout it is declared in (a label, for the port registry)
    config_file: str = ""  # the config file it is declared in ("": none; a label, for `ls`)
    # The host ports the port registry leased for its "auto" ports (kind -> port), set by
    # a sync (irisenv/registry.py): not part of the spec nor its hash, so a new lease is
    # never drift. Empty: Docker picks an "auto" port at each start.
    host_ports: dict = field(default_factory=dict)
    # ports.preferred: where a new "auto" lease starts looking (not in the hash either: a
    # hint for the next lease, not a setting of the container)
    preferred: int | None = None
    spares: int = 0  # warm spares wanted (not in the hash: a spare count is no container setting)

    @property
    def labels(self) -> dict:
        out = {
            labels.MANAGED_BY: labels.MANAGED_BY_VALUE,
            labels.PROJECT: self.project,
            labels.INSTANCE: self.instance,
            labels.CONFIG_HASH: self.hash,
            labels.HASH_FORMAT: HASH_FORMAT,
            labels.SPEC: canonical(self.spec),
        }
        if self.project_dir:
            out[labels.PROJECT_DIR] = self.project_dir
        if self.config_file:
            out[labels.CONFIG_FILE] = self.config_file
        if self.host_ports:
            out[labels.PORTS] = canonical(self.host_ports)
        return out

    def full_spec(self) -> dict:
        """The spec with every default filled in (for display and for creating)."""
        return {**SPEC_DEFAULTS, **self.spec, "image": self.image}


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def spec_hash(spec: dict) -> str:
    return hashlib.sha256(canonical({"format": HASH_FORMAT, "spec": spec}).encode()).hexdigest()


def normalize(inst: Instance, license_bytes: bytes | None, merge_bytes: bytes | None) -> dict:
    full = {
        "image": inst.image,
        "edition": inst.edition,
        "license_sha256": hashlib.sha256(license_bytes).hexdigest() if license_bytes else None,
        "memory": inst.memory,
        "cpus": inst.cpus,
        "globals": inst.globals,
        "routines": inst.routines,
        "storage": inst.storage,
        "superserver": inst.ports.superserver,
        "web": inst.ports.web,
        "host_ip": inst.ports.host_ip,
        "env": dict(sorted(inst.env.items())),
        "merge_sha256": hashlib.sha256(merge_bytes).hexdigest() if merge_bytes else None,
    }
    return {k: v for k, v in full.items() if k == "image" or SPEC_DEFAULTS.get(k) != v}


def desired_container(config: Config, inst: Instance, *, license_bytes: bytes | None = None,
                      merge_bytes: bytes | None = None, first_boot_merge: bytes = b"") -> DesiredContainer:
    spec = normalize(inst, license_bytes, merge_bytes)
    files = {MERGE_PATH: first_boot_merge}
    if license_bytes:
        files[KEY_PATH] = license_bytes
    return DesiredContainer(
        project=config.project, instance=inst.name,
        name=labels.container_name(config.project, inst.name), image=inst.image, spec=spec,
        hash=spec_hash(spec), stop_timeout=inst.stop_timeout, reuse=inst.reuse, pull=inst.pull,
        files=files, project_dir=str(config.base_dir), preferred=inst.ports.preferred,
        spares=inst.spares or 0,
        config_file=str(config.path) if config.path else "")


def diff_specs(old: dict | None, new: dict) -> list[tuple[str, object, object]]:
    """Field-level differences between two normalized specs, defaults filled in."""
    if old is None:
        return [("spec", "(unknown: created by another irisenv version)", "(current)")]
    a = {**SPEC_DEFAULTS, **old}
    b = {**SPEC_DEFAULTS, **new}
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
