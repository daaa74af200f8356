"""The engine boundary: everything irisenv asks of a container engine, in one place.

A backend implements :class:`Engine`. Today there is one, ``engine/docker.py`` (a local
Docker engine, or a remote one over tcp:// or ssh:// - the same backend at another
endpoint). A second backend (Kubernetes, another runtime) implements the methods below and
returns the records below; callers (project.py, apply.py, iris/, cli/) use nothing else:
no backend client, no raw inspect JSON.

Errors. Every method raises only irisenv's errors (irisenv/errors.py), never a backend
library's:

- ``TransientError``: the engine did not answer or answered 5xx; worth retrying.
- ``ConflictError``: a name is taken, or another operation on the object is in progress.
- ``PortInUseError``: a host port could not be published (``start``).
- ``RefusedError``: the engine refused a value irisenv took from the config (image
  reference, cpus, memory); ``key`` names it.
- ``RegistryError``: an image's registry did not serve it (``registry_digest``, ``pull``);
  ``reason`` says how: "unreachable", "missing" or "denied".
- ``IrisenvError``: anything else, terminal (what / why / fix).

Retries. A backend does not retry. ``open_engine()`` (engine/__init__.py) wraps it in
engine/retry.py, which retries ``TransientError`` (bounded) for the methods in
:data:`RETRIED`, and only those: each is safe to repeat after a fault whose outcome is
unknown (it is idempotent, or its repetition fails in a way the caller handles).

Threads. One engine object is shared by the executor's threads and the probe pool: every
method is safe to call concurrently, and a per-call timeout never leaks into other calls.

This module is cheap to import (no backend library). The records that are also part of
the pure core live there: what callers read (:class:`ObservedContainer`, :class:`Actual`,
core/observed.py) and what they hand in (:class:`RunSpec`, :class:`Files`,
core/runspec.py, which also holds the IRIS knowledge that fills them).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..core.observed import Actual, ObservedContainer

if TYPE_CHECKING:  # imported when a container is made, not on every plan
    from ..core.runspec import Files, RunSpec

__all__ = ["RETRIED", "Actual", "ContainerState", "Engine", "EngineInfo", "ExecResult",
           "LockRecord", "LogStream", "ObservedContainer"]


@dataclass(frozen=True)
class ContainerState:
    """A container's run state (``docker inspect``'s State)."""

    status: str  # created | running | paused | restarting | removing | exited | dead
    running: bool
    exit_code: int | None = None  # of the last run; None: never ran
    started_at: float | None = None  # epoch seconds the current (or last) run started; None: never
    health: str | None = None  # starting | healthy | unhealthy; None: the image has no healthcheck
    # epoch seconds the previous run ended (a running container's last stop); None: no run
    # ended yet. The current run's log is what came after it.
    finished_at: float | None = None


@dataclass(frozen=True)
class EngineInfo:
    """Which engine answers, for `irisenv doctor`."""

    product: str  # e.g. "Docker"
    version: str
    api_version: str
    endpoint: str
    os: str = ""
    arch: str = ""
    source: str = ""  # where the endpoint was chosen: "DOCKER_HOST", "[project] engine", ...


@dataclass(frozen=True)
class ExecResult:
    exit_code: int  # -1: unknown (the engine did not report one)
    stdout: str
    stderr: str


@dataclass(frozen=True)
class LockRecord:
    """An engine-side lock object (irisenv/enginelock.py): its ID and its labels (who
    holds it, until when)."""

    id: str
    name: str
    labels: Mapping[str, str]


class LogStream(Iterable[bytes], Protocol):
    """A container's output as raw byte chunks (lines may span chunks); close() ends a
    followed stream from another thread."""

    def close(self) -> None: ...


# Methods the retry layer repeats on TransientError (see "Retries" above).
RETRIED = frozenset({
    "list_project", "list_managed", "published_ports", "find_by_name", "image_id",
    "image_digests", "registry_digest", "volumes",
    "create_volume", "create", "put_files", "get_files", "start", "unpause", "stop",
    "remove", "rename", "attach", "remove_volume", "create_lock", "read_lock", "remove_lock",
})


@runtime_checkable
class Engine(Protocol):
    """What irisenv needs from a container engine. Methods are grouped as observe / act /
    read / exec; each docstring states its contract. "Retried" marks the methods in
    :data:`RETRIED`."""

    @property
    def endpoint(self) -> str:
        """Where the engine answers, as a URL (``unix:///var/run/docker.sock``,
        ``tcp://host:2376``...): the key of the project lock and of run markers, and how
        `irisenv env` tells a remote engine (whose ports are on another host)."""
        ...

    def close(self) -> None:
        """Release the connection. The object is not used afterwards."""
        ...

    # ------------------------------------------------------------------ observe
    def info(self) -> EngineInfo:
        """Product, version and platform of the engine. Not retried."""
        ...

    def list_project(self, project: str) -> list[ObservedContainer]:
        """Every container (any state) labelled as irisenv's for ``project``. Retried."""
        ...

    def list_managed(self) -> list[ObservedContainer]:
        """Every container (any state, any project) labelled as irisenv's: what the port
        registry rebuilds from and judges its entries by. Retried."""
        ...

    def published_ports(self) -> set[int]:
        """The host ports every running container on the engine publishes now, whoever
        made it: ports the port registry must not hand out. Retried."""
        ...

    def find_by_name(self, name: str) -> ObservedContainer | None:
        """The container named exactly ``name`` (whoever made it), or None. Retried."""
        ...

    def image_id(self, ref: str) -> str | None:
        """The local image ID of ``ref``, or None when it is not present locally.
        Raises RefusedError (key "image", value ``ref``) for a reference the engine
        rejects. Retried."""
        ...

    def image_digests(self, ref: str) -> tuple[str, ...]:
        """The manifest digests (``sha256:...``) the local image ``ref`` was pulled or
        pushed by (``docker inspect``'s RepoDigests, the part after "@"); () when it is
        not present, or was only built or loaded here. Retried."""
        ...

    def registry_digest(self, ref: str) -> str:
        """The manifest digest the registry holds behind ``ref``'s tag (``sha256:...``),
        asked of the registry through the engine with the engine's credentials: one
        round trip, nothing downloaded. Raises RegistryError (reason "unreachable",
        "missing" or "denied") when the registry does not serve it, RefusedError for a
        reference the engine rejects. Retried (a read; a RegistryError is terminal)."""
        ...

    def volumes(self, project: str) -> list[str]:
        """Names of the volumes labelled as irisenv's for ``project``. Retried."""
        ...

    def actual(self, container_id: str) -> Actual:
        """The container's real resources, port bindings and mounts. Not retried (a
        caller treats a failure as "not inspected")."""
        ...

    def state(self, container_id: str) -> ContainerState:
        """The container's run state. Not retried (the readiness ladder asks again)."""
        ...

    def memory_usage(self, container_id: str) -> int | None:
        """The running container's memory use in bytes as `docker stats` shows it (usage
        less the inactive page cache); None when it is not running or the engine reports
        none. Slow: Docker samples for about a second per call (call them concurrently).
        Not retried (`irisenv ls --stats` shows what it got)."""
        ...

    # ------------------------------------------------------------------ act
    def pull(self, ref: str, on_progress: Callable[[dict], None] | None = None) -> None:
        """Pull ``ref``; ``on_progress`` hears the engine's progress events (dicts with
        "status", "progress"). Raises RefusedError for a reference the engine rejects,
        RegistryError when the registry does not serve it (as registry_digest), else
        IrisenvError when it cannot be pulled. Not retried (a pull is long and resumes by
        itself when run again)."""
        ...

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        """Create the named volume ``name`` with ``labels``; an existing one is kept
        (idempotent). Retried."""
        ...

    def create(self, spec: RunSpec) -> str:
        """Create (not start) the container ``spec`` describes; its ID (on no network when
        ``spec.detached``: see attach). The volumes in
        ``spec.volumes`` exist already (create_volume); ``spec.files`` are not copied here
        (the caller does, with put_files, before start). Raises ConflictError when
        ``spec.name`` is taken (the caller adopts or clears it), RefusedError for a value
        the engine refuses (key "image": ``value`` is ``spec.image``). Retried: a create
        whose answer was lost fails again with ConflictError."""
        ...

    def put_files(self, container_id: str, files: Files) -> None:
        """Write ``files`` into a container, created or running (the contract of
        :class:`Files`: modes 0600 / 0700, owned by ``files.owner``), replacing existing
        ones; ``files.dirs`` are made too. Idempotent. Retried."""
        ...

    def get_files(self, container_id: str, path: str, dest: str) -> list[str]:
        """Copy the file or directory ``path`` out of the container (created, running or
        stopped) into the local directory ``dest`` (made when missing), streamed, so a
        large file never sits in memory. Only directories and regular files are written,
        each inside ``dest`` (files mode 0600, replacing existing ones); a link or a special
        file in ``path`` raises IrisenvError. Returns the paths of the files written,
        relative to ``dest`` (a single file: its base name). Raises IrisenvError when
        ``path`` does not exist. Retried (a read: a repeat writes the same files again)."""
        ...

    def start(self, container_id: str) -> None:
        """Start a created or stopped container (a running one: no-op). Raises
        PortInUseError when a host port cannot be published. Retried."""
        ...

    def unpause(self, container_id: str) -> None:
        """Resume a paused container. Retried."""
        ...

    def stop(self, container_id: str, timeout: float | None = None) -> None:
        """Stop gracefully: SIGTERM, then SIGKILL after ``timeout`` seconds (None: the
        container's own stop timeout, set at create). Returns once stopped; a stopped
        container is fine. Retried."""
        ...

    def remove(self, container_id: str) -> None:
        """Remove the container (forcibly, running or not), keeping its named volumes. A
        container already gone or being removed is fine (idempotent). Retried."""
        ...

    def rename(self, container_id: str, name: str) -> None:
        """Rename the container. Raises ConflictError when ``name`` is taken. Retried."""
        ...

    def attach(self, container_id: str) -> None:
        """Attach a container made detached (RunSpec.detached) to the engine's default
        network, which publishes its port bindings, running or not (a spare's promotion).
        One attached already: no-op. Raises PortInUseError when a host port cannot be
        published. Retried."""
        ...

    def remove_volume(self, name: str) -> None:
        """Remove the named volume; one already gone is fine (idempotent). Retried."""
        ...

    # ------------------------------------------------------------------ locks
    def create_lock(self, name: str, labels: Mapping[str, str]) -> str:
        """Create the lock object ``name`` with ``labels``; its ID. The engine keeps the
        name unique among its objects of that kind, atomically: when the name is taken,
        raises ConflictError (the caller reads the holder with read_lock). The object runs
        nothing and holds nothing; it lives until remove_lock (a Docker backend: a
        container that is never started). Retried: a create whose answer was lost fails
        again with ConflictError, and the caller recognises its own labels."""
        ...

    def read_lock(self, name: str) -> LockRecord | None:
        """The lock object ``name`` (its ID and labels), or None when there is none.
        Retried."""
        ...

    def remove_lock(self, lock_id: str) -> None:
        """Remove the lock object ``lock_id``, by ID: one made anew under the same name
        meanwhile is not touched. One already gone is fine (idempotent). Retried."""
        ...

    # ------------------------------------------------------------------ read
    def log_lines(self, container_id: str, follow: bool = True,
                  tail: str | int = "all") -> Iterator[str]:
        """The container's output as decoded lines; with ``follow``, until it stops.
        Not retried (a stream)."""
        ...

    def logs_stream(self, container_id: str, follow: bool = True, tail: str | int = "all",
                    since: float | None = None) -> LogStream:
        """The container's raw output from ``since`` (epoch seconds; None: all), for the
        readiness watcher. Not retried (a stream)."""
        ...

    def logs_tail(self, container_id: str, lines: int = 20) -> str:
        """The last ``lines`` lines of output, for error messages; "" when they cannot be
        read (never raises)."""
        ...

    # ------------------------------------------------------------------ exec
    def exec(self, container_id: str, cmd: list[str], *, stdin: bytes | None = None,
             env: dict | None = None, user: str | None = None,
             timeout: float = 60) -> ExecResult:
        """Run ``cmd`` in the running container, as ``user`` (None: the image's), with
        ``env`` added; ``stdin``, if given, is written then closed. Returns once the command
        ends, with its exit code and its output (stdout and stderr apart). Raises
        TransientError when it has not ended within ``timeout`` seconds (the command may go
        on in the container); the bound is this call's alone. Not retried (a command need
        not be idempotent)."""
        ...
