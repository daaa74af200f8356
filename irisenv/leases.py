"""The pool's lease table on disk: one JSON file per (engine, project) in the per-user
state directory, changed under a file lock of its own (docs/pool.md). Every decision is in
core/leases.py; this module reads the file, asks the pure core, writes the result.

A lease takes no project lock, opens no IRIS session and makes no Docker call: it is one
locked read-modify-write of a small file (``pools/<project>.<lock key>.json``, the lock
``.lock`` beside it), so it stays within milliseconds while a sync holds the project lock.
Importing this module imports neither docker nor an IRIS driver.

Holders are processes: pid, their start time (/proc/<pid>/stat, so a reused pid is not
taken for the holder), host name and boot id (/proc/sys/kernel/random/boot_id). A holder
on this host and boot is asked whether it still runs; one elsewhere expires after
core/leases.LEASE_TTL.
"""
from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from . import statedir
from .core import leases as core
from .errors import IrisenvError
from .names import pool_copy

LOCK_TIMEOUT = 30.0  # seconds to wait for the table's lock (it is held for milliseconds)
POLL = 0.002  # seconds between tries for the table's lock
WAIT_POLL = 0.02  # seconds between looks at the table while waiting for a clean copy
_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def table_path(endpoint: str | None, project: str) -> Path:
    """``pools/<project>.<lock key>.json`` (the directory created if needed)."""
    from .lock import lock_key

    d = statedir.directory("pools")
    return d / f"{statedir.safe_name(project)}.{lock_key(endpoint, project)}.json"


# ------------------------------------------------------------------ processes
_HERE: list = []  # (host name, boot id) of this machine, read once per process


def _here() -> tuple[str, str]:
    if not _HERE:
        _HERE.append((socket.gethostname(), (statedir.read_text(Path(_BOOT_ID)) or "").strip()))
    return _HERE[0]


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat),
    0 when unknown (no /proc, or the process is gone)."""
    text = statedir.read_text(Path(f"/proc/{pid}/stat"))
    if not text:
        return 0
    fields = text.rpartition(")")[2].split()  # the command name may hold spaces and ")"
    try:
        return int(fields[19])  # field 22 overall: the fields after ")" start at field 3
    except (IndexError, ValueError):
        return 0


def holder(pid: int | None = None) -> core.Holder:
    """The Holder of process ``pid`` (default: this process) on this host."""
    pid = os.getpid() if pid is None else pid
    host, boot = _here()
    return core.Holder(pid, host, boot, _start_time(pid))


def alive(h: core.Holder) -> bool | None:
    """Whether holder ``h`` still runs: None when it cannot tell (another host or boot)."""
    if (h.host, h.boot) != _here():
        return None
    try:
        os.kill(h.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user
    except OSError:
        return None
    if h.start and _start_time(h.pid) not in (0, h.start):
        return False  # the pid was reused by another process
    return True


def copy_key(template: str, number: int) -> str:
    """The key of copy ``number`` of template ``<instance>/<NS>``: ``<instance>/<NS>_P<n>``."""
    instance, _, ns = template.partition("/")
    return core.key(instance, pool_copy(ns, number))


# ------------------------------------------------------------------ the table
class LeaseTable:
    """The lease table of one (engine, project)."""

    def __init__(self, endpoint: str | None, project: str):
        self.project = project
        self.path = table_path(endpoint, project)
        self.lock_path = self.path.with_suffix(".lock")
        self.expired: tuple = ()  # the copies the last lease attempt found abandoned

    @contextmanager
    def change(self):
        """Hold the table's lock; yields a one-item list holding the table, whose item the
        caller may replace; the file is rewritten when it changed."""
        from .lock import file_lock

        with file_lock(self.lock_path, None, "lease", LOCK_TIMEOUT, poll=POLL,
                       busy=f"the lease table of project {self.project} stays locked"):
            text = statedir.read_text(self.path)
            box = [core.load(text)]
            yield box
            new = core.dump(box[0])
            if new != text:
                statedir.write_file(self.path, new)

    def read(self) -> core.Table:
        """The table as it is (no lock: a reader sees one whole file, replaced atomically)."""
        return core.load(statedir.read_text(self.path))

    def _apply(self, fn, *args):
        """``fn(table, *args)`` under the lock; the core's refusal (a copy that is not in
        the state asked for) becomes an IrisenvError."""
        try:
            with self.change() as box:
                box[0] = fn(box[0], *args)
        except ValueError as exc:
            raise IrisenvError(f"pool copy: {exc}",
                               "the lease table says otherwise: it was released or reset "
                               "already, or its lease expired (its holder was gone)",
                               "see the pool's copies in the lease table "
                               f"{self.path}") from None

    # -- leases
    def try_lease(self, template: str, who: core.Holder | None = None,
                  now: float | None = None, container: str = ""):
        """One attempt: expire, then Leased | Grow | Wait | NoPool | Replaced (core.lease)."""
        who = who or holder()
        with self.change() as box:
            box[0], expired = core.expire(box[0], _now(now), alive)
            box[0], result = core.lease(box[0], template, who, _now(now), copy_key, container)
        self.expired = expired  # copies this attempt found abandoned (now dirty)
        return result

    def lease(self, template: str, *, timeout: float, on_wait=None,
              who: core.Holder | None = None, container: str = ""):
        """A clean copy of ``template``: Leased, or Grow (the caller creates the reserved
        copy). While the pool is at max with none clean, waits up to ``timeout`` seconds;
        ``on_wait(counts)`` hears it once. IrisenvError when none came free, when the table
        knows no pool of ``template``, or when sync made the pool in another container
        than ``container`` (the id the caller sees; "" not compared)."""
        who = who or holder()
        end = time.monotonic() + timeout
        told = False
        while True:
            result = self.try_lease(template, who, container=container)
            if isinstance(result, (core.Leased, core.Grow)):
                return result
            if isinstance(result, core.NoPool):
                raise IrisenvError(f"no pool of namespace {_ns(template)} is known",
                                   "the lease table has no entry for it: the pool is made "
                                   "by `irisenv sync`",
                                   "declare pool on the namespace and run `irisenv sync`")
            if isinstance(result, core.Replaced):
                inst = template.partition("/")[0]
                raise IrisenvError(
                    f"the pool of namespace {_ns(template)} was made in another container",
                    f"the last sync made it in container {result.recorded[:12]}, instance "
                    f"{inst} now runs in container {container[:12]} (it was replaced since): "
                    "its copies are not known to be clean",
                    "run `irisenv sync`: it makes the pool in this container")
            if time.monotonic() >= end:
                raise IrisenvError(
                    f"no clean copy of namespace {_ns(template)} came free within "
                    f"{timeout:g}s", _counts_text(result.counts),
                    "raise the pool's max, release kept copies, or wait for the running "
                    "tests to release theirs")
            if not told and on_wait is not None:
                on_wait(result.counts)
                told = True
            time.sleep(WAIT_POLL)

    def grown(self, copy: str, init: str, who: core.Holder | None = None) -> None:
        self._apply(core.grown, copy, who or holder(), init, time.time())

    def release(self, copy: str) -> None:
        self._apply(core.release, copy, time.time())

    def keep(self, copy: str) -> None:
        self._apply(core.keep, copy, time.time())

    # -- resets
    def claim_dirty(self, who: core.Holder | None = None, template: str | None = None,
                    skip: frozenset = frozenset(), instance: str | None = None) -> tuple:
        who = who or holder()
        with self.change() as box:
            box[0], _ = core.expire(box[0], time.time(), alive)
            box[0], taken = core.claim_dirty(box[0], who, time.time(), template, skip,
                                             instance)
        return taken

    def reset_done(self, copy: str, init: str, who: core.Holder | None = None) -> None:
        self._apply(core.reset_done, copy, who or holder(), init, time.time())

    def reset_failed(self, copy: str, error: str, who: core.Holder | None = None) -> None:
        self._apply(core.reset_failed, copy, who or holder(), error, time.time())

    # -- sync
    def synced(self, template: str, init: str, size: int, existing: dict,
               container: str = "") -> None:
        self._apply(core.synced, template, init, size, existing, time.time(), container)

    def forget(self, template: str) -> None:
        self._apply(core.forget, template)

    def remove(self) -> None:
        """Delete the table (``down``: its copies went with the container)."""
        from .lock import file_lock

        with file_lock(self.lock_path, None, "lease", LOCK_TIMEOUT, poll=POLL,
                       busy=f"the lease table of project {self.project} stays locked"):
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def counts(self, template: str) -> dict:
        return self.read().counts(template)


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _ns(template: str) -> str:
    return template.partition("/")[2] or template


def _counts_text(counts: dict) -> str:
    return f"every copy is in use ({core.describe_counts(counts)})"
