"""IRIS-level state: what must hold inside IRIS (credentials, services, namespaces), what a
probe found, and the in-place actions (`~`) that close the gap. Pure; no I/O.

Namespaces irisenv creates are recorded inside IRIS, one node per namespace with its kind
(core/iris_record.py); only recorded namespaces are ever dropped, so a namespace made by
hand is never touched. Dropping a namespace deletes its databases: on durable storage (a
volume) a namespace of kind declared that the config no longer declares is kept unless the
caller opts in (``drop_durable``, `sync --drop-namespaces`). Namespaces made for a test run (the pytest
iris_namespace fixture) are recorded as kind test-run with their creation time: a sync
leaves them alone while a run may still use them, and drops only leftovers older than
TEMP_TTL (a run that crashed). Other kinds (pool copies, a newer version's) are left alone.

Each action says what it does to the record (``record()``); record_changes() folds them
into the set of nodes a converge writes or kills.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config.model import Instance
from ..names import BUILTIN_NAMESPACES
from . import monitoring as mon
from .pool_plan import CreatePoolCopy, DropPoolCopy, pool_actions, specs
from .iris_record import (DECLARED, NO_CHANGES, STICKY, SYNC_RUN, SYSCHANGE, TEST_RUN, Legacy,
                          NamespaceRecord, RecordChanges, run_label)

SYSTEM_USER = "_SYSTEM"
TEMP_TTL = 12 * 3600  # seconds after which a test run's namespace counts as abandoned
STICKY_SYSTEM_NOTE = (
    "user _SYSTEM still requires a password change: irisenv merged ModifyUser:Name=_SYSTEM,"
    "ChangePassword=0 and IRIS reported success, but the flag stayed set; irisenv does not "
    "retry it. Tests connect as {user}, which is not affected; change _SYSTEM's password "
    "once by hand if you log in as _SYSTEM")


@dataclass(frozen=True)
class IrisDesired:
    instance: str
    username: str
    namespaces: tuple  # declared, upper-case, built-ins (USER) excluded
    callin: bool
    storage: str = "ephemeral"
    inits: tuple = ()  # core/init.NamespaceInit of each namespace that declares an init
    pools: tuple = ()  # core/pool_plan.PoolSpec of each namespace that declares a pool
    monitoring: mon.Policy | None = None  # None: monitoring is not converged (e.g. unit tests)

    @classmethod
    def of(cls, inst: Instance, inits: dict | None = None, *, monitoring_off: bool = False,
           watch: str = "") -> "IrisDesired":
        """``inits``: {namespace: NamespaceInit} (core/init.declared reads the files);
        ``monitoring_off``: IRISENV_MONITORING=off for this run; ``watch``: the watcher
        script's sha256 (both read at the edge, project.py)."""
        return cls(instance=inst.name, username=inst.credentials.username,
                   namespaces=tuple(n.name for n in inst.namespaces
                                    if n.name not in BUILTIN_NAMESPACES),
                   callin=inst.services.callin, storage=inst.storage,
                   inits=tuple((inits or {}).values()), pools=specs(inst, inits),
                   monitoring=mon.policy(inst.monitoring, inst.storage, off=monitoring_off,
                                         watch=watch))


@dataclass(frozen=True)
class IrisObserved:
    version: str = ""  # $ZVERSION
    monitor: str = ""  # the system monitor: ok | warn | alert | hung ("" unknown)
    records: dict = field(default_factory=dict)  # name -> NamespaceRecord (irisenv made it)
    namespaces: dict = field(default_factory=dict)  # name -> exists (for names asked about)
    callin: bool | None = None
    user_exists: bool = False
    user_change_required: bool | None = None
    user_enabled: bool | None = None
    password_ok: bool | None = None
    system_change_required: bool | None = None
    # irisenv's clearing of _SYSTEM's flag did not hold once (recorded in ^IRISENV): not
    # planned again, shown as a note (the configured user is someone else, so nothing blocks)
    system_change_sticky: bool = False
    observed_at: float = 0.0  # epoch seconds of the probe (the clock for test-run leftovers)
    legacy: Legacy | None = None  # the record in an older irisenv's format, to migrate
    # pool copies leased or kept in the lease table (core/leases.held): never dropped now
    held: frozenset = frozenset()
    monitoring: mon.MonObserved | None = None  # None: not read (the probe read no policy)
    # the monitoring watcher's state file, read in the probe's exec
    # (core/monitor_files.probe_watch): {"state", "paused", "alive"}; None: no files
    watch: dict | None = None

    def recorded(self, kind: str) -> frozenset:
        """The recorded namespaces of one kind."""
        return frozenset(n for n, r in self.records.items() if r.kind == kind)

    def stale_test_runs(self) -> tuple:
        """Test-run namespaces older than TEMP_TTL (with a known creation time)."""
        return tuple(sorted(n for n, r in self.records.items()
                            if r.kind == TEST_RUN and r.created > 0 and self.observed_at
                            and self.observed_at - r.created > TEMP_TTL))


# ------------------------------------------------------------------ actions
class _Action:
    """An in-place change inside IRIS. ``kind`` keys the IRIS-side table that carries it out
    (irisenv/iris/converge.py); ``record()`` is what it changes in irisenv's record."""

    kind = ""
    symbol = "~"

    def record(self, created: int, run: str) -> RecordChanges:
        return NO_CHANGES


@dataclass(frozen=True)
class CreateNamespace(_Action):
    name: str
    record_kind: str = DECLARED  # test-run for a test run's own namespace
    kind = "create-namespace"
    symbol = "+"

    def describe(self) -> str:
        return f"namespace {self.name} (databases {self.name}_DATA, {self.name}_CODE)"

    def record(self, created: int, run: str) -> RecordChanges:
        return RecordChanges(writes=((self.name, NamespaceRecord(self.record_kind, created, run)),))


@dataclass(frozen=True)
class DropNamespace(_Action):
    """Drop a namespace irisenv created, with its databases: its data is lost."""

    name: str
    leftover: bool = False  # an abandoned test-run namespace, not a once-declared one
    kind = "drop-namespace"
    symbol = "-"

    def describe(self) -> str:
        if self.leftover:
            return (f"namespace {self.name} and its databases (left by a test run that ended "
                    "without dropping it)")
        return (f"namespace {self.name} and its databases (created by irisenv, no longer "
                "declared): its data will be lost")

    def record(self, created: int, run: str) -> RecordChanges:
        return RecordChanges(kills=(self.name,))


@dataclass(frozen=True)
class SetCallIn(_Action):
    enabled: bool
    was: bool | None
    kind = "callin"

    def describe(self) -> str:
        old = "unknown" if self.was is None else ("enabled" if self.was else "disabled")
        return f"%Service_CallIn: {old} -> {'enabled' if self.enabled else 'disabled'}"


@dataclass(frozen=True)
class EnsureUser(_Action):
    username: str
    reasons: tuple  # e.g. ("absent",), ("password not verified", "password change required")
    kind = "user"

    def describe(self) -> str:
        return f"user {self.username}: {', '.join(self.reasons)} -> ready to log in"


@dataclass(frozen=True)
class ClearSystemChange(_Action):
    kind = "system-password-change"

    def describe(self) -> str:
        return f"user {SYSTEM_USER}: password change required -> cleared"


@dataclass(frozen=True)
class MigrateRecord(_Action):
    """Replace the record of an older irisenv (^IRISENV("owned"), ("temp"), ("syschange"))
    by one node per namespace: what the old strings said is kept, nothing is dropped."""

    legacy: Legacy
    kind = "record-migration"

    def describe(self) -> str:
        old = ", ".join(f'^IRISENV("{n}")' for n in self.legacy.nodes)
        return f"irisenv's namespace record: {old} (older format) -> one node per namespace"

    def record(self, created: int, run: str) -> RecordChanges:
        return RecordChanges(writes=self.legacy.records,
                             instance=((SYSCHANGE, STICKY),) if self.legacy.sticky else (),
                             legacy=self.legacy.nodes)


@dataclass(frozen=True)
class InitNamespace(_Action):
    """Initialise a namespace with its declared init (core/init.py), after resetting its
    databases when ``reset`` (its init changed, or a previous one failed). The record's
    init field is written by the init itself (iris/init.py): pending first, the content
    hash once every entry is applied and verified."""

    name: str
    init: object  # core/init.NamespaceInit
    reset: bool = False
    changed: tuple = ()  # the files whose content changed, when known
    destroys: bool = False  # the reset loses data on durable storage (needs the opt-in)
    retry: bool = False  # the record says the last init did not complete (pending)
    record_kind: str = DECLARED
    created: int = 0
    run: str = ""
    kind = "init-namespace"

    def describe(self) -> str:
        n = len(self.init.items)
        if not self.reset:
            return f"namespace {self.name}: initialise ({n} {'entry' if n == 1 else 'entries'})"
        why = ("previous init did not complete" if self.retry
               else f"init changed ({', '.join(self.changed)})" if self.changed
               else "init changed")
        lost = ": its data will be lost" if self.destroys else ""
        return f"namespace {self.name}: {why} -> databases reset and re-initialised{lost}"


ACTIONS = (CreateNamespace, DropNamespace, SetCallIn, EnsureUser, ClearSystemChange,
           MigrateRecord, InitNamespace, CreatePoolCopy, DropPoolCopy, mon.ConvergeMonitoring)


def init_actions(d: IrisDesired, o: IrisObserved, claim: tuple = (), *,
                 drop_durable: bool = False, previous=None) -> tuple[tuple, tuple]:
    """(InitNamespace actions, namespaces whose changed init is kept) for the namespaces
    that declare an init. An unchanged hash plans nothing. A namespace created now, or
    claimed, or recorded without an init is initialised as it is; a changed init or one
    that did not complete resets the databases first. On durable storage a reset of an
    initialised namespace loses data: it is planned only with ``drop_durable``, else kept.
    ``previous(digest)`` -> {rel: sha} of an init applied before (the state dir's), to
    name the changed files."""
    if not d.inits:  # nothing declared: core/init stays unimported on this path
        return (), ()
    from .init import PENDING, changed_files

    acts, kept = [], []
    for ni in d.inits:
        rec = o.records.get(ni.namespace)
        exists = o.namespaces.get(ni.namespace, False)
        if rec is not None and rec.init == ni.digest and exists:
            continue
        if exists and rec is None and ni.namespace not in claim:
            continue  # not irisenv's namespace: never reset nor written to
        mine = rec if rec is not None and exists else NamespaceRecord(DECLARED, int(o.observed_at), SYNC_RUN)
        initialised = exists and rec is not None and rec.init not in ("", PENDING)
        reset = exists and rec is not None and rec.init != ""
        destroys = initialised and d.storage == "volume"
        if destroys and not drop_durable:
            kept.append(ni.namespace)
            continue
        old = previous(rec.init) if (initialised and previous) else None
        changed = tuple(changed_files(old, ni.files())) if old is not None else ()
        acts.append(InitNamespace(ni.namespace, ni, reset=reset, changed=changed,
                                  destroys=destroys, retry=reset and not initialised,
                                  record_kind=mine.kind,
                                  created=mine.created, run=mine.run))
    return tuple(acts), tuple(kept)


def _undeclared(d: IrisDesired, o: IrisObserved) -> list:
    """(name, leftover) for namespaces irisenv made that are no longer wanted and still exist:
    declared ones, and test-run ones once abandoned (leftover)."""
    stale = set(o.stale_test_runs())
    return [(name, name in stale)
            for name in sorted((o.recorded(DECLARED) | stale) - set(d.namespaces))
            if o.namespaces.get(name, True)]


def kept_namespaces(d: IrisDesired, o: IrisObserved, drop_durable: bool = False) -> tuple:
    """Recorded, no longer declared namespaces that stay because their data is meant to last:
    the instance's storage is durable and the caller did not opt in to dropping them."""
    if d.storage != "volume" or drop_durable:
        return ()
    return tuple(name for name, leftover in _undeclared(d, o) if not leftover)


def diff(d: IrisDesired, o: IrisObserved, *, drop_durable: bool = False) -> tuple:
    """The in-place actions that bring ``o`` to ``d``. A no longer declared namespace on
    durable storage is dropped only with ``drop_durable`` (see kept_namespaces). A record in
    an older irisenv's format is migrated (migration())."""
    acts: list = []
    for name in d.namespaces:
        if not o.namespaces.get(name, False):
            acts.append(CreateNamespace(name))
    kept = set(kept_namespaces(d, o, drop_durable))
    for name, leftover in _undeclared(d, o):
        if name not in kept:
            acts.append(DropNamespace(name, leftover=leftover))
    if o.callin is None or o.callin != d.callin:
        acts.append(SetCallIn(d.callin, o.callin))
    reasons = []
    if not o.user_exists:
        reasons.append("absent")
    else:
        if o.password_ok is not True:
            reasons.append("password does not match the config")
        if o.user_change_required:
            reasons.append("password change required")
        if o.user_enabled is False:
            reasons.append("disabled")
    if reasons:
        acts.append(EnsureUser(d.username, tuple(reasons)))
    if system_change_left(d, o) and not o.system_change_sticky:
        acts.append(ClearSystemChange())
    acts.extend(mon.plan(d.monitoring, o.monitoring))
    return tuple(acts) + migration(o)


def migration(o: IrisObserved) -> tuple:
    """The record migration ``o`` calls for (empty when the record is current): every
    converge carries it, so the first contact of this version rewrites an older record."""
    return (MigrateRecord(o.legacy),) if o.legacy else ()


def system_change_left(d: IrisDesired, o: IrisObserved) -> bool:
    """_SYSTEM must still change its password while the configured user is someone else
    (for _SYSTEM itself, EnsureUser covers the flag)."""
    return d.username != SYSTEM_USER and bool(o.system_change_required)


def record_changes(o: IrisObserved, actions: tuple, *, run: str = SYNC_RUN,
                   claim: tuple = ()) -> RecordChanges:
    """The record's nodes to write or kill once ``actions`` are applied: each action's own
    change (a created namespace's node, a dropped one's kill, a migration's nodes), plus a
    declared record for each name in ``claim`` not recorded yet (what a fresh container's
    boot merge created). Creation times are the probe's clock (``o.observed_at``)."""
    created, run = int(o.observed_at), run_label(run)
    out = RecordChanges(writes=tuple((name, NamespaceRecord(DECLARED, created, run))
                                     for name in claim if name not in o.records))
    # a migration first: what the old strings said yields to what this converge does
    # (a namespace the old record owned and this converge drops must not be written back)
    for a in sorted(actions, key=lambda a: a.kind != MigrateRecord.kind):
        out = out.then(a.record(created, run))
    return out


# ------------------------------------------------------------------ phase two, planned
@dataclass(frozen=True)
class IrisPlan:
    """What phase two does inside one instance: the actions, the record nodes they change,
    the namespaces kept on durable storage, and whether _SYSTEM's flag is known sticky."""

    actions: tuple
    records: RecordChanges
    kept: tuple = ()
    sticky: bool = False
    init_kept: tuple = ()  # namespaces whose changed init is not applied (durable storage)

    @property
    def drops(self) -> tuple:
        return tuple(a for a in self.actions if isinstance(a, DropNamespace)
                     or getattr(a, "destroys", False))

    @property
    def empty(self) -> bool:
        return not self.actions and not self.records


def plan_iris(d: IrisDesired, o: IrisObserved, *, drop_durable: bool = False,
              fresh: bool = False, previous=None) -> IrisPlan:
    """The one pure planner of IRIS-level state, for `plan` (a running instance) and for
    phase two of a sync (an instance once ready). ``fresh``: the container is new, so the
    declared namespaces its boot merge made are irisenv's and get a record. ``previous``:
    see init_actions."""
    actions = diff(d, o, drop_durable=drop_durable)
    claim = tuple(n for n in d.namespaces if o.namespaces.get(n)) if fresh else ()
    inits, init_kept = init_actions(d, o, claim, drop_durable=drop_durable, previous=previous)
    # a template created, claimed or initialised by this plan is ready for its copies once
    # converge has applied it (pool steps go in the merge; inits run after it, and the
    # copies' data comes from the master afterwards: project sync, iris/pool.py)
    made = frozenset(a.name for a in actions + inits
                     if isinstance(a, (CreateNamespace, InitNamespace))) | frozenset(claim)
    pools = pool_actions(d.pools, o, made, o.held)
    records = record_changes(o, actions + pools, claim=claim)
    return IrisPlan(actions + pools + inits, records,
                    kept_namespaces(d, o, drop_durable),
                    o.system_change_sticky and system_change_left(d, o), init_kept)


def init_kept_note(name: str) -> str:
    return (f"namespace {name}: init changed but not re-applied: the instance's storage is a "
            "durable volume and re-initialising resets the namespace's databases "
            "(`irisenv sync --drop-namespaces` resets and re-initialises it)")


def kept_note(name: str) -> str:
    return (f"namespace {name} is no longer declared but kept: the instance's "
            "storage is a durable volume and dropping the namespace deletes its databases "
            "(`irisenv sync --drop-namespaces` drops it; declare it again to keep it for good)")


def sticky_note(username: str) -> str:
    return STICKY_SYSTEM_NOTE.format(user=username)
