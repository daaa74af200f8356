"""The engine-side lock: one per (engine, project), held while a `sync` or `down` changes
the project's containers, so that two machines syncing one project on a shared engine
take turns. The project lock (lock.py, a file in the per-user state directory) serializes
the processes of one machine and user; it cannot see another machine's.

The lock is an object on the engine whose name the engine keeps unique
(``Engine.create_lock``; with Docker a container that is never started, named
``irisenv-lock.<project>``: "." never occurs in the names of irisenv's containers),
labelled with who holds it, a token of its own and until when (the lease). Taking it is
one create. A taken name means another holder: irisenv reads its labels, says who holds
it, waits and tries again; once the lease has expired it reclaims the lock (removes that
object, by ID, and creates anew: two reclaimers race on the create, which one wins).
Released (removed by ID) when the holder is done, also on an error or Ctrl-C. A holder
that was killed (SIGKILL, a cancelled CI job) cannot release it: when it ran on this
machine, in this process namespace since the last boot (``io.irisenv.lock.process``: boot
id, pid namespace, pid and the process's start time, read from /proc), a waiter sees that
the process is gone and reclaims the lock at once; a holder on another machine keeps it
until its lease ends (`docker rm irisenv-lock.<project>` frees it at once).

Clocks. The expiry label is the holder's clock. A waiter also counts, on its own clock,
how long it has seen the same lock object, and reclaims it once that is longer than the
lease, so a holder whose clock runs ahead cannot keep the lock past its lease."""
from __future__ import annotations

import os
import socket
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from .core import labels as L
from .errors import ConflictError, IrisenvError

PREFIX = "irisenv-lock."
HOLDER = L.PREFIX + "lock.holder"  # "sync, pid 123 on host-a"
TOKEN = L.PREFIX + "lock.token"  # this holder's own: a lost create's answer is recognised
EXPIRES = L.PREFIX + "lock.expires"  # epoch seconds, the holder's clock
LEASE = L.PREFIX + "lock.lease"  # seconds
PROJECT = L.PREFIX + "lock.project"
PROCESS = L.PREFIX + "lock.process"  # boot id/pid namespace/pid/start time (Linux), or absent
LEASE_MARGIN = 300.0  # seconds a sync's lease has beyond its own timeout (pulls, stops)
_POLL_FIRST, _POLL_MAX = 0.2, 2.0  # seconds between looks while another holds the lock


def lock_name(project: str) -> str:
    return PREFIX + project


@contextmanager
def hold(engine, project: str, verb: str, *, lease: float, timeout: float, reporter=None):
    """Hold the engine-side lock of ``project`` on ``engine`` for the block: wait up to
    ``timeout`` seconds for another holder (the reporter hears who), reclaim an expired
    lock; the lease is ``lease`` seconds."""
    lock_id = acquire(engine, project, verb, lease=lease, timeout=timeout, reporter=reporter)
    try:
        yield lock_id
    finally:
        try:
            engine.remove_lock(lock_id)
        except IrisenvError as exc:  # the engine went away: the lease ends it
            if reporter is not None:
                reporter.event("note", f"could not release the engine lock {lock_name(project)} "
                               f"({exc.what}); it expires by itself")


def acquire(engine, project: str, verb: str, *, lease: float, timeout: float,
            reporter=None) -> str:
    """Take the lock (see the module's doc); its object's ID."""
    name = lock_name(project)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    first_seen: dict[str, float] = {}  # lock object id -> when this waiter first saw it
    told = False
    delay = _POLL_FIRST
    while True:
        labels = {L.MANAGED_BY: L.MANAGED_BY_VALUE, PROJECT: project, TOKEN: token,
                  HOLDER: f"{verb}, pid {os.getpid()} on {socket.gethostname()}",
                  EXPIRES: f"{time.time() + lease:.0f}", LEASE: f"{lease:.0f}"}
        me = process_key(os.getpid())
        if me is not None:
            labels[PROCESS] = me
        try:
            return engine.create_lock(name, labels)
        except ConflictError:
            pass
        held = engine.read_lock(name)
        if held is None and time.monotonic() < deadline:
            continue  # released meanwhile: try again at once
        if held is not None and held.labels.get(TOKEN) == token:
            return held.id  # our own create, whose answer was lost (the retry saw 409)
        if held is not None:
            if not L.is_ours(held.labels) or PROJECT not in held.labels:
                raise IrisenvError(
                    f"an object named {name} exists on the engine and was not made by irisenv",
                    "irisenv takes the engine-side lock of project "
                    f"{project} under that name, and never touches what it did not make",
                    f"remove or rename it yourself (docker rm {name})")
            seen = first_seen.setdefault(held.id, time.monotonic())
            gone = holder_gone(held.labels)
            if gone or expired(held.labels, time.monotonic() - seen):
                if reporter is not None:
                    reporter.event("lock", f"reclaiming the engine lock {name} of "
                                   + ("a process that is gone" if gone else "an expired lease")
                                   + f" ({describe(held.labels)})")
                engine.remove_lock(held.id)
                continue
            if not told and reporter is not None:
                reporter.event("lock", "waiting for another irisenv working on this project "
                               f"on the engine ({describe(held.labels)})")
                told = True
        left = deadline - time.monotonic()
        if left <= 0:
            raise IrisenvError(
                f"another irisenv is still working on project {project} on this engine",
                f"the engine lock {name} is held"
                + (f" by {describe(held.labels)}" if held is not None else "")
                + f" and did not come free within {timeout:.0f}s",
                "wait for it to finish; if its holder is gone (a machine that crashed), the "
                f"lock expires at the end of its lease, or free it now: docker rm {name}")
        time.sleep(min(delay, left))
        delay = min(delay * 1.5, _POLL_MAX)


def expired(labels, watched: float, now: float | None = None) -> bool:
    """Whether a lock with ``labels`` is past its lease: its expiry (the holder's clock)
    has passed on this clock, or this waiter has watched it for longer than the lease."""
    now = time.time() if now is None else now
    try:
        expires, lease = float(labels[EXPIRES]), float(labels[LEASE])
    except (KeyError, ValueError):
        return True  # irisenv's, without a lease: malformed, never released
    return now > expires or watched > lease


def describe(labels) -> str:
    """Who holds a lock, and for how long still, from its labels."""
    who = labels.get(HOLDER, "an unknown holder")
    try:
        left = float(labels[EXPIRES]) - time.time()
    except (KeyError, ValueError):
        return who
    return f"{who}, lease ends in {left:.0f}s" if left > 0 else f"{who}, lease ended"


def process_key(pid: int) -> str | None:
    """``boot id/pid namespace/pid/start time`` of process ``pid`` as this process sees
    it (Linux /proc); None where that cannot be read (the process is gone, no /proc)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
        stat = Path(f"/proc/{pid}/stat").read_text()
        started = stat.rsplit(")", 1)[1].split()[19]  # field 22: start time, in ticks
    except (OSError, IndexError, ValueError):
        return None
    return f"{boot}/{namespace}/{pid}/{started}"


def holder_gone(labels) -> bool:
    """Whether the lock's holder ran on this machine, in this pid namespace since this
    boot, and is no longer running (its pid is free, or taken by a later process)."""
    held = labels.get(PROCESS, "")
    parts = held.split("/")
    me = process_key(os.getpid())
    if len(parts) != 4 or me is None or me.split("/")[:2] != parts[:2] or not parts[2].isdigit():
        return False  # another machine, container or boot: only its lease tells
    return process_key(int(parts[2])) != held
