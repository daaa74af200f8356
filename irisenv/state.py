"""The project's .irisenv/ directory: the lock per (engine, project) and run markers.

.irisenv/ holds a .gitignore ("*") and a CACHEDIR.TAG, so neither git nor backup tools
keep it. The lock is a filelock (flock on POSIX): released by the OS when its holder dies,
so no stale lock survives a crash.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import IrisenvError

CACHEDIR_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This file is a cache directory tag created by irisenv.\n"
                "# For information about cache directory tags see https://bford.info/cachedir/\n")


def state_dir(base: Path) -> Path:
    d = base / ".irisenv"
    if not d.is_dir():
        d.mkdir(parents=True, exist_ok=True)
    for name, text in ((".gitignore", "# created by irisenv\n*\n"), ("CACHEDIR.TAG", CACHEDIR_TAG)):
        p = d / name
        if not p.exists():
            try:
                p.write_text(text)
            except OSError:
                pass
    return d


def _key(endpoint: str, project: str) -> str:
    return hashlib.sha256(f"{endpoint}\0{project}".encode()).hexdigest()[:16]


@contextmanager
def project_lock(base: Path, endpoint: str, project: str, verb: str, timeout: float,
                 on_wait=None):
    """Hold the lock for (engine endpoint, project); say who holds it while waiting."""
    from filelock import FileLock, Timeout

    d = state_dir(base)
    path = d / f"lock-{_key(endpoint, project)}"
    owner = path.with_suffix(".owner")
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0.05)
    except Timeout:
        holder = _read_owner(owner)
        if on_wait is not None:
            on_wait(holder)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise IrisenvError(
                f"another irisenv is still working on project {project}",
                f"the lock {path} is held{(' by ' + holder) if holder else ''} and did not "
                f"come free within {timeout:.0f}s",
                "wait for it to finish, or stop it; a crashed holder releases the lock by itself"
            ) from None
    try:
        try:
            owner.write_text(json.dumps({"pid": os.getpid(), "verb": verb,
                                         "host": socket.gethostname(), "since": time.time()}))
        except OSError:
            pass
        yield
    finally:
        lock.release()


def _read_owner(owner: Path) -> str:
    try:
        info = json.loads(owner.read_text())
        age = time.time() - float(info.get("since", time.time()))
        return f"pid {info.get('pid')} ({info.get('verb')}, for {age:.0f}s)"
    except (OSError, ValueError):
        return ""
