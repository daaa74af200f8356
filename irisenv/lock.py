"""The project lock: one per (Docker engine, project), wherever the command runs.

Containers belong to an (engine, project) pair, so the lock does too: every checkout,
worktree or CI build directory of a project, and `down --project NAME` from anywhere,
take the same lock, kept in the per-user state directory (irisenv/statedir.py) under
``locks/``. The engine endpoint is normalised first, so two spellings of one engine share
a lock. The lock is a filelock (flock on POSIX): the OS releases it when its holder dies,
so no stale lock survives a crash. Next to it, ``<name>.owner`` says who holds it.
:func:`file_lock` is that lock for any file (the port registry's, irisenv/registry.py).
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from . import statedir
from .errors import IrisenvError

DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"
_DEFAULT_PORTS = {"tcp": 2375, "ssh": 22}


def normalize_endpoint(endpoint: str | None, *, tls: bool = False,
                       resolve=os.path.realpath) -> str:
    """One spelling per engine: ``unix://`` + the socket's real path, ``tcp://host:port``
    (``http`` is ``tcp``; ``https`` is ``tcp`` with TLS; the default port is 2375, or 2376
    with TLS), ``ssh://[user@]host:port``; scheme and host in lower case, no trailing
    slash. Unset or empty means the default socket. ``resolve`` maps a socket path to its
    real path (the only file system access; pass ``lambda p: p`` for none)."""
    text = (endpoint or "").strip()
    if not text or text.rstrip("/") in ("unix:", "unix:/"):
        text = "unix://" + DEFAULT_UNIX_SOCKET
    if text.startswith("/"):
        text = "unix://" + text
    elif "://" not in text:
        text = "tcp://" + text  # docker's reading of "host:port"
    scheme, rest = text.split("://", 1)
    scheme = scheme.lower()
    if scheme == "http+unix":
        scheme = "unix"
    if scheme == "unix":
        path = "/" + rest.lstrip("/")  # "unix://var/run/x" is the legacy spelling of "/var/..."
        return "unix://" + os.path.normpath(resolve(path))
    if scheme == "npipe":
        return "npipe://" + rest.rstrip("/").lower()  # Windows pipe names ignore case
    if scheme in ("http", "https"):
        tls = tls or scheme == "https"
        scheme = "tcp"
    if scheme not in _DEFAULT_PORTS:
        return f"{scheme}://{rest.rstrip('/')}"
    parts = urlsplit(f"{scheme}://{rest}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 2376 if scheme == "tcp" and tls else _DEFAULT_PORTS[scheme]
    host = (parts.hostname or "127.0.0.1").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6
    user = f"{parts.username}@" if parts.username else ""
    return f"{scheme}://{user}{host}:{port}"


def tls_from_env(environ=None) -> bool:
    """Whether docker-py talks TLS to a tcp:// endpoint (DOCKER_TLS_VERIFY set and not
    empty, or DOCKER_CERT_PATH set), as docker.utils.kwargs_from_env reads them."""
    env = os.environ if environ is None else environ
    return bool(env.get("DOCKER_CERT_PATH")) or env.get("DOCKER_TLS_VERIFY", "") != ""


def lock_key(endpoint: str | None, project: str) -> str:
    engine = normalize_endpoint(endpoint, tls=tls_from_env())
    return hashlib.sha256(f"{engine}\0{project}".encode()).hexdigest()[:16]


def lock_paths(endpoint: str | None, project: str, scope: str = "") -> tuple[Path, Path]:
    """(lock file, owner file) for (engine, project); ``scope`` names a second, separate
    lock of the same pair (e.g. "sync-once"). Creates ``locks/`` if needed."""
    stem = f"{statedir.safe_name(project)}.{lock_key(endpoint, project)}"
    if scope:
        stem += f".{statedir.safe_name(scope)}"
    d = statedir.directory("locks")
    return d / f"{stem}.lock", d / f"{stem}.owner"


@contextmanager
def project_lock(endpoint: str | None, project: str, verb: str, timeout: float,
                 on_wait=None, *, scope: str = ""):
    """Hold the lock for (engine endpoint, project); say who holds it while waiting."""
    path, owner = lock_paths(endpoint, project, scope)
    with file_lock(path, owner, verb, timeout, on_wait,
                   busy=f"another irisenv is still working on project {project}"):
        yield


@contextmanager
def file_lock(path: Path, owner: Path | None, verb: str, timeout: float, on_wait=None, *,
              busy: str, fix: str = "wait for it to finish, or stop it; a crashed holder "
                                    "releases the lock by itself", poll: float = 0.05):
    """Hold the filelock ``path``, recording the holder in ``owner`` (pid, verb, host,
    since; None: not recorded, for locks held a few milliseconds such as the pool's lease
    table); ``on_wait(holder)`` hears when it must wait; after ``timeout`` seconds an
    IrisenvError ``busy`` names the holder. ``poll``: seconds between tries while it is
    held elsewhere (a lock held for milliseconds wants a short one)."""
    from filelock import FileLock, Timeout

    statedir.refuse_link(path)  # filelock opens with O_NOFOLLOW too; this says why
    if owner is not None:
        statedir.refuse_link(owner)
    lock = FileLock(str(path), mode=0o600)
    try:
        try:
            lock.acquire(timeout=0.05, poll_interval=poll)
        except Timeout:
            holder = _read_owner(owner) if owner is not None else ""
            if on_wait is not None:
                on_wait(holder)
            try:
                lock.acquire(timeout=timeout, poll_interval=poll)
            except Timeout:
                raise IrisenvError(
                    busy, f"the lock {path} is held{(' by ' + holder) if holder else ''} and "
                    f"did not come free within {timeout:.0f}s", fix) from None
    except OSError as exc:
        raise IrisenvError(f"cannot take the lock {path}", exc.strerror or str(exc),
                           f"make it writable for you, or set {statedir.ENV} to a directory "
                           "of your own") from None
    try:
        try:
            if owner is not None:
                statedir.write_file(owner, json.dumps({
                    "pid": os.getpid(), "verb": verb, "host": socket.gethostname(),
                    "since": time.time()}))
        except OSError:
            pass  # the owner file only informs a waiter
        yield
    finally:
        lock.release()


@contextmanager
def try_file_lock(path: Path):
    """The filelock ``path`` if it is free at once: yields True holding it, or False (held
    elsewhere) without waiting. For work one process at a time does for everybody (the
    pool's resetter): whoever finds it held leaves the work to the holder."""
    from filelock import FileLock, Timeout

    statedir.refuse_link(path)
    lock = FileLock(str(path), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def _read_owner(owner: Path) -> str:
    try:
        info = json.loads(statedir.read_text(owner) or "")
        age = time.time() - float(info.get("since", time.time()))
        return f"pid {info.get('pid')} ({info.get('verb')}, for {age:.0f}s)"
    except (ValueError, TypeError, AttributeError):
        return ""


def engine_lock(engine, project: str, verb: str, timeout: float, reporter=None):
    """The (engine, project) lock of an engine's endpoint; a reporter hears when it waits."""
    def on_wait(holder):
        if reporter is not None:
            reporter.event("lock", "waiting for another irisenv working on this project"
                           + (f" ({holder})" if holder else ""))

    return project_lock(engine.endpoint, project, verb, timeout, on_wait)
