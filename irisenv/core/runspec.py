"""What an engine is asked to run, as neutral data, and how an instance's desired container
becomes that. Pure.

:class:`RunSpec` and :class:`Files` say nothing about Docker or IRIS: a backend
(engine/docker.py) only translates them into its own calls. The IRIS knowledge lives here,
in :func:`run_spec`: the arguments for the image's entrypoint (iris-main), the environment
IRIS reads at start, the files irisenv copies in and the user that must own them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import labels as L
from .desired import (DATA_DIR, KEY_PATH, MERGE_PATH, MONDIR, SUPERSERVER_PORT, VOLUME_MOUNT, WEB_PORT,
                      DesiredContainer, data_dir, nano_cpus)

# The monitoring watcher (irisenv/iris/watch.sh). Sync installs it in MONDIR; iris-main's
# --after starts it.
WATCH_SCRIPT = MONDIR + "/watch.sh"
# iris-main runs its --after command through a shell once IRIS has started, and again on every
# `docker start` of the container (docs/learnings/monitoring-watcher.md, "Starting with the
# container"). This one starts the watcher if sync has installed it and always succeeds: it
# returns at once (the watcher detaches), a container without the file starts as before, and
# its own `sh -c` keeps `exit` away from a wrapper that evals --after commands in its own
# shell (the intersystemsdc images' docker-entrypoint.sh, under `set -e`).
AFTER_WATCH = f"sh -c '[ -f {WATCH_SCRIPT} ] && sh {WATCH_SCRIPT} start; exit 0'"

# irisowner, UID and GID 51773 in every IRIS image (docs/learnings/container.md, "Layout
# inside the image"): what irisenv copies in, and the durable %SYS directory, must be its.
IRIS_UID = 51773


@dataclass(frozen=True)
class Files:
    """Files to put into a container: each written mode 0600 and its directory (made when
    missing) mode 0700, all owned by ``owner`` (UID and GID)."""

    contents: Mapping[str, bytes] = field(default_factory=dict)  # absolute path -> bytes
    owner: int = 0
    dirs: tuple[str, ...] = ()  # empty directories to make as well (absolute paths)


@dataclass(frozen=True)
class PortBinding:
    container_port: int  # TCP
    host_ip: str
    host_port: int | None  # None: the engine picks a free port at each start


@dataclass(frozen=True)
class VolumeMount:
    volume: str  # a named volume, made (idempotently) before the container
    target: str  # the mount point in the container
    labels: Mapping[str, str] = field(default_factory=dict)  # the volume's labels


@dataclass(frozen=True)
class RunSpec:
    """One container, as the engine is to create it. ``files`` go in after create and
    before start (engine.put_files), so a failed copy never leaves a started container."""

    name: str
    image: str
    command: tuple[str, ...]  # arguments to the image's entrypoint
    env: Mapping[str, str]
    labels: Mapping[str, str]
    ports: tuple[PortBinding, ...] = ()
    memory: int | None = None  # bytes; None: no limit
    nano_cpus: int = 0  # 1e9 per CPU; 0: no limit
    volumes: tuple[VolumeMount, ...] = ()
    tmpfs: Mapping[str, str] = field(default_factory=dict)  # mount point -> mount options
    stop_timeout: int = 10  # seconds from SIGTERM to SIGKILL when stopped without a timeout
    files: Files = Files()
    # on no network until engine.attach(): a warm spare, which publishes its ports (the
    # instance's own) only once promoted (docs/spares.md)
    detached: bool = False


def iris_files(contents: Mapping[str, bytes], dirs: tuple[str, ...] = ()) -> Files:
    """Files for IRIS to read (or a directory for it to write), owned by irisowner."""
    return Files(contents=dict(contents), owner=IRIS_UID, dirs=dirs)


def run_spec(d: DesiredContainer, name: str, *, spare: bool = False) -> RunSpec:
    """The container for ``d``, created under ``name`` (its own, or the temporary name of a
    replacement); a ``spare`` is labelled so, and made detached from every network."""
    spec = d.full_spec()
    ip = spec["host_ip"]
    ports = [PortBinding(SUPERSERVER_PORT, ip, _host_port(spec, d.host_ports, "superserver"))]
    if spec["web"] is not False:
        ports.append(PortBinding(WEB_PORT, ip, _host_port(spec, d.host_ports, "web")))
    # IRIS merges this file before the instance starts (ISC_CPF_MERGE_FILE)
    env = {**spec["env"], "ISC_CPF_MERGE_FILE": MERGE_PATH}
    volumes: tuple = ()
    tmpfs: dict = {}
    dirs: tuple = ()
    if spec["storage"] == "volume":  # durable %SYS (ISC_DATA_DIRECTORY) in a named volume
        volumes = (VolumeMount(L.volume_name(d.project, d.instance), VOLUME_MOUNT,
                               L.volume_labels(d.project, d.instance)),)
        env["ISC_DATA_DIRECTORY"] = data_dir("volume")
        dirs = (DATA_DIR,)  # a fresh volume's root belongs to root: IRIS needs its own
    elif spec["storage"] == "tmpfs":
        tmpfs = {VOLUME_MOUNT: f"uid={IRIS_UID},gid={IRIS_UID},mode=0700"}
        env["ISC_DATA_DIRECTORY"] = data_dir("tmpfs")
    # iris-main's options (docs/learnings/container.md, "The entrypoint: iris-main"): skip
    # the capability check, no ISC Agent (mirroring); --key copies the licence into mgr/;
    # --after starts the monitoring watcher on every start. The command is not in the spec
    # hash (core/desired.py), so a container made before the hook existed is not replaced
    # for it: sync starts its watcher (until a restart) and a replacement gets the hook.
    command = ["--check-caps", "false", "--ISCAgent", "false", "--after", AFTER_WATCH]
    if spec["license_sha256"]:
        command += ["--key", KEY_PATH]
    labels = {**d.labels, L.ROLE: L.SPARE} if spare else d.labels
    return RunSpec(name=name, image=d.image, command=tuple(command), env=env, labels=labels,
                   ports=tuple(ports), memory=spec["memory"], nano_cpus=nano_cpus(spec["cpus"]),
                   volumes=volumes, tmpfs=tmpfs, stop_timeout=int(d.stop_timeout),
                   files=iris_files(d.files, dirs), detached=spare)


def _host_port(spec: dict, leased: Mapping[str, int], kind: str) -> int | None:
    """A fixed port; the port registry's lease for "auto"; None (Docker picks at each
    start) for 0, or an "auto" without a lease."""
    value = spec[kind]
    if value == "auto":
        return leased.get(kind)
    return None if value == 0 else int(value)
