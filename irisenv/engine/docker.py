"""The Docker backend of the engine boundary (engine/base.py), and the one module that
imports docker. A thin adapter over docker-py's low-level APIClient: each method is one
engine call (or a short fixed sequence), a RunSpec is translated as it is (no decisions,
no IRIS knowledge), and errors are classified into transient (retry) and terminal (what /
why / how-to-fix). One object is shared by threads: no call changes the client's state.

Two clients, one set of methods. On a local unix socket (the default, and any
``unix://`` DOCKER_HOST or context) the calls of the hot paths (observe and exec; create,
copy, start, the log and remove: docker_unix.SERVES) go to engine/docker_unix.py, plain HTTP over
the socket, so that neither a no-op plan, sync or status nor a cold sync imports docker-py
(docker, requests, urllib3: more time than a no-op spends otherwise). docker-py is
imported, and its client made, when a call needs it: stop, rename, pull... and
every call on any other endpoint (TCP+TLS, ssh, npipe), or on a client handed in. Both clients take the same method names and arguments,
so each method below is written once.

The API version is pinned (API_VERSION), not asked of the engine at every start (docker-py's
``version="auto"`` is a ``GET /version`` round trip before the first call). An engine that
refuses it ("client version 1.44 is too new. Maximum supported API version is 1.41", from
an engine older than Docker 25) is spoken to at the version it names, the one docker-py's
"auto" would have used; one that finds it "too old" (none does yet) is asked its version.
The call is then repeated.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from ..core import labels as L
from ..core.observed import Actual, ObservedContainer
from ..errors import (ConflictError, IrisenvError, PortInUseError, RefusedError, RegistryError,
                      TransientError)
from . import docker_unix
from .base import ContainerState, EngineInfo, ExecResult, LockRecord

if TYPE_CHECKING:  # core/runspec.py is imported when a container is made, not on every plan
    from ..core.runspec import Files, RunSpec

DOCKER_STOP_TIMEOUT = 10  # seconds, Docker's grace period for a container that sets none
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
DEFAULT_NETWORK = "bridge"  # what NetworkMode "default" is on Linux and Docker Desktop
# The engine-side lock (irisenv/enginelock.py) is a container of this image that is never
# started: an empty image (no files), made on the engine when first needed.
LOCK_IMAGE = "irisenv-lock:1"
LOCK_COMMAND = "/irisenv-lock"  # never run: a container needs a command to be created
# The API version irisenv speaks without asking: docker-py's own default (7.x), which
# Docker Engine 25 to 29 accept (29 refuses anything older: its minimum is 1.44). irisenv
# needs 1.30 (Mounts; NanoCpus, Init, StopTimeout and exec's Env are 1.25).
API_VERSION = "1.44"
_VERSION_REFUSED = re.compile(r"client version [\d.]+ is too (new|old)", re.I)
_NEWEST = re.compile(r"too new\. Maximum supported API version is (\d+\.\d+)", re.I)


class Choice(NamedTuple):
    """The engine chosen: the client's base URL (None: docker-py's default), the endpoint
    as shown, where the choice came from, and the TLS settings of a docker context that
    has them (TLSConfig's arguments; None: no TLS from a context)."""

    base_url: str | None
    endpoint: str
    source: str
    tls: dict | None = None


def choose_endpoint(configured: str | None = None) -> Choice:
    """The engine, as the Docker CLI chooses it, with the project's own choice between the
    environment and the user's current context: DOCKER_HOST, else DOCKER_CONTEXT (a
    context's name), else ``configured`` (the project's ``engine`` key: an endpoint URL or
    a context's name), else the current docker context (``docker context use``), else the
    local socket. A context named by DOCKER_CONTEXT or the key that does not exist is an
    error; an unreadable current context means the local socket, as docker-py has it."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return Choice(host, host, "DOCKER_HOST")
    name = os.environ.get("DOCKER_CONTEXT")
    if name:
        return _named_context(name, "DOCKER_CONTEXT")
    if configured:
        if "://" in configured:
            return Choice(configured, configured, "[project] engine")
        return _named_context(configured, "[project] engine")
    try:
        ctx = _current_context()
    except Exception:  # an unreadable config or context: the local socket, as docker-py
        ctx = None
    if ctx is not None:
        return Choice(ctx.host, ctx.host, "the current docker context", ctx.tls)
    return Choice(None, DEFAULT_SOCKET, "the default socket")


def _named_context(name: str, source: str) -> Choice:
    """The endpoint of the docker context ``name`` (see choose_endpoint)."""
    if name == "default":
        return Choice(None, DEFAULT_SOCKET, f"{source} (docker context default)")
    try:
        ctx = _context(docker_unix.config_file(), name)
    except (OSError, ValueError, AttributeError):
        ctx = None
    if ctx is None:
        raise IrisenvError(f"no docker context named {name!r}",
                           f"{source} names it, and the Docker client's context store has no "
                           "such context (or it has no Docker endpoint)",
                           "list them with `docker context ls`; create it with `docker context "
                           f"create {name} --docker host=ssh://user@host`, or give an endpoint "
                           "URL instead (tcp://host:2376, ssh://user@host)")
    return Choice(ctx.host, ctx.host, f"{source} (docker context {name})", ctx.tls)


class _Context(NamedTuple):
    host: str
    tls: dict | None


def _current_context() -> _Context | None:
    """The current docker context, read as docker-py's ``ContextAPI.get_current_context()``
    reads it (docker/context/config.py), without importing docker: ``currentContext`` of
    the first config file that exists ($DOCKER_CONFIG/config.json, ~/.docker/config.json,
    ~/.dockercfg; "default" or none means no context), then the context's store entry
    (see _context)."""
    config = docker_unix.config_file()
    if config is None:
        return None
    with open(config) as f:
        name = json.load(f).get("currentContext", "default")
    if not name or name == "default":
        return None
    return _context(config, name)


def _context_host() -> str | None:
    """The current docker context's Docker endpoint (None: no context)."""
    ctx = _current_context()
    return None if ctx is None else ctx.host


def _context(config: str | None, name: str) -> _Context | None:
    """The context ``name`` in the store next to the Docker client's config file
    ``config`` (~/.docker when there is none yet): ``Endpoints.docker.Host`` of
    ``contexts/meta/<sha256 of the name>/meta.json``, and its TLS as the Docker CLI and
    docker-py's ``Context.load_context`` take it: the files ``ca.pem``, ``cert.pem`` and
    ``key.pem`` under ``contexts/tls/<sha256>/docker/`` and ``SkipTLSVerify``; TLS when
    any of those files exists or verification is skipped. A tcp:// host without a port
    gets Docker's TLS port, 2376, written out (so the endpoint, and the lock and port
    registry keys made from it, say which port is spoken to). None: no such context."""
    import hashlib

    base = (os.path.dirname(config) if config else
            os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker"))
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    meta = os.path.join(base, "contexts", "meta", digest, "meta.json")
    if not os.path.isfile(meta):
        return None
    with open(meta) as f:
        endpoint = (json.load(f).get("Endpoints") or {}).get("docker") or {}
    host = endpoint.get("Host") or None
    if host is None:
        return None
    tls_dir = os.path.join(base, "contexts", "tls", digest, "docker")
    files = {n: os.path.join(tls_dir, f"{n}.pem") for n in ("ca", "cert", "key")
             if os.path.isfile(os.path.join(tls_dir, f"{n}.pem"))}
    skip = bool(endpoint.get("SkipTLSVerify"))
    if not files and not skip:
        return _Context(host, None)
    tls = {"ca_cert": files.get("ca"), "verify": not skip,
           "client_cert": (files["cert"], files["key"]) if "cert" in files and "key" in files
           else None}
    scheme, sep, rest = host.partition("://")
    if sep and scheme.lower() == "tcp" and not re.search(r":\d+$", rest.split("/", 1)[0]):
        host = f"{scheme}://{rest.split('/', 1)[0]}:2376"
    return _Context(host, tls)


def _unix_path(base_url: str | None) -> str | None:
    """The socket path of a unix endpoint (docker-py's reading: ``unix://var/run/x`` is
    ``/var/run/x``); None for any other kind."""
    url = base_url or DEFAULT_SOCKET
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("unix", "http+unix"):
        return None
    return "/" + rest.lstrip("/")


class DockerEngine:
    """The Engine protocol (engine/base.py) on a Docker engine: ``endpoint`` (None: where
    the Docker CLI would look), or a ready docker-py ``client`` (then every call is its)."""

    def __init__(self, endpoint: str | None = None, *, client=None, timeout: float = 60,
                 default: str | None = None):
        if endpoint is None:  # as the Docker CLI chooses, ``default`` the project's choice
            choice = choose_endpoint(default)
        elif "://" not in endpoint:  # a docker context's name
            choice = _named_context(endpoint, "the caller")
        else:
            choice = Choice(endpoint, endpoint, "the caller")
        base_url, self.endpoint, self.source, self._tls = choice
        self._base_url = base_url
        self._given = endpoint is not None
        self._timeout = timeout
        self._version = API_VERSION
        self._lock = threading.RLock()
        self._api = client  # docker-py's client: handed in, or made when first needed
        self._own_api = client is None
        self._unix = None
        if client is None:
            path = _unix_path(base_url)
            if path is not None:
                self._unix = docker_unix.UnixClient(path, self._version, timeout)
            else:
                self._api = self._make_docker_py()

    def _make_docker_py(self):
        """docker-py's APIClient for this endpoint, at the API version in use."""
        import docker
        import requests.exceptions

        try:
            kwargs = docker.utils.kwargs_from_env()
            if self._given or (self._base_url and "base_url" not in kwargs):
                kwargs["base_url"] = self._base_url
            if self._tls is not None:  # a docker context's own TLS (not DOCKER_TLS_VERIFY's)
                kwargs["tls"] = docker.tls.TLSConfig(**self._tls)
            if str(kwargs.get("base_url") or "").lower().startswith("ssh://"):
                kwargs["use_ssh_client"] = True  # the system's ssh: see ssh_unavailable()
            return docker.APIClient(version=self._version, timeout=self._timeout, **kwargs)
        except ValueError as exc:  # urllib's verdict on the URL (e.g. "Invalid IPv6 URL")
            raise IrisenvError(f"the Docker engine endpoint {self.endpoint} is not a valid URL",
                               f"{self.source} gives it, and it does not parse: {exc}",
                               "write it as DOCKER_HOST takes it: unix:///path/docker.sock, "
                               "tcp://host:2376, ssh://user@host") from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            if "paramiko" in str(exc):
                raise IrisenvError(
                    f"cannot open the ssh:// engine {self.endpoint}: paramiko is not installed",
                    "docker-py imports paramiko for every ssh:// endpoint (irisenv has it "
                    "run your system's ssh, which reads your ~/.ssh/config and agent)",
                    "pip install 'irisenv[ssh]'") from None
            raise engine_unavailable(self.endpoint, exc) from None

    @property
    def _docker_py(self):
        """docker-py's client, made (and docker imported) at the first call that needs it."""
        if self._api is None:
            with self._lock:
                if self._api is None:
                    self._api = self._make_docker_py()
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    # ------------------------------------------------------------ observe
    def list_project(self, project: str) -> list[ObservedContainer]:
        rows = self._call("containers", all=True,
                          filters={"label": L.project_filter(project)})
        return [_observed(r) for r in rows]

    def list_managed(self) -> list[ObservedContainer]:
        rows = self._call("containers", all=True,
                          filters={"label": [f"{L.MANAGED_BY}={L.MANAGED_BY_VALUE}"]})
        return [_observed(r) for r in rows]

    def published_ports(self) -> set[int]:
        rows = self._call("containers", all=False)
        return {int(p["PublicPort"]) for r in rows for p in (r.get("Ports") or [])
                if p.get("PublicPort")}

    def find_by_name(self, name: str) -> ObservedContainer | None:
        rows = self._call("containers", all=True, filters={"name": f"^/{re.escape(name)}$"})
        return _observed(rows[0]) if rows else None

    def image_id(self, ref: str) -> str | None:
        try:
            return self._call("inspect_image", ref)["Id"]
        except _Missing:
            return None
        except RefusedError as exc:  # e.g. "invalid reference format"
            exc.value = ref
            raise

    def image_digests(self, ref: str) -> tuple[str, ...]:
        try:
            info = self._call("inspect_image", ref)
        except _Missing:
            return ()
        except RefusedError as exc:
            exc.value = ref
            raise
        return tuple(d.split("@", 1)[1] for d in info.get("RepoDigests") or () if "@" in d)

    def registry_digest(self, ref: str) -> str:
        """Docker's ``GET /distribution/{ref}/json`` (docker-py's inspect_distribution,
        which sends the Docker CLI's credentials for the registry, as a pull does): the
        registry answers with the manifest's descriptor, nothing is downloaded."""
        import docker.errors

        used = self._version
        try:
            res = self._docker_py.inspect_distribution(ref)
        except docker.errors.APIError as exc:
            text = _explanation(exc)
            if _VERSION_REFUSED.search(text) and self._negotiate(used, text):
                return self.registry_digest(ref)
            raise registry_error(ref, text, exc.status_code, pulling=False) from None
        except Exception as exc:
            err = classify(exc, self.endpoint)
            if err is None:
                raise
            raise err from None
        digest = (res.get("Descriptor") or {}).get("digest")
        if not digest:
            raise registry_error(ref, f"the engine's answer names no digest: {res!r}"[:300],
                                 None, pulling=False)
        return digest

    def volumes(self, project: str) -> list[str]:
        res = self._call("volumes", filters={"label": L.project_filter(project)})
        return [v["Name"] for v in (res.get("Volumes") or [])]

    def _inspect(self, container_id: str) -> dict:
        return self._call("inspect_container", container_id)

    def actual(self, container_id: str) -> Actual:
        """The container's real resources, port bindings and mounts (one inspect)."""
        return _actual(self._inspect(container_id))

    def state(self, container_id: str) -> ContainerState:
        return _state(self._inspect(container_id))

    def memory_usage(self, container_id: str) -> int | None:
        stats = self._call("stats", container_id, stream=False, one_shot=True)
        return _memory(stats.get("memory_stats") or {})

    def info(self) -> EngineInfo:
        v = self._call("version")
        return EngineInfo(product="Docker", version=v.get("Version", "?"),
                          api_version=v.get("ApiVersion", "?"), endpoint=self.endpoint,
                          os=v.get("Os", ""), arch=v.get("Arch", ""), source=self.source)

    # ------------------------------------------------------------ act
    def pull(self, ref: str, on_progress=None) -> None:
        import docker.errors
        import requests.exceptions

        used = self._version
        repo, tag = _split_ref(ref)
        try:
            for event in self._docker_py.pull(repo, tag=tag, stream=True, decode=True):
                if "error" in event:
                    raise registry_error(ref, event["error"], None)
                if on_progress is not None:
                    on_progress(event)
        except docker.errors.APIError as exc:
            if _VERSION_REFUSED.search(_explanation(exc)) and self._negotiate(
                    used, _explanation(exc)):
                return self.pull(ref, on_progress)
            raise registry_error(ref, _explanation(exc), exc.status_code) from None
        except requests.exceptions.RequestException as exc:
            raise classify(exc) from None

    def create(self, spec: RunSpec) -> str:
        try:
            res = self._call("create_container", spec.image, command=list(spec.command),
                             name=spec.name, labels=dict(spec.labels), environment=dict(spec.env),
                             ports=[p.container_port for p in spec.ports],
                             host_config=_host_config(spec), stop_timeout=spec.stop_timeout,
                             hostname=None, detach=True)
        except RefusedError as exc:  # a value from the config
            if exc.key == "image":
                exc.value = spec.image
            raise
        if spec.detached:
            try:  # its port bindings are published when it joins a network: at attach()
                self._call("disconnect_container_from_network", res["Id"], DEFAULT_NETWORK)
            except BaseException:
                self.remove(res["Id"])
                raise
        return res["Id"]

    def put_files(self, container_id: str, files: Files) -> None:
        """One put_archive per root directory (a directory none of the others is under),
        into its parent: the archive holds the root, every directory between it and the
        files or dirs under it, and those files, so a missing directory is made with the
        owner and mode the contract says, at any depth."""
        dirs = list(dict.fromkeys([p.rsplit("/", 1)[0] for p in files.contents] + list(files.dirs)))
        roots = [d for d in dirs if not any(d.startswith(o + "/") for o in dirs)]
        for root in roots:
            parent, leaf = root.rsplit("/", 1)
            entries: dict = {leaf + "/": None}
            for d in sorted(dirs):
                if d.startswith(root + "/"):
                    parts = d[len(root) + 1:].split("/")
                    for i in range(1, len(parts) + 1):
                        entries.setdefault(f"{leaf}/{'/'.join(parts[:i])}/", None)
            for path, content in files.contents.items():
                if path.startswith(root + "/"):
                    entries[f"{leaf}/{path[len(root) + 1:]}"] = content
            self._call("put_archive", container_id, parent or "/", _tar(entries, files.owner))

    def get_files(self, container_id: str, path: str, dest: str) -> list[str]:
        """docker-py's get_archive (the engine's GET /containers/{id}/archive), its tar
        stream unpacked as it arrives (a database file may be large): see _untar."""
        stream, _stat = self._call("get_archive", container_id, path)
        try:
            return _untar(_Chunks(stream), dest)
        except IrisenvError:
            raise
        except Exception as exc:
            err = classify(exc, self.endpoint)
            if err is None:
                raise
            raise err from None

    def start(self, container_id: str) -> None:
        self._call("start", container_id)

    def unpause(self, container_id: str) -> None:
        self._call("unpause", container_id)

    def stop(self, container_id: str, timeout: float | None = None) -> None:
        """Graceful stop: SIGTERM, then SIGKILL after ``timeout`` seconds (None: the
        container's own StopTimeout, which irisenv sets from stop_timeout at create).
        docker-py waits its client timeout plus the grace period given here for the
        answer, so the grace period is always passed (read from the container when None):
        the shared client timeout is never changed (threads share it)."""
        if timeout is None:
            config = self._inspect(container_id).get("Config") or {}
            timeout = config.get("StopTimeout")
            if timeout is None:
                timeout = DOCKER_STOP_TIMEOUT
        self._call("stop", container_id, timeout=math.ceil(timeout))

    def remove(self, container_id: str) -> None:
        try:
            self._call("remove_container", container_id, force=True, v=False)
        except IrisenvError as exc:
            if "No such container" in exc.why or "is already in progress" in exc.why:
                return
            raise

    def rename(self, container_id: str, name: str) -> None:
        self._call("rename", container_id, name)

    def attach(self, container_id: str) -> None:
        """Docker publishes a container's HostConfig port bindings on the first network
        with port mapping that its network namespace joins, also when it runs already."""
        try:
            self._call("connect_container_to_network", container_id, DEFAULT_NETWORK)
        except IrisenvError as exc:
            if "already exists" in exc.why:  # attached already
                return
            raise

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self._call("create_volume", name, labels=dict(labels))

    def remove_volume(self, name: str) -> None:
        try:
            self._call("remove_volume", name, force=True)
        except IrisenvError as exc:
            if "no such volume" in exc.why.lower():
                return
            raise

    # ------------------------------------------------------------ locks
    def create_lock(self, name: str, labels: Mapping[str, str]) -> str:
        """A container named ``name`` that is never started (Docker reserves a container
        name atomically: a second create of it answers 409), from LOCK_IMAGE, an empty
        image made on the engine at the first use (``docker import`` of an empty tar)."""
        for attempt in (1, 2):
            try:
                res = self._call("create_container", LOCK_IMAGE, command=[LOCK_COMMAND],
                                 name=name, labels=dict(labels),
                                 host_config={"NetworkMode": "none"}, detach=True)
                return res["Id"]
            except _Missing:  # no lock image on this engine yet
                if attempt == 2:
                    raise
                repo, tag = LOCK_IMAGE.split(":")
                self._call("import_image_from_data", _tar({}, 0), repository=repo, tag=tag,
                           changes=[f"LABEL {L.MANAGED_BY}={L.MANAGED_BY_VALUE}",
                                    f'CMD ["{LOCK_COMMAND}"]'])
        raise AssertionError("unreachable")

    def read_lock(self, name: str) -> LockRecord | None:
        rows = self._call("containers", all=True, filters={"name": f"^/{re.escape(name)}$"})
        if not rows:
            return None
        return LockRecord(id=rows[0]["Id"], name=name, labels=rows[0].get("Labels") or {})

    def remove_lock(self, lock_id: str) -> None:
        self.remove(lock_id)

    # ------------------------------------------------------------ read
    def log_lines(self, container_id: str, follow: bool = True, tail: str | int = "all"):
        """Yield decoded log lines; with follow, until the container stops or close()."""
        stream = self._call("logs", container_id, stream=True, follow=follow,
                            stdout=True, stderr=True, tail=tail)
        buf = b""
        for chunk in stream:
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                yield line.decode("utf-8", "replace")
        if buf:
            yield buf.decode("utf-8", "replace")

    def logs_stream(self, container_id: str, follow: bool = True, tail="all",
                    since: float | None = None):
        """The raw stream object (closable), for the readiness watcher."""
        kwargs = {"since": since} if since else {}
        return self._call("logs", container_id, stream=True, follow=follow,
                          stdout=True, stderr=True, tail=tail, **kwargs)

    def logs_tail(self, container_id: str, lines: int = 20) -> str:
        try:
            out = self._call("logs", container_id, stdout=True, stderr=True, tail=lines)
        except IrisenvError:
            return ""
        return out.decode("utf-8", "replace")

    def exec(self, container_id: str, cmd: list[str], *, stdin: bytes | None = None,
             env: dict | None = None, user: str | None = None, timeout: float = 60) -> ExecResult:
        """Run cmd in the container; stdin, if given, is written then closed. The output
        is read from the exec's own connection, bounded by this call's ``timeout``
        (docker-py's readers poll without one; the shared client timeout is not touched)."""
        deadline = time.monotonic() + timeout
        ex = self._call("exec_create", container_id, cmd, stdin=stdin is not None,
                        stdout=True, stderr=True, environment=env or None, user=user or "")
        exec_id = ex["Id"]
        sock = self._call("exec_start", exec_id, socket=True)
        raw = getattr(sock, "_sock", sock)
        ssh = _ssh_process(raw)
        expired = threading.Event()
        if ssh is not None:  # a pipe takes no timeout: end ssh at the deadline
            def expire():
                expired.set()
                ssh.terminate()

            watchdog = threading.Timer(max(deadline - time.monotonic(), 0.001), expire)
            watchdog.daemon = True
            watchdog.start()
        try:
            raw.settimeout(max(deadline - time.monotonic(), 0.001))
            if stdin is not None:
                raw.sendall(stdin)
                _end_input(raw, ssh)
            out, err = _read_frames(_reader(sock, raw), raw, deadline)
            if expired.is_set():  # the stream ended because ssh was ended
                raise socket.timeout("deadline passed")
        except OSError as exc:  # socket.timeout is one; over ssh, so is a pipe ssh left
            if not isinstance(exc, TimeoutError) and not expired.is_set():
                raise
            raise TransientError(f"command {cmd[0]} in container {container_id[:12]} timed out",
                                 f"no answer within {timeout:.0f}s",
                                 "retry; if it persists, check the container's log") from None
        finally:
            if ssh is not None:
                watchdog.cancel()
            try:
                sock.close()
            except OSError:  # docker-py writes to an ssh that has already left
                pass
            if ssh is not None:
                _end_ssh(ssh)
        code = None
        for _ in range(50):  # the exit code lands a moment after the stream closes
            code = self._call("exec_inspect", exec_id).get("ExitCode")
            if code is not None:
                break
            time.sleep(0.02)
        return ExecResult(code if code is not None else -1, out.decode("utf-8", "replace"),
                          err.decode("utf-8", "replace"))

    # ------------------------------------------------------------ calls and errors
    def _client(self, name: str):
        """The client for docker-py's method ``name``: the socket client when it serves it."""
        if self._unix is not None and name in docker_unix.SERVES:
            return self._unix
        return self._docker_py

    def _call(self, method: str, /, *args, **kwargs):
        """docker-py's method ``method`` on the client that serves it; its errors as
        irisenv's (classify). An engine that refuses the pinned API version is asked its
        own once, and the call repeated."""
        for attempt in (1, 2):
            client = self._client(method)
            # the version this client speaks: another thread may have set the engine's
            # own as self._version before it replaced the docker-py client
            used = getattr(client, "api_version", None) or self._version
            try:
                return getattr(client, method)(*args, **kwargs)
            except Exception as exc:
                err = classify(exc, self.endpoint)
                if err is None:  # not the engine's answer: a bug, as it is
                    raise
                if (attempt == 1 and _VERSION_REFUSED.search(err.why)
                        and self._negotiate(used, err.why)):
                    continue
                raise err from None

    def _negotiate(self, refused: str, message: str) -> bool:
        """Use the engine's own API version from now on, as the engine refused ``refused``
        saying ``message``: the newest it speaks, which "too new" names ("Maximum
        supported API version is 1.41"), else what ``GET /version`` says (unversioned; the
        engine gathers its components' versions for it, ~8 ms). False when that changes
        nothing (a client handed in, or the engine's version is the one refused)."""
        if not self._own_api:
            return False
        with self._lock:
            if self._version != refused:  # another call has asked meanwhile
                return True
            newest = _NEWEST.search(message)
            try:
                client = self._unix or self._docker_py
                version = (newest.group(1) if newest
                           else client.version(api_version=False)["ApiVersion"])
            except Exception:  # the call's own error says more
                return False
            if version == refused:
                return False
            self._version = version
            if self._unix is not None:
                self._unix.api_version = version
            if self._api is not None:  # the old one is left to calls still under way
                self._api = self._make_docker_py()
            return True


# ---------------------------------------------------------------- helpers
def _host_config(spec: RunSpec) -> dict:
    """The HostConfig of a RunSpec, as docker-py's create_host_config makes it from the
    same values (port bindings, memory, NanoCpus, volume mounts, tmpfs, no init)."""
    config: dict = {"NetworkMode": "default", "Init": False}
    if spec.memory:
        config["Memory"] = int(spec.memory)
    if spec.nano_cpus:
        config["NanoCpus"] = int(spec.nano_cpus)
    if spec.tmpfs:
        config["Tmpfs"] = dict(spec.tmpfs)
    if spec.volumes:
        config["Mounts"] = [{"Target": v.target, "Source": v.volume, "Type": "volume",
                             "ReadOnly": False} for v in spec.volumes]
    config["PortBindings"] = {
        f"{p.container_port}/tcp": [{"HostIp": p.host_ip,
                                     "HostPort": "" if p.host_port is None else str(p.host_port)}]
        for p in spec.ports}
    return config


def _observed(row: dict) -> ObservedContainer:
    networks = tuple(sorted(((row.get("NetworkSettings") or {}).get("Networks") or {})))
    names = row.get("Names") or ["/"]
    ports = {}
    for p in row.get("Ports") or []:
        if p.get("PublicPort") and p.get("Type", "tcp") == "tcp":
            ports.setdefault(int(p["PrivatePort"]), int(p["PublicPort"]))
    return ObservedContainer(id=row["Id"], name=names[0].lstrip("/"), state=row.get("State", ""),
                             labels=row.get("Labels") or {}, image_id=row.get("ImageID", ""),
                             ports=ports, status=row.get("Status", ""), networks=networks,
                             created=row.get("Created") or None)


def _actual(info: dict) -> Actual:
    host = info.get("HostConfig") or {}
    ports = []
    for key, binds in sorted((host.get("PortBindings") or {}).items()):
        port = key if "/" in key else key + "/tcp"
        for b in binds or [{}]:
            hp = (b or {}).get("HostPort") or ""
            ip = (b or {}).get("HostIp") or "0.0.0.0"  # "" publishes on every interface
            ports.append((port, ip, int(hp) if hp.isdigit() and int(hp) else None))
    mounts = {}
    for m in info.get("Mounts") or []:
        kind, dest = m.get("Type", ""), m.get("Destination", "")
        mounts[dest] = {"volume": f"volume {m.get('Name', '')}", "bind": f"bind {m.get('Source', '')}"
                        }.get(kind, kind)
    for dest in host.get("Tmpfs") or {}:
        mounts[dest] = "tmpfs"
    cpus = int(host.get("NanoCpus") or 0)
    quota, period = int(host.get("CpuQuota") or 0), int(host.get("CpuPeriod") or 0)
    if not cpus and quota > 0:  # `docker update --cpu-quota`: the same limit, another form
        cpus = round(quota / (period or 100_000) * 1e9)
    return Actual(memory=int(host.get("Memory") or 0), nano_cpus=cpus, ports=tuple(ports),
                  mounts=mounts)


def _memory(mem: dict) -> int | None:
    """`docker stats`' MEM USAGE from an answer's memory_stats: usage less the inactive
    page cache (cgroup v2's inactive_file, v1's total_inactive_file), as the docker CLI
    computes it (docker/cli, cli/command/container/stats_helpers.go)."""
    usage = mem.get("usage")
    if usage is None:
        return None
    stats = mem.get("stats") or {}
    cache = stats.get("inactive_file", stats.get("total_inactive_file", 0))
    return max(int(usage) - int(cache or 0), 0)


def _state(info: dict) -> ContainerState:
    s = info.get("State") or {}
    started = _epoch(s.get("StartedAt", ""))
    return ContainerState(status=s.get("Status", ""), running=bool(s.get("Running")),
                          exit_code=None if started is None else s.get("ExitCode"),
                          started_at=started,
                          health=(s.get("Health") or {}).get("Status") or None,
                          finished_at=_epoch(s.get("FinishedAt", "")))


def _epoch(raw: str) -> float | None:
    """Docker's RFC 3339 time (nanoseconds, "Z") as epoch seconds; None for its zero time
    (0001-01-01...: never)."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?", raw or "")
    if not m or raw.startswith("0001-"):
        return None
    whole = datetime.strptime(m.group(1) + "+0000", "%Y-%m-%dT%H:%M:%S%z").timestamp()
    return whole + float("0" + (m.group(2) or ".0")[:7])


def _ssh_process(raw):
    """The ``ssh ... docker system dial-stdio`` process behind an exec's connection over
    docker-py's ssh transport with use_ssh_client (its SSHSocket is no socket: it reads and
    writes that process's pipes, so a socket's timeout and shutdown do nothing there);
    None for a real socket."""
    import subprocess

    proc = getattr(raw, "proc", None)
    return proc if isinstance(proc, subprocess.Popen) else None


def _end_ssh(ssh) -> None:
    """End an exec's ssh process and reap it (docker-py's close only signals it)."""
    import subprocess

    ssh.terminate()
    try:
        ssh.wait(timeout=10)
    except subprocess.TimeoutExpired:
        ssh.kill()
        ssh.wait()


def _end_input(raw, ssh) -> None:
    """End an exec's input, so that what reads it to the end (``iris session``) goes on:
    the socket's write half shut, or over ssh, ssh's stdin closed (dial-stdio passes the
    end on to the engine)."""
    try:
        if ssh is not None:
            ssh.stdin.close()
        else:
            raw.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _reader(sock, raw):
    """How to read an exec's hijacked connection. The HTTP response's buffered reader,
    where docker-py keeps it: what the engine sent along with the response headers (e.g.
    "unable to find user", written at once) is already in its buffer, and reading the raw
    socket would lose it. Else the raw socket."""
    if hasattr(sock, "read1"):  # docker_unix's upgraded connection: buffered already
        return sock.read1
    response = getattr(sock, "_response", None)
    reader = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
    return reader.read1 if hasattr(reader, "read1") else raw.recv


def _read_frames(read, raw, deadline: float) -> tuple[bytes, bytes]:
    """stdout and stderr of an exec's multiplexed stream (8-byte headers: stream id, size),
    read with ``read(n)`` until the stream ends; socket.timeout once ``deadline``
    (monotonic) passes (``raw``, the socket, carries the timeout)."""
    streams = {1: bytearray(), 2: bytearray()}
    buf = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        raw.settimeout(left)
        chunk = read(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            stream, size = struct.unpack(">BxxxL", buf[:8])
            if len(buf) < 8 + size:
                break
            streams[2 if stream == 2 else 1] += buf[8:8 + size]
            del buf[:8 + size]
    return bytes(streams[1]), bytes(streams[2])


def _split_ref(ref: str) -> tuple[str, str | None]:
    if "@" in ref:
        return ref, None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, "latest"


def _tar(entries: dict, owner: int) -> bytes:
    """A tar of directories (content None, mode 0700) and files (mode 0600), owned by
    ``owner`` (UID and GID)."""
    import tarfile  # only when files are copied in

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in entries.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            info.uid = info.gid = owner
            info.mtime = int(time.time())
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o700
                tar.addfile(info)
            else:
                info.size = len(content)
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


class _Chunks(io.RawIOBase):
    """A file object over an iterator of byte chunks (docker-py's archive stream)."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        while not self._left:
            self._left = next(self._chunks, b"")
            if not self._left:
                return 0
        n = min(len(buf), len(self._left))
        buf[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def _untar(fileobj, dest: str) -> list[str]:
    """Unpack a tar stream into ``dest``: directories and regular files only, each inside
    ``dest`` (an absolute name, "..", a link or a device is refused), files written mode
    0600. The relative paths of the files written, in archive order."""
    import shutil
    import tarfile
    from pathlib import Path, PurePosixPath

    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(fileobj=io.BufferedReader(fileobj, 1 << 20), mode="r|") as tar:
        for member in tar:
            rel = PurePosixPath(member.name)
            if rel.is_absolute() or ".." in rel.parts:
                raise IrisenvError("the engine sent a file outside the requested path",
                                   f"archive entry {member.name!r}", "report this")
            target = root.joinpath(*rel.parts) if rel.parts else root
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                with open(target, "wb") as out:
                    os.chmod(target, 0o600)
                    shutil.copyfileobj(src, out, 1 << 20)
                written.append(str(PurePosixPath(*rel.parts)))
            else:
                raise IrisenvError("irisenv copies only regular files out of a container",
                                   f"{member.name!r} is a link or a special file",
                                   "copy the file it points to instead")
    return written


def _explanation(exc) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return text.decode() if isinstance(text, bytes) else str(text)


_PORT_TAKEN = re.compile(r"(port is already allocated|address already in use|"
                         r"ports are not available)", re.I)
_PORT_NUM = re.compile(r"(?:0\.0\.0\.0|127\.0\.0\.1|\[::\]|[\d.]+):(\d+)")


def _dockers_answer(response) -> bool:
    """Whether an HTTP error answer is the Docker API's: its routes answer with an
    Api-Version header, and every error of Docker's (an unknown route's 404 too) is JSON
    with a "message"."""
    if "Api-Version" in response.headers:
        return True
    try:
        return isinstance(response.json().get("message"), str)
    except Exception:  # not JSON, or not an object: not Docker's
        return False


def not_docker(endpoint: str, status: int | None, server: str | None) -> IrisenvError:
    """An HTTP server that is not a Docker engine answered (see _dockers_answer)."""
    return IrisenvError(
        f"no Docker engine at {endpoint}",
        f"something answers there over HTTP (status {status}"
        + (f", server {server!r}" if server else "") + "), but not the Docker API: its "
        "answer has no Api-Version header and is not Docker's JSON error",
        "point DOCKER_HOST, the docker context or [project] engine at the Docker engine's "
        "host and port (dockerd's -H tcp://...: 2375, or 2376 with TLS)")


def engine_unavailable(endpoint: str, exc) -> IrisenvError:
    if endpoint.lower().startswith("ssh://"):
        diagnosed = ssh_unavailable(endpoint)
        if diagnosed is not None:
            return diagnosed
    return TransientError(
        f"no Docker engine answers at {endpoint}",
        f"{exc.__class__.__name__}: {exc}",
        "start Docker (dockerd, Docker Desktop, colima...), or point DOCKER_HOST / "
        "`docker context use` at a running engine")


# What ssh (or the docker CLI it runs on the engine host) says when an ssh:// engine
# cannot be reached: (pattern, what failed, how to fix); the first match wins.
_SSH_FAILURES = (
    (r"permission denied while trying to connect to the docker daemon|"
     r"cannot connect to the docker daemon|is the docker daemon running",
     "ssh logged in, but the docker CLI there cannot reach its engine",
     "on {host}: start Docker, and let {user} use it (e.g. add it to the docker group)"),
    (r"docker: (command )?not found|docker: no such file|command not found",
     "ssh logged in, but the engine host has no docker CLI",
     "ssh:// runs `docker system dial-stdio` on the engine host: install the docker CLI "
     "on {host}"),
    (r"host key verification failed|remote host identification has changed",
     "ssh does not trust the engine host's key",
     "connect once by hand (`ssh {target}`) to check and accept the host key, or fix its "
     "entry in ~/.ssh/known_hosts if the key changed"),
    (r"permission denied|too many authentication failures|no more authentication methods",
     "ssh could not log in",
     "set up key-based login (`ssh-copy-id {target}`) or load your key into ssh-agent "
     "(`ssh-add`): every connection runs ssh anew, with no terminal to type a password in"),
    (r"could not resolve hostname|name or service not known|nodename nor servname",
     "ssh cannot resolve the host name",
     "check the host in DOCKER_HOST, the docker context or [project] engine, or add a "
     "Host entry for it to ~/.ssh/config"),
    (r"connection refused|timed out|no route to host|network is unreachable|"
     r"connection closed|connection reset",
     "no ssh server answers",
     "check that {host} is up and that sshd listens on the port the endpoint names"),
)


def ssh_unavailable(endpoint: str) -> IrisenvError | None:
    """Why an ssh:// engine cannot be reached, as ssh says it: one non-interactive
    ``ssh ... docker version`` (what docker-py's ssh transport runs is ``docker system
    dial-stdio``; its ssh's messages go to the terminal, not to irisenv). None when that
    works (the failure was not ssh's) or tells nothing known."""
    import subprocess

    from .. import engine

    _, user, host, port = engine._split(endpoint)
    target = f"{user}@{host}" if user else str(host)
    login = (f"-p {port} " if port else "") + target  # for the commands a fix gives
    cmd = (["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
           + (["-p", str(port)] if port else []) + ["--", target,
                                                   "docker version --format '{{.Server.Version}}'"])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return IrisenvError(f"cannot reach the Docker engine at {endpoint}: no ssh client",
                            "ssh:// endpoints run your system's ssh, and `ssh` is not on PATH",
                            "install the OpenSSH client")
    except subprocess.TimeoutExpired:
        return IrisenvError(f"cannot reach the Docker engine at {endpoint} over ssh",
                            f"`{' '.join(cmd[:-1])} docker version` did not end within 30 s",
                            f"check that `ssh {login} docker version` works from this shell")
    if proc.returncode == 0:
        return None
    said = " ".join(line.strip() for line in (proc.stderr or proc.stdout).splitlines()
                    if line.strip())[:500]
    for pattern, what, fix in _SSH_FAILURES:
        if re.search(pattern, said, re.I):
            return IrisenvError(f"cannot reach the Docker engine at {endpoint}: {what}",
                                f"ssh said: {said}",
                                fix.format(host=host, user=user or "your user", target=login)
                                + f"; check with `ssh {login} docker version`")
    return IrisenvError(f"cannot reach the Docker engine at {endpoint} over ssh",
                        f"ssh exited {proc.returncode}" + (f": {said}" if said else ""),
                        f"make `ssh {login} docker version` work from this shell (key-based "
                        "login, known host key, the docker CLI on the engine host)")



# How Docker words a registry that did not serve an image (the engine relays the
# registry's answer, or its own failure to reach it, in the message).
_UNREACHABLE = re.compile(
    r"dial tcp|connection refused|no such host|i/o timeout|timeout|request canceled|"
    r"network is unreachable|no route to host|connection reset|server gave HTTP response|"
    r"x509|certificate|tls:|EOF|unexpected HTTP status: 5\d\d|service unavailable|"
    r"bad gateway", re.I)
_DENIED = re.compile(
    r"unauthorized|authentication required|no basic auth credentials|denied|forbidden|"
    r"may require 'docker login'|incorrect username or password", re.I)
_NOT_FOUND = re.compile(r"manifest unknown|name unknown|not found|does not exist|"
                        r"unknown tag", re.I)


def registry_host(ref: str) -> str:
    """The registry an image reference names (Docker's rule: a first path component with
    a "." or a ":", or "localhost"; else Docker Hub)."""
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def registry_error(ref: str, detail: str, status: int | None, *,
                   pulling: bool = True) -> IrisenvError:
    """Docker's message about pulling (``pulling``) or checking ``ref`` as an irisenv
    error: a RefusedError for a reference Docker rejects, else a RegistryError whose reason
    says what the user has to do (reach the registry, name an image it has, log in)."""
    exc = refused(detail)
    if exc is not None:
        exc.value = ref
        return exc
    host = registry_host(ref)
    detail = detail.strip() or "the registry did not answer"
    doing = f"image {ref} could not be pulled" if pulling else f"cannot check image {ref}"
    if _DENIED.search(detail) or status in (401, 403):
        return RegistryError(
            "denied", f"{doing}: registry {host} refused access",
            detail,
            f"log in as the user that runs irisenv: `docker login {host}` (irisenv uses the "
            "Docker CLI's credentials, ~/.docker/config.json or $DOCKER_CONFIG); check that "
            "the repository exists and that the account may read it")
    if _NOT_FOUND.search(detail) or status == 404:
        return RegistryError(
            "missing", f"{doing}: registry {host} has no such repository or tag",
            detail,
            "check the repository and tag of `image` in iris-devtester.toml; if it is your "
            f"own image, push it first (`docker push {ref}`)")
    if _UNREACHABLE.search(detail):
        return RegistryError(
            "unreachable", f"{doing}: registry {host} cannot be reached", detail,
            "start the registry, or make it reachable from the Docker engine's host (network, "
            "DNS, proxy, TLS certificates: the engine talks to the registry, not irisenv); "
            f"offline, load or build the image on the engine (`docker load`, "
            f"`docker build -t {ref}`)")
    return IrisenvError(doing, detail,
                        "retry; if it persists, read the engine's log (a full disk, a broken "
                        "layer) and try `docker pull` by hand")


# Docker's refusals of a value irisenv took from the config (400, or 500 on older engines):
# the config key each one is about.
_REFUSALS = (
    ("image", re.compile(r"invalid reference format", re.I)),
    ("cpus", re.compile(r"range of cpus|nano ?cpus", re.I)),
    ("memory", re.compile(r"minimum memory limit", re.I)),
    # publishing on an address the engine's host does not have (e.g. the client reaches it
    # through NAT or a port forward)
    ("ports.host_ip", re.compile(r"cannot assign requested address", re.I)),
)
_CPU_MAX = re.compile(r"range of cpus is from [\d.]+ to ([\d.]+)", re.I)


def refused(text: str) -> RefusedError | None:
    """The config key Docker's message refuses, as a RefusedError (None: not a refusal)."""
    for key, pattern in _REFUSALS:
        if pattern.search(text):
            break
    else:
        return None
    detail = text.strip().removeprefix("no such image: ")
    if key == "image":
        fix = ("write a valid image reference: lower-case repository name, then :tag or "
               '@sha256:digest, e.g. "containers.intersystems.com/intersystems/'
               'iris-community:latest-em"')
    elif key == "cpus":
        m = _CPU_MAX.search(text)
        fix = (f"set cpus to at most {float(m.group(1)):g} (what this engine has), or remove it"
               if m else "set cpus within what this engine has, or remove it")
    elif key == "memory":
        fix = "raise memory above Docker's minimum"
    else:
        fix = ('write an address the engine\'s host has, "engine-host" (the address this '
               'machine reaches it at), or "0.0.0.0"')
    return RefusedError(key, f"Docker refused the {key} value", detail, fix)


class _Missing(IrisenvError):
    """Docker answered 404 (no such container, image, exec...)."""


def classify(exc, endpoint: str = "the Docker engine") -> IrisenvError | None:
    """Map an exception of either client (docker_unix, or docker-py and requests) to a
    transient or terminal irisenv error; None when it is none of theirs (a bug)."""
    if isinstance(exc, docker_unix.APIError):
        return _answer(exc.status_code, exc.explanation)
    if isinstance(exc, docker_unix.Unreachable):
        return engine_unavailable(endpoint, exc)
    if "docker" not in sys.modules:  # docker-py never ran: not its exception
        return None
    import docker.errors
    import requests.exceptions

    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return engine_unavailable(endpoint, exc)
    if isinstance(exc, docker.errors.APIError):
        response = getattr(exc, "response", None)
        if response is not None and not _dockers_answer(response):
            return not_docker(endpoint, exc.status_code, response.headers.get("Server"))
        return _answer(exc.status_code or 0, _explanation(exc))
    if isinstance(exc, docker.errors.DockerException):
        return engine_unavailable(endpoint, exc)
    if isinstance(exc, requests.exceptions.RequestException):
        return TransientError("the Docker engine did not answer as expected", str(exc), "retry")
    return None


def _answer(status: int, text: str) -> IrisenvError:
    """Docker's error answer (HTTP status, its message) as an irisenv error."""
    if _PORT_TAKEN.search(text):
        m = _PORT_NUM.search(text)
        port = m.group(1) if m else "a host port"
        return PortInUseError(
            f"host port {port} is already in use",
            f"Docker could not publish it: {text.strip()}",
            f"stop whatever holds port {port} (`ss -ltnp | grep {port}`), or set that port "
            'to "auto" or another number in iris-devtester.toml',
            port=int(m.group(1)) if m else None)
    if status in (400, 500) and refused(text) is not None:
        return refused(text)
    if status == 409:
        return ConflictError("Docker reported a conflict", text, "retry")
    if status == 404:
        return _Missing("Docker could not find an object irisenv needs", text,
                        "run `irisenv sync` again; if it persists, check the image name")
    if status >= 500:
        if "invalid mount" in text.lower() or "no such file" in text.lower():
            return IrisenvError("Docker refused the container's mounts", text,
                                "check storage settings and that the engine can create volumes")
        return TransientError("the Docker engine reported an internal error", text,
                              "retry; if it persists, check the engine's log")
    return IrisenvError("Docker refused a request", text,
                        "check the config values named above; run with IRISENV_DEBUG=1 for details")
