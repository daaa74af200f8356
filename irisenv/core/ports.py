"""The per-user port registry's pure parts: its entries and file format, the range, which
port an instance gets, and when an entry is stale. No I/O: irisenv/registry.py reads and
writes the file under its lock, and hands in what only I/O can tell (is a port free on the
engine's host, which entries are stale).

An entry is one host port of one (engine, project, instance, kind): ``how`` is "auto" (a
port the registry leased for ``"auto"``: stable while the entry lives) or "fixed" (a
number the config gives: recorded so that no "auto" is ever handed it). ``0`` (Docker
assigns a port at each start) and ``false`` (web not published) have no entry.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import NamedTuple

SCHEMA_VERSION = 1
KINDS = ("superserver", "web")
AUTO, FIXED = "auto", "fixed"
DEFAULT_RANGE = "41972-42971"
DAY = 86400.0
DEFAULT_STALE_AFTER = 30 * DAY
# How old last_seen gets before a sync that changes nothing else writes it anew: a no-op
# sync then writes no file (staleness is counted in days).
TOUCH_EVERY = 3600.0


class CorruptRegistry(ValueError):
    """The file is not a registry irisenv can read (the message says why)."""


class NewerRegistry(ValueError):
    """The file was written by a newer irisenv (a schema_version this one does not know)."""

    def __init__(self, version):
        super().__init__(f"schema_version {version}")
        self.version = version


class Entry(NamedTuple):
    """(Named tuples, not dataclasses: the sync path imports this module, and three
    dataclasses cost it ~2 ms.)"""

    engine: str  # the engine's endpoint, normalised (irisenv.lock.normalize_endpoint)
    project: str
    instance: str
    kind: str  # superserver | web
    port: int
    how: str  # auto | fixed
    project_dir: str | None = None  # the checkout that last synced it (None: unknown)
    assigned: float = 0.0  # epoch seconds the port was given to this key
    last_seen: float = 0.0  # epoch seconds irisenv last saw the key in use (a sync)

    @property
    def key(self) -> tuple:
        return (self.engine, self.project, self.instance, self.kind)

    def to_dict(self) -> dict:
        return {"engine": self.engine, "project": self.project, "instance": self.instance,
                "kind": self.kind, "port": self.port, "how": self.how,
                "project_dir": self.project_dir, "assigned": iso(self.assigned),
                "last_seen": iso(self.last_seen)}


# ---------------------------------------------------------------- the file
def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text) -> float:
    if not isinstance(text, str):
        raise ValueError("not a time")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def dumps(entries: Iterable[Entry]) -> str:
    rows = sorted(entries, key=lambda e: (e.engine, e.project, e.instance, e.kind))
    return json.dumps({"schema_version": SCHEMA_VERSION,
                       "entries": [e.to_dict() for e in rows]}, indent=1) + "\n"


def loads(text: str) -> list[Entry]:
    """The entries of a registry file; CorruptRegistry (with the reason) for anything that
    is not one, NewerRegistry for a schema this irisenv does not know."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise CorruptRegistry(f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("schema_version"), int) \
            or isinstance(doc.get("schema_version"), bool):
        raise CorruptRegistry("no schema_version")
    if doc["schema_version"] > SCHEMA_VERSION:
        raise NewerRegistry(doc["schema_version"])
    if doc["schema_version"] < 1 or not isinstance(doc.get("entries"), list):
        raise CorruptRegistry("no list of entries")
    out, seen = [], set()
    for i, row in enumerate(doc["entries"]):
        try:
            e = Entry(engine=_text(row["engine"]), project=_text(row["project"]),
                      instance=_text(row["instance"]), kind=row["kind"], port=row["port"],
                      how=row["how"], project_dir=row.get("project_dir"),
                      assigned=_epoch(row["assigned"]), last_seen=_epoch(row["last_seen"]))
            if (e.kind not in KINDS or e.how not in (AUTO, FIXED) or not valid_port(e.port)
                    or not (e.project_dir is None or isinstance(e.project_dir, str))):
                raise ValueError("a value out of its domain")
        except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
            raise CorruptRegistry(f"entry {i + 1} is malformed ({exc.__class__.__name__}: "
                                  f"{exc})") from None
        if e.key in seen:
            raise CorruptRegistry(f"entry {i + 1} repeats {'/'.join(e.key[1:])} on {e.engine}")
        seen.add(e.key)
        out.append(e)
    return out


def _text(value) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("not a non-empty string")
    return value


def valid_port(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


# ---------------------------------------------------------------- the range
def parse_range(text: str) -> tuple[int, int]:
    """ "41972-42971" -> (41972, 42971); ValueError saying what is accepted."""
    lo, sep, hi = text.partition("-") if isinstance(text, str) else ("", "", "")
    if not (sep and lo.isdigit() and hi.isdigit() and lo.isascii() and hi.isascii()):
        raise ValueError(f"{text!r} is not a port range: write \"FIRST-LAST\", e.g. "
                         f"\"{DEFAULT_RANGE}\"")
    a, b = int(lo), int(hi)
    if not (1 <= a <= b <= 65535):
        raise ValueError(f"{text!r} is not a port range: FIRST and LAST are 1..65535, "
                         "FIRST at most LAST")
    return a, b


def candidates(port_range: tuple[int, int], project: str, instance: str, kind: str) -> Iterator[int]:
    """Every port of the range once, in the order a new lease tries them: from a start
    spread by a hash of (project, instance) -- so a project tends to get the same port
    again, also on another machine -- the web port one after the superserver's."""
    lo, hi = port_range
    size = hi - lo + 1
    start = zlib.crc32(f"{project}\0{instance}".encode()) % size
    if kind == "web":
        start = (start + 1) % size
    for i in range(size):
        yield lo + (start + i) % size


# ---------------------------------------------------------------- stale entries
def stale_reason(e: Entry, *, container: bool | None, dir_exists: bool | None, now: float,
                 max_age: float = DEFAULT_STALE_AFTER) -> str | None:
    """Why ``e`` is stale, or None. ``container``: whether a container of its (project,
    instance) exists on its engine (None: unknown, e.g. another engine that did not
    answer); ``dir_exists``: whether its project directory exists (None: unknown). An entry
    whose container exists is in use, however old. Otherwise it is stale when its container
    is gone and its directory too, or when irisenv has not seen it for ``max_age``."""
    if container:
        return None
    if container is False and dir_exists is False:
        return "its container and its project directory are gone"
    if now - e.last_seen > max_age:
        return f"not seen for {(now - e.last_seen) / DAY:.0f} days"
    return None


# ---------------------------------------------------------------- leasing
class Need(NamedTuple):
    """One published port of an instance, as the config and the engine show it."""

    instance: str
    kind: str
    value: object  # "auto", or the fixed port number
    preferred: int | None = None  # "auto" tries this first (a new lease only)
    bound: int | None = None  # the host port the instance's container binds now (None: none)
    picked: bool = False  # ``bound`` is one Docker picked at the container's start: made
    # before the port registry, the container gets another one at its next start
    new_container: bool = False  # this sync makes the instance a new container


class Assignment:
    def __init__(self, entries: list):
        self.entries = entries  # the registry after
        self.ports: dict = {}  # (instance, kind) -> port, for "auto" needs
        self.events: list = []  # (instance or None, message): what changed
        self.notes: list = []  # (instance, message): worth a user's look


class Exhausted(Exception):
    def __init__(self, need: Need, port_range: tuple[int, int], leased: int, taken: int):
        super().__init__(need.instance)
        self.need, self.port_range, self.leased, self.taken = need, port_range, leased, taken


def assign(entries: list, needs: list, *, engine: str, project: str, project_dir: str | None,
           now: float, port_range: tuple[int, int], is_free: Callable[[int, str], bool],
           stale: Callable[[], dict] = dict, keep_instances: frozenset = frozenset(),
           avoid: frozenset = frozenset()) -> Assignment:
    """The registry after one sync of (engine, project), and the port of each "auto" need.

    - A need's entry lives on: same port (stable across restart, replace, down and sync),
      last seen now (when it was more than TOUCH_EVERY ago: a no-op writes nothing).
    - A container that runs with another port than its entry (made before the registry,
      or the entry was lost) has that port adopted, when no other entry holds it: no
      replace for a port.
    - A new port is leased only for a new container (create, replace), tried in this order:
      the entry's port, the port the old container binds, ``preferred``, the range from the
      key's hashed start. A port another entry holds, one in ``avoid`` (taken by another
      program during this sync) or one ``is_free(port, instance)`` denies is skipped.
      Before the range is scanned, ``stale()`` ({key: reason}) is asked once, and stale
      "auto" entries are reclaimed (a "fixed" one only by `irisenv ports prune`/`release`).
    - A fixed port is recorded as "fixed" and never leased to an "auto".
    - This project's entries that no need names any more are released, except those of
      ``keep_instances`` (instances whose container is still there, e.g. an orphan).
    Raises Exhausted when the range has no port left."""
    mine = {e.key: e for e in entries if e.engine == engine and e.project == project}
    rest = [e for e in entries if e.key not in mine]
    out = Assignment([])
    wanted = {(engine, project, n.instance, n.kind) for n in needs}
    kept: dict = {}
    for key, e in mine.items():
        if key in wanted or e.instance in keep_instances:
            kept[key] = e
        else:
            out.events.append((e.instance, f"released host port {e.port} ({e.kind}): no longer "
                               "an \"auto\" or fixed port of the config"))
    reg = _Holders(rest + list(kept.values()))

    def put(need: Need, port: int, how: str, event: str | None = None) -> None:
        key = (engine, project, need.instance, need.kind)
        old = kept.get(key)
        moved = old is None or old.port != port or old.how != how
        seen = now if moved or old.project_dir != project_dir or \
            now - old.last_seen >= TOUCH_EVERY else old.last_seen
        e = Entry(engine, project, need.instance, need.kind, port, how, project_dir,
                  assigned=now if moved else old.assigned, last_seen=seen)
        reg.put(e)
        kept[key] = e
        if event:
            out.events.append((need.instance, event))

    for n in (n for n in needs if n.value != AUTO):  # fixed ones first: "auto" skips them
        port = int(n.value)
        others = reg.holders(port, (engine, project, n.instance, n.kind))
        put(n, port, FIXED)
        for o in others:
            out.notes.append((n.instance, f"{n.kind} port {port} is also registered to project "
                              f"{o.project} instance {o.instance} ({o.how}); the two cannot "
                              "run at once"))
    reclaimed: dict | None = None
    for n in (n for n in needs if n.value == AUTO):
        key = (engine, project, n.instance, n.kind)
        e = kept.get(key)
        e = e if e is not None and e.how == AUTO else None

        def free_of_entries(port: int | None) -> bool:
            return port is not None and not reg.holders(port, key)

        if not n.new_container:
            if n.bound is not None and (e is None or e.port != n.bound):
                if free_of_entries(n.bound):
                    put(n, n.bound, AUTO, f"recorded host port {n.bound} ({n.kind}), which its "
                        "container publishes, in the port registry")
                    out.ports[(n.instance, n.kind)] = n.bound
                    if n.picked:
                        out.notes.append((n.instance, f"{n.kind}: the container was made before "
                                          "the port registry, so Docker picks its port anew at "
                                          "each start; `irisenv sync --recreate` makes "
                                          f"{n.bound} its port for good"))
                    continue
                if e is not None:
                    out.notes.append((n.instance, f"{n.kind} is published on {n.bound}, which "
                                      f"another registry entry holds; this instance's lease "
                                      f"{e.port} applies when its container is next replaced"))
            if e is not None:
                put(n, e.port, AUTO)
                out.ports[(n.instance, n.kind)] = e.port
            # else: a container Docker gives a port at each start, and no lease: nothing
            continue
        fixed_elsewhere = e is not None and any(o.how == FIXED for o in reg.holders(e.port, key))
        pref_ok = (n.preferred is not None and free_of_entries(n.preferred)
                   and n.preferred not in avoid
                   and (n.preferred == n.bound or is_free(n.preferred, n.instance)))
        port = None
        if e is not None and e.port not in avoid and not fixed_elsewhere and not (
                pref_ok and n.preferred != e.port):
            port = e.port
        elif pref_ok:
            port = n.preferred
        elif n.bound is not None and n.bound not in avoid and free_of_entries(n.bound):
            port = n.bound
        if port is None:
            if reclaimed is None:
                reclaimed = stale()
                for skey, reason in reclaimed.items():
                    gone = None if skey[:2] == (engine, project) else reg.pop(skey)
                    if gone is not None:
                        out.events.append((None, f"reclaimed host port {gone.port} of project "
                                           f"{gone.project} instance {gone.instance} "
                                           f"({gone.kind}): stale, {reason}"))
            taken = 0
            for p in candidates(port_range, project, n.instance, n.kind):
                if p in avoid or not free_of_entries(p):
                    continue
                if is_free(p, n.instance):
                    port = p
                    break
                taken += 1
            if port is None:
                lo, hi = port_range
                leased = sum(1 for p in range(lo, hi + 1) if reg.holders(p, key))
                raise Exhausted(n, port_range, leased, taken)
        same = e is not None and e.port == port
        put(n, port, AUTO, None if same else f"leased host port {port} ({n.kind}) from the "
            "port registry")
        out.ports[(n.instance, n.kind)] = port
    out.entries = reg.entries()
    return out


class _Holders:
    """Entries by key, and by port."""

    def __init__(self, entries: list):
        self._by_key: dict = {}
        self._by_port: dict = {}
        for e in entries:
            self.put(e)

    def put(self, e: Entry) -> None:
        old = self._by_key.get(e.key)
        if old is not None:
            self._by_port[old.port].discard(e.key)
        self._by_key[e.key] = e
        self._by_port.setdefault(e.port, set()).add(e.key)

    def pop(self, key) -> Entry | None:
        """Remove the "auto" entry ``key`` (a "fixed" one stays); the entry removed."""
        e = self._by_key.get(key)
        if e is None or e.how != AUTO:
            return None
        self._by_port[e.port].discard(key)
        return self._by_key.pop(key)

    def holders(self, port: int, but: tuple) -> list:
        return [self._by_key[k] for k in self._by_port.get(port, ()) if k != but]

    def entries(self) -> list:
        return list(self._by_key.values())


def touched(before: list, after: list) -> bool:
    """Whether ``after`` differs from ``before`` (order aside)."""
    return sorted(before, key=lambda e: e.key) != sorted(after, key=lambda e: e.key)


__all__ = ["AUTO", "FIXED", "KINDS", "Assignment", "CorruptRegistry", "Entry", "Exhausted",
           "Need", "NewerRegistry", "assign", "candidates", "dumps", "loads", "parse_range",
           "stale_reason", "touched"]
