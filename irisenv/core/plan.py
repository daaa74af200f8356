"""The plan: typed steps, and the pure reconcile(desired, observed) -> Plan.

A sync runs in two phases, each observe -> pure plan -> apply. Phase one is the containers:
this module's steps (pull, create, start, replace, promote a warm spare, create a spare,
remove, wait). Phase two is IRIS itself,
per instance, once it is ready: the in-place actions of core/iris_plan.py. For an instance
whose IRIS already answered when the plan was made, the plan carries its IRIS actions now
(Converge); for one that is new, changed or not ready, it carries ConvergeWhenReady: the
orchestrator (irisenv/phases.py) observes IRIS once it is ready and plans those actions with
the same pure function (iris_plan.plan_iris). Every step is one operation with a cause;
the executor (irisenv/apply.py) carries them out and decides nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import labels as L
from .desired import HASH_FORMAT, DesiredContainer, diff_specs
from .display import show, show_actual
from .drift import container_drift
from .iris_plan import (DropNamespace, InitNamespace, IrisDesired, init_kept_note, kept_note,
                        plan_iris, sticky_note)
from .iris_record import RecordChanges
from .observed import Observed, ObservedContainer


@dataclass(frozen=True)
class Pull:
    image: str
    newer: str | None = None  # the registry's digest behind the tag, when the tag moved
    symbol = "+"
    kind = "pull"

    @property
    def cause(self) -> str:
        if self.newer is not None:
            return f"a newer image is behind the tag in the registry ({self.newer[:19]})"
        return "the image is not present on the engine"


@dataclass(frozen=True)
class Create:
    desired: DesiredContainer
    symbol = "+"
    kind = "create"

    @property
    def cause(self) -> str:
        return "no container for this instance"


@dataclass(frozen=True)
class Start:
    desired: DesiredContainer
    container: ObservedContainer
    symbol = "~"
    kind = "start"

    @property
    def cause(self) -> str:
        return f"the container is {self.container.state}"


@dataclass(frozen=True)
class Replace:
    desired: DesiredContainer
    container: ObservedContainer
    changes: tuple = ()  # (field, old, new) that force the replacement (spec label vs config)
    reasons: tuple = ()  # other reasons: "--recreate", "reuse = never", ...
    actual: tuple = ()  # (field, actual, new): the real container differs (docker inspect)
    symbol = "-/+"
    kind = "replace"

    @property
    def cause(self) -> str:
        return ", ".join([k for k, _, _ in self.changes]
                         + [f"{k} (container)" for k, _, _ in self.actual] + list(self.reasons))


@dataclass(frozen=True)
class Promote:
    """Swap a ready warm spare in as the instance (docs/spares.md): ``old``, the current
    container, goes (a fresh container every sync: its data is not kept), the spare takes
    the instance's name and publishes its ports."""

    desired: DesiredContainer
    spare: ObservedContainer
    old: ObservedContainer | None = None
    why: str = "no container for this instance"  # the cause of the replace or create it is
    symbol = "-/+"
    kind = "promote"

    @property
    def container(self) -> ObservedContainer | None:
        return self.old

    @property
    def cause(self) -> str:
        return f"{self.why}; spare {self.spare.name} ({self.spare.short_id}) is ready"


@dataclass(frozen=True)
class CreateSpare:
    """Create and start a warm spare, detached from every network, without waiting for
    its boot (a thread of its own in the executor: ``group``)."""

    desired: DesiredContainer
    name: str
    symbol = "+"
    kind = "spare"

    @property
    def group(self) -> str:
        return f"spare:{self.name}"

    @property
    def cause(self) -> str:
        return f"spares = {self.desired.spares}: booted ahead, swapped in by a later sync"


@dataclass(frozen=True)
class Remove:
    container: ObservedContainer
    reason: str
    spare: bool = False  # a spare drained: removed in a thread of its own (``group``)
    symbol = "-"
    kind = "remove"

    @property
    def group(self) -> str | None:
        return f"spare:{self.container.name}" if self.spare else None

    @property
    def cause(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Wait:
    """Not a change: make sure the instance is ready (after a change, or not yet seen ready).
    ``container`` is the existing container waited on (None: the one an earlier step of the
    same instance makes). Without ``session_probe`` the ladder stops at qlist: the IRIS
    state probe of phase two follows at once and is the last rung itself."""

    desired: DesiredContainer
    container: ObservedContainer | None = None
    session_probe: bool = True
    kind = "wait"

    @property
    def cause(self) -> str:
        return "IRIS has not answered yet" if self.container is not None else \
            "the container is new or restarted"


@dataclass(frozen=True)
class Converge:
    """In-place IRIS-level changes (`~`) of a running instance whose IRIS answered the
    plan's probe: the actions and the record nodes they change are known now."""

    desired: DesiredContainer
    iris: IrisDesired
    actions: tuple
    records: RecordChanges | None = None  # irisenv's record nodes the actions change
    container: ObservedContainer | None = None  # the running container they apply to
    symbol = "~"
    kind = "converge"
    alongside = False  # a change of its own, never part of a create/start/replace

    @property
    def drops(self) -> tuple:
        """The namespace drops this step carries out, and the re-inits that reset a
        durable namespace: their data is lost."""
        return tuple(a for a in self.actions if isinstance(a, DropNamespace)
                     or getattr(a, "destroys", False))

    @property
    def cause(self) -> str:
        return "; ".join(a.describe() for a in self.actions)


@dataclass(frozen=True)
class InitPreview:
    """A declared init phase two applies once IRIS is ready: ``certain`` when it is known
    now (a brand-new IRIS, or what the volume's IRIS already showed); otherwise it is
    applied unless IRIS's record shows this very init applied already."""

    namespace: str
    entries: int
    certain: bool = True


def init_previews(want: IrisDesired, fresh: bool, ip) -> tuple:
    """The inits a ConvergeWhenReady step will apply, as far as the config and what IRIS
    showed (``ip``, the plan of the current container's IRIS, or None) tell."""
    if fresh or ip is None:
        return tuple(InitPreview(ni.namespace, len(ni.items), certain=fresh)
                     for ni in want.inits)
    return tuple(InitPreview(a.name, len(a.init.items)) for a in ip.actions
                 if isinstance(a, InitNamespace))


@dataclass(frozen=True)
class ConvergeWhenReady:
    """Phase two for an instance that is new, changed or not ready yet: once it is ready,
    IRIS is observed and iris_plan.plan_iris() decides the actions (see irisenv/phases.py)."""

    desired: DesiredContainer
    iris: IrisDesired
    alongside: bool = False  # follows a create/start/replace of the same instance
    fresh: bool = False  # the container is new: its boot merge created the namespaces
    drop_durable: bool = False  # --drop-namespaces: drop undeclared namespaces on a volume too
    destroys: tuple = ()  # the drops already foreseeable (a volume carries IRIS's state over)
    inits: tuple = ()  # InitPreview of each namespace whose declared init phase two applies
    symbol = "~"
    kind = "converge"

    @property
    def drops(self) -> tuple:
        return self.destroys

    @property
    def cause(self) -> str:
        return "IRIS-level state converged once IRIS is ready"


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
                and not getattr(s, "alongside", False)]

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict:
        """Changes by kind. A namespace drop counts as a destroy (its data is lost); a
        converge step counts as an update when it changes anything besides drops."""
        out = {"pull": 0, "add": 0, "start": 0, "replace": 0, "update": 0, "destroy": 0,
               "remove": 0, "promote": 0, "spare": 0}
        for s in self.steps:
            if isinstance(s, Wait):
                continue
            if isinstance(s, (Converge, ConvergeWhenReady)):
                out["destroy"] += len(s.drops)  # foreseen drops count beside a replace too
                changes_more = isinstance(s, ConvergeWhenReady) or len(s.actions) > len(s.drops)
                if not s.alongside and changes_more:
                    out["update"] += 1
                continue
            out[{"pull": "pull", "create": "add", "start": "start", "replace": "replace",
                 "promote": "promote", "remove": "remove", "spare": "spare"}[s.kind]] += 1
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
    pull: bool = False  # --pull: this run, pull = "missing" acts as "always"
    reuse: str | None = None  # --reuse: this run, every instance's reuse mode (None: its own)


def pull_policy(d: DesiredContainer, options: Options) -> str:
    """The instance's pull policy for this run: ``--pull`` makes "missing" "always";
    "never" stays never (the image does not come from a registry)."""
    return "always" if options.pull and d.pull == "missing" else d.pull


def tags_to_check(desired: list[DesiredContainer], options: Options) -> list[str]:
    """The image references whose tag the registry is asked about: those of instances
    whose policy is "always", unless pinned by digest (a digest cannot move)."""
    return sorted({d.image for d in desired
                   if pull_policy(d, options) == "always" and "@" not in d.image})


_GONE = ("removing", "dead")


def reconcile(desired: list[DesiredContainer], observed: Observed, options: Options = Options(),
              iris: dict | None = None, init_previous=None) -> Plan:
    """``iris`` maps instance -> IrisDesired; with it, IRIS-level state is planned too
    (observed.iris maps container id -> IrisObserved for running containers whose IRIS
    answered the probe: those are the ready ones). ``init_previous``: see
    iris_plan.init_actions."""
    plan = Plan(project=observed.project)

    def wait(d, current=None) -> Wait:
        return Wait(d, current, session_probe=iris is None or d.instance not in iris)

    def converge(d, current, changed: bool, fresh: bool = False):
        if iris is None or d.instance not in iris:
            return
        want = iris[d.instance]
        drop = options.drop_namespaces
        now = None if current is None else observed.iris.get(current.id)
        ip = None if now is None else plan_iris(want, now, drop_durable=drop,
                                                previous=init_previous)
        if ip is not None:
            plan.notes.extend(f"{d.instance}: {kept_note(name)}" for name in ip.kept)
            plan.notes.extend(f"{d.instance}: {init_kept_note(name)}" for name in ip.init_kept)
        if ip is None and not changed and not options.wait:
            return  # IRIS has not answered and --no-wait does not wait for it (no phase two)
        if changed or ip is None:
            # A volume carries IRIS's state across a replace or restart: the drops phase two
            # will make are foreseeable from what the running container shows.
            destroys = () if ip is None or fresh or want.storage != "volume" else ip.drops
            plan.steps.append(ConvergeWhenReady(d, want, alongside=changed, fresh=fresh,
                                                drop_durable=drop, destroys=destroys,
                                                inits=init_previews(want, fresh, ip)))
            return
        if ip.sticky:
            plan.notes.append(f"{d.instance}: {sticky_note(want.username)}")
        if ip.actions:
            plan.steps.append(Converge(d, want, ip.actions, ip.records, container=current))

    pulls: list[str] = []
    told: set = set()  # images a registry note was made for
    wanted = {d.instance for d in desired}
    # images whose tag moved in the registry (asked for an instance whose policy is
    # "always"): pulled, so every container on one is replaced, whatever its own policy
    moved = {d.image: observed.registry[d.image] for d in desired
             if pull_policy(d, options) == "always" and observed.image_ids.get(d.image)
             and d.image in observed.registry and observed.registry[d.image].moved}
    for d in desired:
        mine = [c for c in observed.containers if c.instance == d.instance]
        spares = [c for c in mine if c.is_spare]
        mine = [c for c in mine if c not in spares]
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
        policy = pull_policy(d, options)
        newer = None  # the registry's digest behind the tag, when it moved
        if image_id is None and policy == "never":
            plan.problems.append(Problem(
                d.instance, f'image {d.image} is not present on the engine, and pull = "never"',
                'pull = "never": this image never comes from a registry, so irisenv does not '
                "pull it",
                f"build or load it on the engine (docker build -t {d.image} ..., docker load), "
                f'pull it yourself (docker pull {d.image}), or set pull = "missing" for '
                f"instance {d.instance}"))
            continue
        if (options.pull and d.pull == "never" and d.image not in moved
                and (d.image, "never") not in told):
            told.add((d.image, "never"))
            plan.notes.append(f'{d.instance}: pull = "never": --pull does not check image '
                              f"{d.image}")
        check = observed.registry.get(d.image) if policy == "always" else None
        if d.image in moved:
            check = moved[d.image]
            newer = check.digest
        elif image_id is not None and check is not None:
            if check.reason == "unreachable":
                if d.image not in told:
                    told.add(d.image)
                    plan.notes.append(f"{check.what}; the local image {image_id[:19]} is used "
                                      f'as it is (pull = "always"; {check.why})')
            elif check.reason:
                plan.problems.append(Problem(
                    d.instance, check.what, check.why,
                    f'{check.fix}; or set pull = "missing" to use the local image without '
                    "asking the registry"))
                continue
        if (image_id is None or newer is not None) and d.image not in pulls:
            pulls.append(d.image)
            plan.steps.insert(len(pulls) - 1, Pull(d.image, newer))
        # A brand-new IRIS (no durable volume carried over): what its boot merge created is ours.
        fresh = (d.full_spec()["storage"] != "volume"
                 or L.volume_name(d.project, d.instance) not in observed.volumes)
        usable, drained = sort_spares(d, spares, image_id, newer)
        usable.sort(key=lambda s: s.id not in observed.iris)  # ready ones first
        ready = [s for s in usable if s.id in observed.iris]

        def promote_or(make, old=None):
            """Swap in a ready spare, else ``make`` (today's path, and a note says so)."""
            if ready:
                plan.steps.append(Promote(d, ready[0], old, make.cause))
                usable.remove(ready[0])
                if options.wait:  # no ladder: its IRIS answered the plan's probe; phase
                    converge(d, ready[0], True, fresh=True)  # two probes it once more
                return
            if d.spares:
                plan.notes.append(f"{d.instance}: " + no_spare_note(usable))
            plan.steps.append(make)
            if options.wait:
                plan.steps.append(wait(d))
                converge(d, old, True, fresh=fresh)

        if current is None:
            promote_or(Create(d))
            plan.steps.extend(spare_steps(d, usable, drained, observed.containers))
            continue
        changes: list = []
        reasons: list = []
        reuse = options.reuse or d.reuse
        said = f"--reuse {reuse}" if options.reuse else f'reuse = "{reuse}"'  # where it came from
        if options.recreate:
            reasons.append("--recreate was given")
        elif reuse == "never":
            reasons.append(f"{said}: a fresh container "
                           + ("this run" if options.reuse else "every sync"))
        if current.made_as_spare and not current.networks:
            reasons.append("its ports are not published: a spare's promotion was interrupted")
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
        if newer is not None:  # the tag moved in the registry: the pull brings a new image
            old = check.local[0][:19] if check.local else "(none: built or loaded here)"
            changes.append(("image digest", old, newer[:19]))
        # What the labels cannot see (docker update, copied labels): a field the label diff
        # already names is not repeated.
        named = {k for k, _, _ in changes}
        actual = [x for x in (container_drift(d, current.actual) if current.actual else [])
                  if x[0] not in named]
        drift = bool(changes or actual) or any("hash format" in r for r in reasons)
        if drift and reuse == "always" and not options.recreate:
            fields = [f"{k} {show(o, k)} -> {show(n, k)}" for k, o, n in changes] + [
                f"{k} (container) {show_actual(o, k)} -> {show_actual(n, k)}" for k, o, n in actual]
            plan.notes.append(f"{d.instance}: drift kept ({said})"
                              + (": " + ", ".join(fields) if fields else ""))
            changes, actual, reasons = [], [], [r for r in reasons if "hash format" not in r]
        if changes or actual or reasons:
            promote_or(Replace(d, current, tuple(changes), tuple(reasons), tuple(actual)),
                       current)
        elif current.state != "running":
            plan.steps.append(Start(d, current))
            if options.wait:
                plan.steps.append(wait(d, current))
                converge(d, current, True)
        elif options.wait and current.id not in observed.iris:  # IRIS did not answer (yet)
            plan.steps.append(wait(d, current))
            converge(d, current, False)
        else:
            converge(d, current, False)
        plan.steps.extend(spare_steps(d, usable, drained, observed.containers))
    for c in observed.containers:
        if c.instance not in wanted:
            reason = f"instance {c.instance!r} is no longer in the config"
            if c.is_spare:
                # a spare holds nothing of the user's: never kept as an orphan
                plan.steps.append(Remove(c, f"spare of {reason}", spare=True))
            elif options.remove_orphans:
                plan.steps.append(Remove(c, reason))
            else:
                plan.notes.append(f"orphan container {c.name}: {reason} (kept; "
                                  "--remove-orphans removes it)")
    return plan


def sort_spares(d: DesiredContainer, spares: list, image_id: str | None,
                newer: str | None) -> tuple[list, list]:
    """(the spares a promotion may use: running, detached, of this very spec and image,
    ready ones first; the others as Remove steps, each with its reason)."""
    usable, drained = [], []
    for s in sorted(spares, key=lambda c: c.name):
        if not d.spares:
            why = "spares = 0"
        elif s.state != "running":
            why = f"the spare is {s.state}"
        elif s.networks:
            why = "the spare is attached to a network (its ports would clash)"
        elif s.hash != d.hash or s.hash_format != HASH_FORMAT:
            fields = [k for k, _, _ in diff_specs(s.spec, d.spec)] or ["spec hash format"]
            why = f"spare of an older spec ({', '.join(fields)})"
        elif newer is not None or image_id is None or s.image_id != image_id:
            why = "spare of an older image"
        elif d.host_ports and s.labels.get(L.PORTS) != d.labels.get(L.PORTS):
            # made with other leased host ports (a sync's lease: plan has none to compare)
            why = "spare made for other host ports than the instance's lease"
        else:
            usable.append(s)
            continue
        drained.append(Remove(s, why, spare=True))
    return usable, drained


def spare_steps(d: DesiredContainer, usable: list, drained: list, containers) -> list:
    """The drains, then the spares to create (after a promotion took one of ``usable``)
    or, beyond ``spares``, to remove."""
    steps = list(drained)
    steps += [Remove(s, f"more spares than spares = {d.spares}", spare=True)
              for s in usable[d.spares:]]
    taken = {c.name for c in containers}
    slot = 0
    for _ in range(d.spares - len(usable)):
        slot += 1
        while L.spare_name(d.project, d.instance, slot) in taken:
            slot += 1
        steps.append(CreateSpare(d, L.spare_name(d.project, d.instance, slot)))
    return steps


def no_spare_note(usable: list) -> str:
    booting = f" ({len(usable)} still booting)" if usable else ""
    return f"no ready spare{booting}: a fresh container boots, as without spares"


__all__ = ["Converge", "ConvergeWhenReady", "Create", "CreateSpare", "InitPreview", "Promote", "Options", "Plan", "Problem", "Pull",
           "Remove", "Replace", "Start", "Wait", "pull_policy", "reconcile", "tags_to_check"]
