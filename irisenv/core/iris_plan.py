"""IRIS-level state: what must hold inside IRIS (credentials, services, namespaces), what a
probe found, and the in-place actions (`~`) that close the gap. Pure; no I/O.

Namespaces irisenv creates are recorded as owned inside IRIS (^IRISENV("owned")); only
owned namespaces are ever dropped, so a namespace made by hand is never touched. Dropping a
namespace deletes its databases: on durable storage (a volume) an owned namespace that is no
longer declared is kept unless the caller opts in (``drop_durable``, `sync --drop-namespaces`).
Namespaces made for a test run (the pytest iris_namespace fixture) are recorded apart, with
their creation time (^IRISENV("temp")): a sync leaves them alone while a run may still use
them, and drops only leftovers older than TEMP_TTL (a run that crashed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config.model import Instance
from ..names import BUILTIN_NAMESPACES

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

    @classmethod
    def of(cls, inst: Instance) -> "IrisDesired":
        return cls(instance=inst.name, username=inst.credentials.username,
                   namespaces=tuple(n.name for n in inst.namespaces
                                    if n.name not in BUILTIN_NAMESPACES),
                   callin=inst.services.callin, storage=inst.storage)


@dataclass(frozen=True)
class IrisObserved:
    version: str = ""
    owned: frozenset = frozenset()
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
    temp: dict = field(default_factory=dict)  # test-run namespace -> creation time (epoch s)
    observed_at: float = 0.0  # epoch seconds of the probe (the clock for temp leftovers)

    def stale_temp(self) -> tuple:
        return tuple(sorted(n for n, t in self.temp.items()
                            if self.observed_at and self.observed_at - t > TEMP_TTL))


# ------------------------------------------------------------------ actions
@dataclass(frozen=True)
class CreateNamespace:
    name: str
    symbol = "+"

    def describe(self) -> str:
        return f"namespace {self.name} (databases {self.name}_DATA, {self.name}_CODE)"


@dataclass(frozen=True)
class DropNamespace:
    """Drop a namespace irisenv created, with its databases: its data is lost."""

    name: str
    leftover: bool = False  # an abandoned test-run namespace, not a once-declared one
    symbol = "-"

    def describe(self) -> str:
        if self.leftover:
            return (f"namespace {self.name} and its databases (left by a test run that ended "
                    "without dropping it)")
        return (f"namespace {self.name} and its databases (created by irisenv, no longer "
                "declared): its data will be lost")


@dataclass(frozen=True)
class SetCallIn:
    enabled: bool
    was: bool | None
    symbol = "~"

    def describe(self) -> str:
        old = "unknown" if self.was is None else ("enabled" if self.was else "disabled")
        return f"%Service_CallIn: {old} -> {'enabled' if self.enabled else 'disabled'}"


@dataclass(frozen=True)
class EnsureUser:
    username: str
    reasons: tuple  # e.g. ("absent",), ("password not verified", "password change required")
    symbol = "~"

    def describe(self) -> str:
        return f"user {self.username}: {', '.join(self.reasons)} -> ready to log in"


@dataclass(frozen=True)
class ClearSystemChange:
    symbol = "~"

    def describe(self) -> str:
        return f"user {SYSTEM_USER}: password change required -> cleared"


def _undeclared(d: IrisDesired, o: IrisObserved) -> list:
    """(name, leftover) for namespaces irisenv made that are no longer wanted and still exist."""
    stale = set(o.stale_temp())
    return [(name, name in stale and name not in o.owned)
            for name in sorted((o.owned | stale) - set(d.namespaces))
            if o.namespaces.get(name, True)]


def kept_namespaces(d: IrisDesired, o: IrisObserved, drop_durable: bool = False) -> tuple:
    """Owned, no longer declared namespaces that stay because their data is meant to last:
    the instance's storage is durable and the caller did not opt in to dropping them."""
    if d.storage != "volume" or drop_durable:
        return ()
    return tuple(name for name, leftover in _undeclared(d, o) if not leftover)


def diff(d: IrisDesired, o: IrisObserved, *, drop_durable: bool = False) -> tuple:
    """The in-place actions that bring ``o`` to ``d``. A no longer declared namespace on
    durable storage is dropped only with ``drop_durable`` (see kept_namespaces)."""
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
    return tuple(acts)


def system_change_left(d: IrisDesired, o: IrisObserved) -> bool:
    """_SYSTEM must still change its password while the configured user is someone else
    (for _SYSTEM itself, EnsureUser covers the flag)."""
    return d.username != SYSTEM_USER and bool(o.system_change_required)


def temp_after(o: IrisObserved | None, actions: tuple) -> dict:
    """The test-run record once `actions` are applied (dropped leftovers leave it)."""
    temp = dict(o.temp if o else {})
    for a in actions:
        if isinstance(a, DropNamespace):
            temp.pop(a.name, None)
    return temp


def format_temp(temp: dict) -> str:
    return ",".join(f"{n}@{int(t)}" for n, t in sorted(temp.items()))


def parse_temp(text: str) -> dict:
    out = {}
    for item in (text or "").split(","):
        name, _, when = item.partition("@")
        if name and when.isdigit():
            out[name] = int(when)
    return out


def owned_after(o: IrisObserved | None, actions: tuple) -> tuple:
    """The owned set once `actions` are applied (recorded inside IRIS)."""
    owned = set(o.owned if o else ())
    for a in actions:
        if isinstance(a, CreateNamespace):
            owned.add(a.name)
        elif isinstance(a, DropNamespace):
            owned.discard(a.name)
    return tuple(sorted(owned))
