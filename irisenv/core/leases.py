"""The pool's lease table: which copy of a namespace is clean, leased, dirty... Pure.

One table per (engine, project), kept as JSON in the per-user state directory and changed
under a file lock by irisenv/leases.py; everything that decides lives here (docs/pool.md).
Copies and templates are keyed ``<instance>/<NAMESPACE>`` (key()).

A copy's ``state``:
  clean      reset from the template's master whose hash is ``init``: may be leased
  leased     held by ``holder`` (a process: pid, its start time, host, boot id)
  dirty      released, expired or stale: to be reset before it is leased again
  resetting  a resetter (``holder``) is resetting it
  kept       a failed test's copy kept for inspection: not reset until released
  creating   a lease that grew the pool reserved it; its holder creates the copy

A lease never hands out a copy that is not clean, nor one whose ``init`` is not the
template's current hash (``templates[t].init``, written by sync).

Expiry: a holder on this host and boot is asked about (``alive(holder)``: False when its
pid is dead or was reused); one elsewhere, or that cannot be asked (``alive`` returns
None), expires after LEASE_TTL. A kept copy expires after KEEP_TTL.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Callable

CLEAN, LEASED, DIRTY, RESETTING, KEPT, CREATING = (
    "clean", "leased", "dirty", "resetting", "kept", "creating")
STATES = (CLEAN, LEASED, DIRTY, RESETTING, KEPT, CREATING)
HELD = (LEASED, RESETTING, CREATING)  # states with a live holder
VERSION = 1
LEASE_TTL = 6 * 3600.0  # seconds: a holder that cannot be asked about is presumed dead after
KEEP_TTL = 24 * 3600.0  # seconds a kept copy waits for its release


def key(instance: str, namespace: str) -> str:
    return f"{instance}/{namespace}"


@dataclass(frozen=True)
class Holder:
    """A process holding a copy. ``start``: its start time in clock ticks since boot
    (/proc/<pid>/stat), 0 when unknown; with ``boot`` it tells a reused pid from the
    holder."""

    pid: int
    host: str
    boot: str = ""
    start: int = 0

    def json(self) -> dict:
        return {"pid": self.pid, "host": self.host, "boot": self.boot, "start": self.start}

    @classmethod
    def of(cls, data) -> "Holder | None":
        if not isinstance(data, dict):
            return None
        pid, start = data.get("pid"), data.get("start", 0)
        if not _whole(pid) or not _whole(start):
            return None
        return cls(pid, str(data.get("host", "")), str(data.get("boot", "")), start)

    def same_process(self, other: "Holder") -> bool:
        return (self.pid, self.host, self.boot, self.start) == (
            other.pid, other.host, other.boot, other.start)


@dataclass(frozen=True)
class Copy:
    template: str  # key() of the template namespace
    number: int  # 1 .. max: the copy is <TEMPLATE>_P<number>
    state: str
    init: str = ""  # hash of the master it was last reset from ("" never reset)
    since: float = 0.0  # epoch seconds the state was entered
    holder: Holder | None = None
    error: str = ""  # why its last reset failed (dirty only)

    def json(self) -> dict:
        out = {"template": self.template, "number": self.number, "state": self.state,
               "init": self.init, "since": self.since}
        if self.holder is not None:
            out["holder"] = self.holder.json()
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class Template:
    init: str  # the template's current init hash (sync writes it)
    max: int  # how many copies the pool may grow to
    container: str = ""  # the id of the container sync made the pool in ("" unknown)


@dataclass(frozen=True)
class Table:
    templates: dict  # key -> Template
    copies: dict  # key -> Copy

    def of(self, template: str) -> dict:
        """The copies of one template, by key."""
        return {k: c for k, c in self.copies.items() if c.template == template}

    def counts(self, template: str) -> dict:
        """{state: how many} for one template's copies, every state present (0 if none)."""
        out = dict.fromkeys(STATES, 0)
        for c in self.of(template).values():
            out[c.state] += 1
        return out

    def with_copy(self, name: str, c: Copy | None) -> "Table":
        copies = dict(self.copies)
        if c is None:
            copies.pop(name, None)
        else:
            copies[name] = c
        return Table(self.templates, copies)


EMPTY = Table({}, {})


# ------------------------------------------------------------------ the file's text
def load(text: str | None) -> Table:
    """The table a file holds. A file that is not this format (missing, empty, damaged, a
    newer version) reads as empty: its copies are then unknown, which sync treats as dirty
    (the IRIS-side record says which copies exist). Malformed entries are skipped."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return EMPTY
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return EMPTY
    templates, copies = {}, {}
    for k, t in _table(data.get("templates")).items():
        if isinstance(t, dict) and isinstance(t.get("init"), str) and _whole(t.get("max")):
            templates[str(k)] = Template(t["init"], t["max"], str(t.get("container", "")))
    for k, c in _table(data.get("copies")).items():
        if not isinstance(c, dict) or c.get("state") not in STATES or not _whole(c.get("number")):
            continue
        holder = Holder.of(c.get("holder"))
        if c["state"] in HELD and holder is None:
            continue
        since = c.get("since", 0.0)
        copies[str(k)] = Copy(str(c.get("template", "")), c["number"], c["state"],
                              str(c.get("init", "")),
                              float(since) if isinstance(since, (int, float)) else 0.0,
                              holder, str(c.get("error", "")))
    return Table(templates, copies)


def dump(table: Table) -> str:
    return json.dumps({"version": VERSION,
                       "templates": {k: {"init": t.init, "max": t.max,
                                         **({"container": t.container} if t.container else {})}
                                     for k, t in sorted(table.templates.items())},
                       "copies": {k: c.json() for k, c in sorted(table.copies.items())}},
                      indent=1, sort_keys=True)


# ------------------------------------------------------------------ expiry
def expire(table: Table, now: float, alive: Callable) -> tuple[Table, tuple]:
    """Held copies whose holder is gone, and kept copies past KEEP_TTL, become dirty.
    ``alive(holder)``: True / False, or None when it cannot tell (another host or boot):
    then the lease lasts LEASE_TTL. Returns (table, the expired copies' keys)."""
    expired = []
    copies = dict(table.copies)
    for k, c in table.copies.items():
        if c.state in HELD:
            verdict = alive(c.holder)
            gone = verdict is False or (verdict is None and now - c.since > LEASE_TTL)
        else:
            gone = c.state == KEPT and now - c.since > KEEP_TTL
        if gone:
            copies[k] = replace(c, state=DIRTY, since=now, holder=None)
            expired.append(k)
    return Table(table.templates, copies), tuple(sorted(expired))


# ------------------------------------------------------------------ lease
@dataclass(frozen=True)
class Leased:
    copy: str  # key of the copy now held


@dataclass(frozen=True)
class Grow:
    """No clean copy, fewer than max exist: ``copy`` is reserved (creating) for the caller,
    who creates it inside IRIS, then calls grown() (or release() when that failed)."""

    copy: str
    size: int  # the pool's size with this copy


@dataclass(frozen=True)
class Wait:
    """No clean copy and the pool is at max: wait for a reset (``counts`` says why)."""

    counts: dict


@dataclass(frozen=True)
class NoPool:
    """The table knows no pool of this template (sync has not made one)."""


@dataclass(frozen=True)
class Replaced:
    """Sync made the pool in container ``recorded``, not in the caller's: that container was
    replaced since, and its copies are not known clean (the next sync resets them)."""

    recorded: str


def lease(table: Table, template: str, holder: Holder, now: float, copy_name: Callable,
          container: str = "") -> tuple[Table, object]:
    """Take the clean, current copy of ``template`` that has been clean longest, else
    reserve a new one when the pool may grow, else Wait. ``copy_name(template, number)``
    -> the copy's key. ``container``: the id of the container the caller sees the instance
    in; Replaced when sync recorded another one (an unknown id on either side is not
    compared). Call expire() first."""
    t = table.templates.get(template)
    if t is None:
        return table, NoPool()
    if t.container and container and t.container != container:
        return table, Replaced(t.container)
    mine = table.of(template)
    clean = sorted((c.since, c.number, k) for k, c in mine.items()
                   if c.state == CLEAN and c.init == t.init)
    if clean:
        k = clean[0][2]
        return table.with_copy(k, replace(mine[k], state=LEASED, since=now, holder=holder)), Leased(k)
    used = {c.number for c in mine.values()}
    free = [n for n in range(1, t.max + 1) if n not in used]
    if free:
        k = copy_name(template, free[0])
        c = Copy(template, free[0], CREATING, since=now, holder=holder)
        return table.with_copy(k, c), Grow(k, len(used) + 1)
    return table, Wait(table.counts(template))


def grown(table: Table, copy: str, holder: Holder, init: str, now: float) -> Table:
    """The caller created its reserved copy from the master ``init``: it holds it now."""
    c = _held(table, copy, CREATING, holder)
    return table.with_copy(copy, replace(c, state=LEASED, init=init, since=now))


def release(table: Table, copy: str, now: float) -> Table:
    """A leased, kept or reserved copy goes back to be reset (dirty); a copy whose
    template's pool is gone is forgotten (sync drops it). ValueError when it is not
    held (already released, or unknown)."""
    c = table.copies.get(copy)
    if c is None or c.state not in (LEASED, KEPT, CREATING):
        raise ValueError(f"{copy} is not leased" + (f" (it is {c.state})" if c else ""))
    if c.template not in table.templates:
        return table.with_copy(copy, None)
    return table.with_copy(copy, replace(c, state=DIRTY, since=now, holder=None))


def keep(table: Table, copy: str, now: float) -> Table:
    """A leased copy is kept for inspection: not reset until released (or KEEP_TTL)."""
    c = table.copies.get(copy)
    if c is None or c.state != LEASED:
        raise ValueError(f"{copy} is not leased" + (f" (it is {c.state})" if c else ""))
    return table.with_copy(copy, replace(c, state=KEPT, since=now, holder=None))


# ------------------------------------------------------------------ reset
def claim_dirty(table: Table, holder: Holder, now: float, template: str | None = None,
                skip: frozenset = frozenset(), instance: str | None = None,
                ) -> tuple[Table, tuple]:
    """A resetter takes every dirty copy (of ``template``, or of ``instance``'s pools, or
    all) of a pool the table knows, except those in ``skip`` (e.g. the ones whose reset it
    saw fail): they become resetting, held by it. Returns (table, their keys)."""
    taken = tuple(sorted(k for k, c in table.copies.items() if c.state == DIRTY
                         and c.template in table.templates and k not in skip
                         and (template is None or c.template == template)
                         and (instance is None or k.startswith(f"{instance}/"))))
    copies = dict(table.copies)
    for k in taken:
        copies[k] = replace(copies[k], state=RESETTING, since=now, holder=holder, error="")
    return Table(table.templates, copies), taken


def reset_done(table: Table, copy: str, holder: Holder, init: str, now: float) -> Table:
    """The resetter reset ``copy`` from the master ``init``: clean, unless the template
    changed meanwhile (then dirty again, to be reset from the new master)."""
    c = _held(table, copy, RESETTING, holder)
    t = table.templates.get(c.template)
    state = CLEAN if t is not None and t.init == init else DIRTY
    return table.with_copy(copy, replace(c, state=state, init=init, since=now, holder=None))


def reset_failed(table: Table, copy: str, holder: Holder, error: str, now: float) -> Table:
    c = _held(table, copy, RESETTING, holder)
    return table.with_copy(copy, replace(c, state=DIRTY, since=now, holder=None,
                                         error=error[:500]))


# ------------------------------------------------------------------ what sync knows
def synced(table: Table, template: str, init: str, size: int, existing: dict,
           now: float, container: str = "") -> Table:
    """Sync's view of one template's pool: its current init hash, its max, and the copies
    that exist in IRIS (``existing``: {copy key: (number, init of its record)}). A copy
    unknown to the table is dirty, whatever its record says: the table was lost or
    damaged, and a process may still be using the copy; a clean copy is dirty when its init
    is not the template's (stale), when its record in IRIS says another init than the
    table's (it was made again, e.g. in a new container, and not reset yet) or when the
    pool's container is another one than the last sync's; a copy that no longer exists is
    forgotten unless held or kept (its release forgets it). ``container``: the id of the container the pool lives in, so that
    a lease can refuse a pool whose container was replaced since (no Docker call)."""
    templates = dict(table.templates)
    before = templates.get(template)
    moved = bool(before and before.container and container and before.container != container)
    templates[template] = Template(init, size, container)
    copies = {k: c for k, c in table.copies.items() if c.template != template}
    for k, c in table.of(template).items():
        if k in existing or c.state in (LEASED, KEPT, CREATING):
            if c.state == CLEAN and (c.init != init or moved or k not in existing
                                     or existing[k][1] != c.init):
                c = replace(c, state=DIRTY, since=now)
            copies[k] = c
    for k, (number, rec_init) in existing.items():
        if k not in copies:
            copies[k] = Copy(template, number, DIRTY, rec_init, now)
    return Table(templates, copies)


def forget(table: Table, template: str) -> Table:
    """The template has no pool any more: its entry goes; copies nobody holds go too."""
    templates = {k: t for k, t in table.templates.items() if k != template}
    copies = {k: c for k, c in table.copies.items()
              if c.template != template or c.state in (LEASED, KEPT, CREATING)}
    return Table(templates, copies)


def held(table: Table, instance: str) -> frozenset:
    """The names of an instance's copies a sync must not drop: leased, kept or being
    created (pool_plan.pool_actions' ``held``)."""
    prefix = f"{instance}/"
    return frozenset(k[len(prefix):] for k, c in table.copies.items()
                     if k.startswith(prefix) and c.state in (LEASED, KEPT, CREATING))


def describe_counts(counts: dict) -> str:
    """``{"clean": 2, "leased": 1, ...}`` -> "2 clean, 1 leased" (states with none left out)."""
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "no copies"


def _held(table: Table, copy: str, state: str, holder: Holder) -> Copy:
    c = table.copies.get(copy)
    if c is None or c.state != state or c.holder is None or not c.holder.same_process(holder):
        raise ValueError(f"{copy} is not {state} by this process"
                         + (f" (it is {c.state})" if c else " (unknown copy)"))
    return c


def _table(v) -> dict:
    return v if isinstance(v, dict) else {}


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0
