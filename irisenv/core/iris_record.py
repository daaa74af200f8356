"""irisenv's record inside IRIS: which namespaces it made, and instance-level notes. Pure.

The record is the global ``^IRISENV`` in %SYS (docs/learnings/namespaces.md, "Ownership"):

    ^IRISENV("ns",NAME) = "kind^created^run^init"   one node per namespace irisenv made
    ^IRISENV("instance",KEY) = value                 instance-level entries ("syschange")

``kind`` is ``declared`` (made because the config declared it), ``test-run`` (made for a
test run, e.g. the pytest iris_namespace fixture) or ``pool`` (a copy of a namespace's pool:
``run`` holds its template's name, ``init`` the hash of the master it was last reset from;
core/pool_plan.py plans them, iris/pool.py makes and resets them). ``created`` is epoch seconds, ``run`` who made it ("sync", or a test run's id),
``init`` the hash of the content the namespace was initialised with (empty for now). A kind
this version does not know (a newer irisenv's) is read and left alone.

One node per namespace, so a writer sets or kills only the nodes of the namespaces it
changes: a test run's add_namespace and a sync never rewrite each other's entries.

irisenv versions before this record kept three strings instead, which a probe still reads
(``Legacy``) and the next converge replaces with the nodes above (``MigrateRecord``):

    ^IRISENV("owned")     = "APP,TEST"                  -> kind declared
    ^IRISENV("temp")      = "TGW0ABC@1700000000,..."    -> kind test-run, created kept
    ^IRISENV("syschange") = "sticky"                    -> ^IRISENV("instance","syschange")
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..names import namespace as check_namespace

DECLARED, TEST_RUN, POOL = "declared", "test-run", "pool"
SEP = "^"  # between the fields of a record node; no field may hold it
SYNC_RUN = "sync"  # the run of what `irisenv sync` creates
SYSCHANGE, STICKY = "syschange", "sticky"  # instance entry: clearing _SYSTEM's flag did not hold
LEGACY_NODES = ("owned", "temp", "syschange")  # ^IRISENV(<node>) of older irisenv versions
_FIELD = re.compile(r"[A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class NamespaceRecord:
    kind: str
    created: int = 0  # epoch seconds; 0: unknown (migrated from the old ownership list)
    run: str = ""  # "sync", a test run's id, or "" (unknown)
    init: str = ""  # hash of the namespace's initial content (reserved: empty for now)

    def encode(self) -> str:
        fields = (self.kind, str(int(self.created)), self.run, self.init)
        if not all(_FIELD.fullmatch(f) for f in fields) or not self.kind:
            raise ValueError(f"a namespace record field is not storable: {fields!r}")
        return SEP.join(fields)


def decode(text: str) -> NamespaceRecord | None:
    """A record from its node's value; None when it has no kind. Fields a later version
    appends are ignored; a created that is not a number reads as 0 (unknown)."""
    kind, created, run, init = (text.split(SEP) + ["", "", ""])[:4]
    if not kind:
        return None
    return NamespaceRecord(kind, int(created) if created.isdigit() else 0, run, init)


def parse_line(text: str) -> tuple[str, NamespaceRecord] | None:
    """``NAME^kind^created^run^init`` as the probe prints it; None unless NAME is a valid
    namespace name exactly as irisenv writes it (upper case) and the record has a kind."""
    name, _, value = text.partition(SEP)
    if not _valid_name(name):
        return None
    rec = decode(value)
    return None if rec is None else (name, rec)


def run_label(text: str) -> str:
    """A run id as it may be stored in a record: letters, digits, _ . - (at most 64)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text or "")[:64]


def _valid_name(name: str) -> bool:
    try:
        return check_namespace(name) == name
    except ValueError:
        return False


# ------------------------------------------------------------------ the old format
def parse_temp(text: str) -> dict:
    """The old test-run list ``NAME@epoch,...`` -> {name: epoch}; malformed items are skipped."""
    out = {}
    for item in (text or "").split(","):
        name, _, when = item.partition("@")
        if name and when.isdigit():
            out[name] = int(when)
    return out


def from_legacy(owned: str, temp: str) -> dict:
    """The records the old ^IRISENV("owned") and ("temp") strings stand for. A name in both
    is declared (the old diff treated it as owned); names that are not valid are dropped."""
    out = {name: NamespaceRecord(TEST_RUN, when) for name, when in parse_temp(temp).items()}
    out.update({name: NamespaceRecord(DECLARED, 0, SYNC_RUN)
                for name in (owned or "").split(",") if name})
    return {name: rec for name, rec in out.items() if _valid_name(name)}


@dataclass(frozen=True)
class Legacy:
    """Old-format nodes a probe found, and what the next converge writes in their place."""

    nodes: tuple  # which of LEGACY_NODES exist, in that order
    records: tuple = ()  # (name, NamespaceRecord) for names that have no node of their own yet
    sticky: bool = False  # the old ("syschange") said sticky and ("instance",...) does not yet


def read(lines, instance: dict, old: dict) -> tuple[dict, bool, Legacy | None]:
    """The record as a probe read it: ``lines`` the ``NAME^...`` texts of ^IRISENV("ns",*),
    ``instance`` the instance entries, ``old`` {node: value} for each old-format node that
    exists. Returns (records by name, _SYSTEM's change sticky, Legacy or None). A node of
    the new format wins over the old strings for the same name."""
    records = dict(filter(None, (parse_line(t) for t in lines)))
    sticky = instance.get(SYSCHANGE) == STICKY
    if not old:
        return records, sticky, None
    converted = from_legacy(old.get("owned", ""), old.get("temp", ""))
    pending = {n: r for n, r in converted.items() if n not in records}
    old_sticky = old.get("syschange") == STICKY and not sticky
    legacy = Legacy(nodes=tuple(n for n in LEGACY_NODES if n in old),
                    records=tuple(sorted(pending.items())), sticky=old_sticky)
    return {**pending, **records}, sticky or old_sticky, legacy


# ------------------------------------------------------------------ changes
@dataclass(frozen=True)
class RecordChanges:
    """The nodes a converge writes: set or kill one node per namespace it changes (never a
    rewrite of the whole record), instance entries, and old-format nodes to remove."""

    writes: tuple = ()  # (name, NamespaceRecord)
    kills: tuple = ()  # names
    instance: tuple = ()  # (key, value)
    legacy: tuple = ()  # old-format nodes, killed after everything else is written

    def __bool__(self) -> bool:
        return bool(self.writes or self.kills or self.instance or self.legacy)

    def then(self, other: "RecordChanges") -> "RecordChanges":
        """These changes followed by ``other``: for the same name the later one wins."""
        writes = {n: r for n, r in self.writes if n not in other.kills}
        writes.update(other.writes)
        kills = [n for n in self.kills if n not in writes] + [n for n in other.kills
                                                              if n not in self.kills]
        return RecordChanges(
            writes=tuple(sorted(writes.items())), kills=tuple(kills),
            instance=tuple({**dict(self.instance), **dict(other.instance)}.items()),
            legacy=tuple(dict.fromkeys(self.legacy + other.legacy)))


NO_CHANGES = RecordChanges()
