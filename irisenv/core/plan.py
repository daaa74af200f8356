"""Typed plan steps and the pure reconcile(desired, observed) -> Plan."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import labels as L
from .desired import HASH_FORMAT, DesiredContainer, diff_specs
from .drift import container_drift
from .iris_plan import (STICKY_SYSTEM_NOTE, DropNamespace, IrisDesired, diff as iris_diff,
                        kept_namespaces, record_changes, system_change_left)
from .iris_record import RecordChanges
from .observed import Observed, ObservedContainer


@dataclass(frozen=True)
class Pull:
    image: str
    symbol = "+"
    kind = "pull"


@dataclass(frozen=True)
class Create:
    desired: DesiredContainer
    symbol = "+"
    kind = "create"


@dataclass(frozen=True)
class Start:
    desired: DesiredContainer
    container: ObservedContainer
    symbol = "~"
    kind = "start"


@dataclass(frozen=True)
class Replace:
    desired: DesiredContainer
    container: ObservedContainer
    changes: tuple = ()  # (field, old, new) that force the replacement (spec label vs config)
    reasons: tuple = ()  # other reasons: "--recreate", "reuse = never", ...
    actual: tuple = ()  # (field, actual, new): the real container differs (docker inspect)
    symbol = "-/+"
    kind = "replace"


@dataclass(frozen=True)
class Remove:
    container: ObservedContainer
    reason: str
    symbol = "-"
    kind = "remove"


@dataclass(frozen=True)
class Wait:
    """Not a change: make sure the instance is ready (after a change, or not yet seen ready).
    Without ``session_probe`` the ladder stops at qlist: an IRIS state probe (a session)
    follows at once and is the last rung itself."""

    desired: DesiredContainer
    session_probe: bool = True
    kind = "wait"


@dataclass(frozen=True)
class Converge:
    """In-place IRIS-level changes (`~`): namespaces, CallIn, the user. ``actions`` None
    means the container is new or was not running: IRIS is observed once it is ready and
    the same pure diff() decides what to apply."""

    desired: DesiredContainer
    iris: IrisDesired
    actions: tuple | None
    records: RecordChanges | None = None  # irisenv's record nodes the actions change
    alongside: bool = False  # follows a create/start/replace of the same instance
    fresh: bool = False  # the container is new: its boot merge created the namespaces
    drop_durable: bool = False  # --drop-namespaces: drop undeclared namespaces on a volume too
    destroys: tuple = ()  # with actions None: the drops already foreseeable (a volume's state)
    symbol = "~"
    kind = "converge"

    @property
    def drops(self) -> tuple:
        """The namespace drops this step carries out: their data is lost."""
        if self.actions is None:
            return self.destroys
        return tuple(a for a in self.actions if isinstance(a, DropNamespace))


@dataclass(frozen=True)
class Problem:
    instance: str
    what: str
    why: str
    fix: str


@dataclass
class Plan:
    project: str
    steps: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def changes(self) -> list:
        return [s for s in self.steps if not isinstance(s, Wait)
                and not (isinstance(s, Converge) and s.alongside)]

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict:
        """Changes by kind. A namespace drop counts as a destroy (its data is lost); a
        converge step counts as an update when it changes anything besides drops."""
        out = {"pull": 0, "add": 0, "start": 0, "replace": 0, "update": 0, "destroy": 0,
               "remove": 0}
        for s in self.steps:
            if isinstance(s, Wait):
                continue
            if isinstance(s, Converge):
                out["destroy"] += len(s.drops)  # foreseen drops count beside a replace too
                if not s.alongside and (s.actions is None or len(s.actions) > len(s.drops)):
                    out["update"] += 1
                continue
            out[{"pull": "pull", "create": "add", "start": "start", "replace": "replace",
                 "remove": "remove"}[s.kind]] += 1
        return out

    def for_instance(self, instance: str) -> list:
        out = []
        for s in self.steps:
            inst = s.desired.instance if hasattr(s, "desired") else getattr(
                getattr(s, "container", None), "instance", None)
            if inst == instance:
                out.append(s)
        return out


@dataclass(frozen=True)
class Options:
    recreate: bool = False
    remove_orphans: bool = False
    wait: bool = True
    drop_namespaces: bool = False  # drop no longer declared namespaces on durable storage too


_GONE = ("removing", "dead")


def reconcile(desired: list[DesiredContainer], observed: Observed, options: Options = Options(),
              iris: dict | None = None) -> Plan:
    """``iris`` maps instance -> IrisDesired; with it, IRIS-level state is planned too
    (observed.iris maps container id -> IrisObserved for running, probed containers)."""
    plan = Plan(project=observed.project)

    def wait(d) -> Wait:
        return Wait(d, session_probe=iris is None or d.instance not in iris)

    def converge(d, current, changed: bool, fresh: bool = False):
        if iris is None or d.instance not in iris:
            return
        want = iris[d.instance]
        drop = options.drop_namespaces
        now = None if current is None else observed.iris.get(current.id)
        if now is not None:
            for name in kept_namespaces(want, now, drop):
                plan.notes.append(
                    f"{d.instance}: namespace {name} is no longer declared but kept: the "
                    "instance's storage is a durable volume and dropping the namespace deletes "
                    "its databases (`irisenv sync --drop-namespaces` drops it; declare it again "
                    "to keep it for good)")
        seen = None if (changed or current is None) else now
        if seen is None:
            # A volume carries IRIS's state across a replace or restart: the drops the
            # converge will make are foreseeable from what the running container shows.
            destroys = () if now is None or fresh or want.storage != "volume" else tuple(
                a for a in iris_diff(want, now, drop_durable=drop) if isinstance(a, DropNamespace))
            plan.steps.append(Converge(d, want, None, alongside=changed, fresh=fresh,
                                       drop_durable=drop, destroys=destroys))
            return
        actions = iris_diff(want, seen, drop_durable=drop)
        if seen.system_change_sticky and system_change_left(want, seen):
            plan.notes.append(f"{d.instance}: {STICKY_SYSTEM_NOTE.format(user=want.username)}")
        if actions:
            plan.steps.append(Converge(d, want, actions, record_changes(seen, actions),
                                       drop_durable=drop))

    pulls: list[str] = []
    wanted = {d.instance for d in desired}
    for d in desired:
        mine = [c for c in observed.containers if c.instance == d.instance]
        current = next((c for c in mine if c.name == d.name and c.state not in _GONE), None)
        for extra in mine:
            if extra is not current:
                plan.steps.append(Remove(extra, "left over from an interrupted sync"
                                  if extra.name != d.name else f"container is {extra.state}"))
        if current is None and d.name in observed.foreign_by_name:
            other = observed.foreign_by_name[d.name]
            owner = other.labels.get(L.PROJECT) if L.is_ours(other.labels) else None
            if owner is not None:
                plan.problems.append(Problem(
                    d.instance, f"container name {d.name} is taken by irisenv project {owner!r}",
                    f"project {owner!r} has a container {other.short_id} with the same "
                    f"<project>-<instance> name; irisenv never touches another project's containers",
                    f"rename this project ([project] name) or instance {d.instance!r}, or remove "
                    f"the other one with `irisenv down --project {owner}`"))
            else:
                plan.problems.append(Problem(
                    d.instance, f"a container named {d.name} exists and was not created by irisenv",
                    f"container {other.short_id} has no io.irisenv labels; irisenv never modifies or "
                    "removes containers it did not create",
                    f"remove or rename it yourself (docker rm -f {d.name}), or set [project] name "
                    "to another value"))
            continue
        image_id = observed.image_ids.get(d.image)
        if image_id is None and d.image not in pulls:
            pulls.append(d.image)
            plan.steps.insert(0, Pull(d.image))
        # A brand-new IRIS (no durable volume carried over): what its boot merge created is ours.
        fresh = (d.full_spec()["storage"] != "volume"
                 or L.volume_name(d.project, d.instance) not in observed.volumes)
        if current is None:
            plan.steps.append(Create(d))
            if options.wait:
                plan.steps.append(wait(d))
                converge(d, None, True, fresh=fresh)
            continue
        changes: list = []
        reasons: list = []
        if options.recreate:
            reasons.append("--recreate was given")
        elif d.reuse == "never":
            reasons.append('reuse = "never": a fresh container every sync')
        if current.state == "created" and not reasons:
            # Never started: what a sync killed between create and copying irisenv's files
            # in leaves behind. Its files may be missing (no merge file, no writable data
            # directory on a volume), so starting it could fail on every sync: make it anew.
            reasons.append("created but never started (interrupted sync): its files may be "
                           "incomplete")
        if current.hash != d.hash:
            changes = diff_specs(current.spec, d.spec)
            if not changes and current.hash_format != HASH_FORMAT:
                reasons.append(f"spec hash format {current.hash_format} -> {HASH_FORMAT} "
                               "(irisenv upgrade)")
        if image_id is not None and current.image_id and current.image_id != image_id:
            changes.append(("image id", current.image_id[:19], image_id[:19]))
        # What the labels cannot see (docker update, copied labels): a field the label diff
        # already names is not repeated.
        named = {k for k, _, _ in changes}
        actual = [x for x in (container_drift(d, current.actual) if current.actual else [])
                  if x[0] not in named]
        drift = bool(changes or actual) or any("hash format" in r for r in reasons)
        if drift and d.reuse == "always" and not options.recreate:
            fields = [f"{k} {_short(o, k)} -> {_short(n, k)}" for k, o, n in changes] + [
                f"{k} (container) {show_actual(o, k)} -> {show_actual(n, k)}" for k, o, n in actual]
            plan.notes.append(f"{d.instance}: drift kept (reuse = \"always\")"
                              + (": " + ", ".join(fields) if fields else ""))
            changes, actual, reasons = [], [], [r for r in reasons if "hash format" not in r]
        if changes or actual or reasons:
            plan.steps.append(Replace(d, current, tuple(changes), tuple(reasons), tuple(actual)))
            if options.wait:
                plan.steps.append(wait(d))
                converge(d, current, True, fresh=fresh)
        elif current.state != "running":
            plan.steps.append(Start(d, current))
            if options.wait:
                plan.steps.append(wait(d))
                converge(d, current, True)
        elif options.wait and current.id not in observed.ready_ids:
            plan.steps.append(wait(d))
            converge(d, current, False)
        else:
            converge(d, current, False)
    for c in observed.containers:
        if c.instance not in wanted:
            reason = f"instance {c.instance!r} is no longer in the config"
            if options.remove_orphans:
                plan.steps.append(Remove(c, reason))
            else:
                plan.notes.append(f"orphan container {c.name}: {reason} (kept; "
                                  "--remove-orphans removes it)")
    return plan


def _short(v, key: str = "") -> str:
    from .render import show

    return show(v, key)  # with the key, sizes read "2g", as in the plan's field lines


def show_actual(v, key: str = "") -> str:
    """A value of a container-drift line: its texts ("127.0.0.1", "(not published)") bare."""
    return v if isinstance(v, str) else _short(v, key)


__all__ = ["Converge", "Create", "Options", "Plan", "Problem", "Pull", "Remove", "Replace", "Start", "Wait",
           "reconcile", "L"]
