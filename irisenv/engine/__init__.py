"""The container engine behind irisenv: the boundary (base.py: the Engine protocol and the
records callers read), the retry layer (retry.py) and the backends (docker.py, the only
module that imports docker). Callers get an engine from :func:`open_engine` and use only
what base.py declares. Importing this package is cheap: a backend is imported when opened.

Where an engine's published ports are (:func:`is_remote`, :func:`engine_host`,
:func:`publish_address`) is decided here from its endpoint alone, without asking it."""
from __future__ import annotations

import functools

from .base import Engine

__all__ = ["Engine", "engine_host", "is_remote", "open_engine", "publish_address"]

# Endpoint schemes the Docker backend serves (DOCKER_HOST / `docker context` spellings).
DOCKER_SCHEMES = ("unix", "tcp", "ssh", "npipe", "http", "https")
# Schemes whose engine runs on this machine, whatever the URL says.
_LOCAL_SCHEMES = ("unix", "npipe", "http+unix")
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def open_engine(endpoint: str | None = None, *, default: str | None = None) -> Engine:
    """The engine at ``endpoint`` (a URL, or the name of a docker context), behind the
    retry layer. None: where the Docker CLI would look (DOCKER_HOST, else DOCKER_CONTEXT),
    else ``default`` (the project's ``engine`` key), else the current docker context, else
    the local socket. Opening one that does not answer is retried like any transient
    fault, then raises TransientError (what / why / fix)."""
    from .retry import RetryingEngine, call

    backend = _backend(endpoint or default)
    if endpoint is None:
        return RetryingEngine(call(backend, None, default=default))
    return RetryingEngine(call(backend, endpoint))


def _backend(endpoint: str | None):
    """The backend class that serves ``endpoint``, chosen by its scheme (a docker context
    name has none: Docker's)."""
    scheme = endpoint.split("://", 1)[0].lower() if endpoint and "://" in endpoint else None
    if endpoint is None or scheme is None or scheme in DOCKER_SCHEMES:
        from .docker import DockerEngine

        return DockerEngine
    from ..errors import IrisenvError

    raise IrisenvError(f"no engine backend serves {endpoint}",
                       f"irisenv talks to Docker at {', '.join(s + '://' for s in DOCKER_SCHEMES)} "
                       "endpoints",
                       "point DOCKER_HOST or `docker context use` at a Docker engine")


def _split(endpoint: str | None) -> tuple[str, str | None, str | None, int | None]:
    """(scheme, user, host, port) of an endpoint URL; host None for a socket or pipe."""
    from urllib.parse import urlsplit

    text = (endpoint or "unix://").strip()
    if "://" not in text:
        text = ("unix://" if text.startswith("/") else "tcp://") + text
    scheme = text.split("://", 1)[0].lower()
    if scheme in _LOCAL_SCHEMES:
        return scheme, None, None, None
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, parts.username, parts.hostname, port


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_remote(endpoint: str | None) -> bool:
    """Whether the engine at ``endpoint`` publishes ports on another host than this one:
    a ``tcp://``, ``http(s)://`` or ``ssh://`` endpoint whose host is not a loopback
    address or ``localhost``. A unix socket or a named pipe is local (Docker Desktop's VM
    forwards the ports it publishes to this machine's loopback); so is a ``tcp://`` engine
    on 127.0.0.1. Decided from the URL alone: an ssh tunnel or port forward that makes a
    remote engine answer on this machine's loopback is not seen through."""
    scheme, _, host, _ = _split(endpoint)
    return host is not None and scheme in ("tcp", "http", "https", "ssh") and not _is_loopback(host)


def engine_host(endpoint: str | None) -> str:
    """The host a client reaches the engine's published ports at: the endpoint's host name
    (for ``ssh://``, the host name ssh's own configuration gives the name: ``ssh -G``,
    so a ``Host`` alias of ~/.ssh/config is followed), or 127.0.0.1 for a local engine."""
    scheme, user, host, port = _split(endpoint)
    if host is None or not is_remote(endpoint):
        return "127.0.0.1"
    if scheme == "ssh":
        return _ssh_hostname(host, user, port) or host
    return host


@functools.lru_cache(maxsize=16)
def _ssh_hostname(host: str, user: str | None, port: int | None) -> str | None:
    """The HostName ssh connects to for ``host`` (``ssh -G``, which prints the effective
    configuration without connecting); None when ssh cannot say."""
    import subprocess

    cmd = ["ssh", "-G"] + (["-l", user] if user else []) + (["-p", str(port)] if port else [])
    try:
        out = subprocess.run(cmd + ["--", host], capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key.lower() == "hostname" and value.strip():
            return value.strip()
    return None


@functools.lru_cache(maxsize=16)
def publish_address(endpoint: str | None) -> str:
    """The IP address ``host_ip = "engine-host"`` publishes ports on: 127.0.0.1 for a
    local engine, else the engine host's address as this machine resolves it (the address
    this machine reaches the engine at). Raises IrisenvError when the name does not
    resolve."""
    import ipaddress
    import socket

    host = engine_host(endpoint)
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        from ..errors import IrisenvError

        raise IrisenvError(f"cannot resolve the engine host {host}",
                           f'host_ip = "engine-host" publishes on its address: {exc}',
                           "write the engine host's IP address as host_ip instead") from None
    ipv4 = [i[4][0] for i in infos if i[0] == socket.AF_INET]
    return ipv4[0] if ipv4 else infos[0][4][0]
