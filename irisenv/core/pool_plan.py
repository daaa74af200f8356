"""The namespace pool on the plan side: which copies a sync creates or drops, and the
pool's view the lease table is told about (docs/pool.md). Pure; no I/O.

Copies are recorded in ^IRISENV with kind ``pool`` (core/iris_record.py): ``run`` holds
the template's name, ``init`` the hash of the master the copy was last reset from (the
template's init hash; MASTER_EMPTY for a template without init). A copy is created once
the template is initialised: the template's record carries the current init hash, or an
InitNamespace of this same plan initialises it (converge applies pool steps after inits).

plan_iris (core/iris_plan.py) adds these actions; iris/converge.py carries them out with
iris/pool.py, and the sync then resets the new copies from the master (pool_sync.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..names import pool_copy
from .iris_record import POOL, NamespaceRecord, RecordChanges

MASTER_EMPTY = "empty"  # the master's hash for a template without init (its new data database)


@dataclass(frozen=True)
class PoolSpec:
    """The pool declared on one namespace: its template, min and max copies, and the hash
    of the template's init (MASTER_EMPTY without init)."""

    template: str
    min: int
    max: int
    digest: str = MASTER_EMPTY

    def copy(self, number: int) -> str:
        return pool_copy(self.template, number)


def specs(inst, inits: dict | None = None) -> tuple:
    """The PoolSpecs of an instance's namespaces (config model), with their init hashes
    (``inits``: {namespace: core/init.NamespaceInit})."""
    out = []
    for ns in inst.namespaces:
        if ns.pool is not None:
            ni = (inits or {}).get(ns.name)
            out.append(PoolSpec(ns.name, ns.pool.min, ns.pool.max,
                                ni.digest if ni is not None else MASTER_EMPTY))
    return tuple(out)


@dataclass(frozen=True)
class CreatePoolCopy:
    """Create copy ``name`` of ``template``: its own data database from the template's
    master, the template's code database mapped."""

    name: str
    template: str
    digest: str  # the master it starts from
    kind = "create-pool-copy"
    symbol = "+"

    def describe(self) -> str:
        return (f"namespace {self.name}: pool copy of {self.template} (database "
                f"{self.name}_DATA from {self.template}'s initialised data, code from "
                f"{self.template}_CODE)")

    def record(self, created: int, run: str) -> RecordChanges:
        """Its init stays empty until a reset copies the master in (iris/pool.py writes
        the master's hash then): a new copy's data database is empty."""
        return RecordChanges(writes=((self.name, NamespaceRecord(
            POOL, created, self.template, "")),))


@dataclass(frozen=True)
class DropPoolCopy:
    """Drop a copy irisenv made: beyond the pool's max, or its template has no pool now."""

    name: str
    template: str
    kind = "drop-pool-copy"
    symbol = "-"

    def describe(self) -> str:
        return f"namespace {self.name}: pool copy of {self.template}, no longer wanted"

    def record(self, created: int, run: str) -> RecordChanges:
        return RecordChanges(kills=(self.name,))


def copies_of(o, template: str) -> dict:
    """{number: (name, record)} of the existing, recorded copies of ``template``."""
    out = {}
    for name, rec in o.records.items():
        if rec.kind != POOL or rec.run != template or not o.namespaces.get(name, False):
            continue
        number = _number(name, template)
        if number is not None:
            out[number] = (name, rec)
    return out


def template_ready(spec: PoolSpec, o, initialising: frozenset) -> bool:
    """Whether the template is (or, by this plan, will be) initialised with spec.digest."""
    if spec.template in initialising:
        return True
    rec = o.records.get(spec.template)
    if not o.namespaces.get(spec.template, False) or rec is None:
        return False
    return rec.init == spec.digest or (spec.digest == MASTER_EMPTY and rec.init == "")


def pool_actions(pools: tuple, o, initialising: frozenset = frozenset(),
                 held: frozenset = frozenset()) -> tuple:
    """The copies to create (1..min that do not exist, once the template is ready) and to
    drop (numbers above max, and every copy of a template whose pool is gone), except
    copies in ``held`` (leased or kept in the lease table: dropped by a later sync, after
    their release). ``initialising``: templates an InitNamespace of this plan initialises.
    Stale copies (another init hash) are not replaced here: the lease table marks them
    dirty and the reset brings them to the current master (docs/pool.md)."""
    acts: list = []
    wanted = {p.template: p for p in pools}
    for p in pools:
        have = copies_of(o, p.template)
        if template_ready(p, o, initialising):
            acts += [CreatePoolCopy(p.copy(n), p.template, p.digest)
                     for n in range(1, p.min + 1) if n not in have]
        acts += [DropPoolCopy(name, p.template) for n, (name, _) in sorted(have.items())
                 if n > p.max and name not in held]
    for name, rec in sorted(o.records.items()):
        if (rec.kind == POOL and rec.run not in wanted and name not in held
                and o.namespaces.get(name, False)):
            acts.append(DropPoolCopy(name, rec.run))
    return tuple(acts)


def existing(o, template: str, instance: str) -> dict:
    """The lease table's view of one template's copies (leases.LeaseTable.synced):
    {"<instance>/<copy>": (number, init of its record)}."""
    return {f"{instance}/{name}": (n, rec.init)
            for n, (name, rec) in copies_of(o, template).items()}


def _number(name: str, template: str) -> int | None:
    prefix = f"{template}_P"
    digits = name[len(prefix):] if name.startswith(prefix) else ""
    if not digits.isdigit() or digits.startswith("0"):
        return None
    return int(digits)
