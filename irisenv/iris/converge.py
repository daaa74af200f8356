"""Apply IRIS-level actions inside a running container, then verify them.

A CPF merge file for namespaces, databases, services and _SYSTEM's flags (`iris merge` on
the running instance), then the runner for irisenv's record and the user's password, then
the probe again: merge output is not trusted (docs/learnings/merge.md), the state is.

How each kind of action is carried out lives in one table, HOW: its [Actions] lines, its
runner statements (with their environment), and what to say when it did not hold.

Every value (user name, password, namespace names, record values) reaches ObjectScript
through the exec environment; names in the merge file were validated by irisenv.names
beforehand.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

from ..core.desired import CONTAINER_DIR, MERGE_PATH, mgr_dir
from ..core.iris_plan import (SYSTEM_USER, ClearSystemChange, CreateNamespace, DropNamespace,
                              EnsureUser, InitNamespace, IrisDesired, IrisObserved,
                              MigrateRecord, SetCallIn, diff)
from ..core.iris_record import LEGACY_NODES, STICKY, SYSCHANGE, RecordChanges
from ..core.monitoring import ConvergeMonitoring
from ..core.pool_plan import CreatePoolCopy, DropPoolCopy
from ..errors import IrisenvError
from ..names import namespace as check_namespace
from ..names import username as check_username
from . import runner
from .probe import THROW, _namespace_checks, observe
from .runner import env_ref

CONVERGE_PATH = CONTAINER_DIR + "/converge.cpf"
_MERGE_FIX = ("read `irisenv logs`; check that the image's `iris merge` applies [Actions] "
              "(IRIS 2022.1+).")


def db_dir(storage: str, namespace: str, kind: str) -> str:
    return f"{mgr_dir(storage)}/irisenv/{namespace.lower()}-{kind}/"


# ------------------------------------------------------------------ the table
def _nothing(*_args) -> list:
    return []


def _no_statements(*_args) -> tuple[list, dict]:
    return [], {}


@dataclass(frozen=True)
class How:
    """How one kind of action is carried out inside IRIS."""

    merge: Callable = _nothing  # (desired, action) -> [Actions] lines
    statements: Callable = _no_statements  # (desired, action, password) -> (statements, env)
    still: Callable | None = None  # (action) -> what failed, when it is still to do after
    fix: Callable = lambda action, d: _MERGE_FIX  # (action, desired) -> what to do then


def _create_lines(d: IrisDesired, a: CreateNamespace) -> list:
    n = check_namespace(a.name)
    return [f"CreateDatabase:Name={n}_DATA,Directory={db_dir(d.storage, n, 'data')}",
            f"CreateDatabase:Name={n}_CODE,Directory={db_dir(d.storage, n, 'code')}",
            f"CreateNamespace:Name={n},Globals={n}_DATA,Routines={n}_CODE,Interop=0"]


def _drop_lines(d: IrisDesired, a: DropNamespace) -> list:
    n = check_namespace(a.name)
    return [f"DeleteNamespace:Name={n}",
            f"DeleteDatabase:Name={n}_DATA,Directory={db_dir(d.storage, n, 'data')}",
            f"DeleteDatabase:Name={n}_CODE,Directory={db_dir(d.storage, n, 'code')}"]


def _user(d: IrisDesired, a: EnsureUser, password: str) -> tuple[list, dict]:
    return user_statements(), {"IRISENV_USER": check_username(d.username),
                               "IRISENV_PASSWORD": password}


def _user_still(a: EnsureUser) -> str:
    said = {
        "absent": f"user {a.username} still does not exist after Security.Users.Create",
        "password does not match the config": f"the password check for user {a.username} "
        "still fails after irisenv set the password (Security.Users %Save reported success)",
        "password change required": f"user {a.username} still requires a password change "
        "after irisenv saved ChangePassword=0 (Security.Users %Save reported success)"
        + (" and after the first-boot merge's ModifyUser:Name=_SYSTEM,ChangePassword=0"
           if a.username == SYSTEM_USER else ""),
        "disabled": f"user {a.username} is still disabled after irisenv saved Enabled=1",
    }
    return "; ".join(said.get(r, f"user {a.username}: {r}") for r in a.reasons)


def _user_fix(a: EnsureUser, d: IrisDesired) -> str:
    if "password change required" in a.reasons:
        return ("this IRIS keeps the forced password change: set a dedicated user "
                f"([instances.{d.instance}.credentials] username = \"tester\"; irisenv creates "
                "it and only warns about _SYSTEM), or change the password once by hand; "
                "read `irisenv logs`.")
    return "read `irisenv logs`; check the password against the IRIS password policy."


def _legacy_kill(d: IrisDesired, a: MigrateRecord, password: str) -> tuple[list, dict]:
    """The older record's nodes go once the new nodes are written (record_statements runs
    first, in the same script)."""
    nodes = [n for n in a.legacy.nodes if n in LEGACY_NODES]
    return ["kill " + ",".join(f'^IRISENV("{n}")' for n in nodes)] if nodes else [], {}


HOW: dict = {
    CreateNamespace.kind: How(
        merge=_create_lines,
        still=lambda a: (f"namespace {a.name} still does not exist after `iris merge` ran "
                         "CreateDatabase and CreateNamespace (merge reported success)")),
    DropNamespace.kind: How(merge=_drop_lines),
    SetCallIn.kind: How(
        merge=lambda d, a: [f"ModifyService:Name=%Service_CallIn,Enabled={1 if a.enabled else 0}"],
        still=lambda a: (f"%Service_CallIn is still {'disabled' if a.enabled else 'enabled'} "
                         "after `iris merge` ran ModifyService (merge reported success)")),
    EnsureUser.kind: How(statements=_user, still=_user_still, fix=_user_fix),
    ClearSystemChange.kind: How(
        merge=lambda d, a: [f"ModifyUser:Name={SYSTEM_USER},ChangePassword=0,"
                            "PasswordNeverExpires=1"]),
    # applied after the rest, by iris/init.py (converge() below): no merge lines here
    InitNamespace.kind: How(fix=lambda a, d: "read the error above; run `irisenv sync` again"),
    # pool copies (iris/pool.py): the copy is created with an empty data database; the
    # sync then resets it from the template's master (project.py, pool_reset.drain)
    CreatePoolCopy.kind: How(
        merge=lambda d, a: _pool().create_lines(d, a),
        still=lambda a: (f"pool copy {a.name} still does not exist after `iris merge` ran "
                         "CreateDatabase and CreateNamespace (merge reported success)")),
    DropPoolCopy.kind: How(merge=lambda d, a: _pool().drop_lines(d, a)),
    # the policy's files go in first (iris/monitoring.install, in _converge_state)
    ConvergeMonitoring.kind: How(
        statements=lambda d, a, password: _monitoring().converge_statements(a),
        still=lambda a: (f"{a.describe()}: still to do after irisenv applied it (the probe "
                         "reads the profile, the task and irisenv's record)"),
        fix=lambda a, d: "read `irisenv logs` and `irisenv logs --all`; run `irisenv sync` again "
                         "(IRISENV_MONITORING=off skips monitoring for one run)"),
    MigrateRecord.kind: How(
        statements=_legacy_kill,
        still=lambda a: ("the older record's nodes (" + ", ".join(a.legacy.nodes) + ") are "
                         "still there after irisenv killed them"),
        fix=lambda a, d: "read `irisenv logs`; run `irisenv sync` again"),
}


def _pool():
    from . import pool  # it imports this module

    return pool


def _monitoring():
    from . import monitoring

    return monitoring


def _dropped_dirs(d: IrisDesired, actions: tuple) -> list:
    """The directories of the namespaces ``actions`` drop: both databases of a declared
    namespace and its pool's masters (iris/pool.py: ``<ns>-pool/``), only the data
    database of a pool copy (the code is its template's)."""
    return [db_dir(d.storage, a.name, k) for a in actions
            if a.kind in (DropNamespace.kind, DropPoolCopy.kind)
            for k in (("data", "code", "pool") if a.kind == DropNamespace.kind else ("data",))]


# ------------------------------------------------------------------ rendering
def merge_text(d: IrisDesired, actions: tuple) -> str:
    """[Actions] for namespaces, databases, CallIn and _SYSTEM's flags."""
    lines = ["[Actions]"] + [line for a in actions for line in HOW[a.kind].merge(d, a)]
    return "\n".join(lines) + "\n" if len(lines) > 1 else ""


def boot_actions(d: IrisDesired) -> str:
    """The IRIS-level part of the first-boot merge file (no secrets: passwords never go
    into files; the user's password is set through the runner after boot)."""
    acts = [CreateNamespace(n) for n in d.namespaces] + [SetCallIn(d.callin, None),
                                                         ClearSystemChange()]
    return merge_text(d, tuple(acts))


def user_statements() -> list[str]:
    u, pw = env_ref("IRISENV_USER"), env_ref("IRISENV_PASSWORD")
    return [
        f'if \'##class(Security.Users).Exists({u}) {{ set sc=##class(Security.Users).Create({u},"%All",{pw}) {THROW} }}',
        f"if ##class(Security.Users).Exists({u},.o) {{ set o.PasswordExternal={pw},o.ChangePassword=0,"
        f"o.PasswordNeverExpires=1,o.Enabled=1,sc=o.%Save() {THROW} }}",
    ]


def record_statements(changes: RecordChanges) -> tuple[list, dict]:
    """Set or kill one ^IRISENV node per changed namespace (names and values through the
    environment), the instance entries, then kill the older format's nodes."""
    stmts, env = [], {}
    for i, (name, rec) in enumerate(changes.writes):
        env[f"IRISENV_REC_NAME_{i}"] = check_namespace(name)
        env[f"IRISENV_REC_VALUE_{i}"] = rec.encode()
        stmts.append(f'set ^IRISENV("ns",{env_ref(f"IRISENV_REC_NAME_{i}")})='
                     f'{env_ref(f"IRISENV_REC_VALUE_{i}")}')
    for i, name in enumerate(changes.kills):
        env[f"IRISENV_REC_KILL_{i}"] = check_namespace(name)
        stmts.append(f'kill ^IRISENV("ns",{env_ref(f"IRISENV_REC_KILL_{i}")})')
    for i, (key, value) in enumerate(changes.instance):
        if not re.fullmatch(r"[a-z]+", key):
            raise ValueError(f"bad instance entry {key!r}")
        env[f"IRISENV_REC_INSTANCE_{i}"] = value
        stmts.append(f'set ^IRISENV("instance","{key}")={env_ref(f"IRISENV_REC_INSTANCE_{i}")}')
    return stmts, env


# ------------------------------------------------------------------ converge
def converge(engine, container_id: str, d: IrisDesired, password: str, actions: tuple,
             records: RecordChanges, *, timeout: float = 120) -> IrisObserved | None:
    """Apply ``actions`` (see _converge_state), then each namespace's init (iris/init.py),
    once the namespaces exist and the record holds them."""
    inits = tuple(a for a in actions if a.kind == InitNamespace.kind)
    rest = tuple(a for a in actions if a.kind != InitNamespace.kind)
    after = None
    if rest or records or not inits:
        after = _converge_state(engine, container_id, d, password, rest, records,
                                timeout=timeout)
    if inits:
        from . import init

        for a in inits:
            init.apply(engine, container_id, d, a, timeout=timeout)
    return after


def _converge_state(engine, container_id: str, d: IrisDesired, password: str, actions: tuple,
                    records: RecordChanges, *, timeout: float = 120) -> IrisObserved | None:
    """Apply ``actions`` and ``records`` (core/iris_plan.record_changes) and verify; raise
    IrisenvError if IRIS is not as declared after.

    Order: merge → check the drops really happened (before forgetting them or deleting any
    file) → the record's nodes, then each action's statements (the user; the older record's
    removal after the nodes that replace it) → remove the dropped databases' directories →
    probe everything. The first-boot merge file (ISC_CPF_MERGE_FILE, which IRIS re-merges
    when it changes and at every start) is emptied rather than rewritten: its job ended at
    first boot, and a stale copy must not re-create what irisenv has just dropped. A converge
    of the monitoring policy alone leaves it as it is (it touches no namespace)."""
    text = merge_text(d, actions)
    files = {MERGE_PATH: b""}
    if text:
        files[CONVERGE_PATH] = text.encode()
    from ..core.runspec import iris_files  # not on the plan path: it only observes

    if text or records or any(a.kind != ConvergeMonitoring.kind for a in actions):
        engine.put_files(container_id, iris_files(files))
    if text:
        res = engine.exec(container_id, ["iris", "merge", "IRIS", CONVERGE_PATH], timeout=timeout)
        if res.exit_code != 0:
            raise IrisenvError(f"iris merge failed in instance {d.instance}",
                               (res.stdout + res.stderr).strip()[-800:],
                               "read the failing line above; fix the config or the image")
    dropped = tuple(a.name for a in actions if a.kind in (DropNamespace.kind, DropPoolCopy.kind))
    if dropped:
        stmts, env = _namespace_checks(dropped, "drop")
        still = runner.run(engine, container_id, stmts, env=env, timeout=timeout,
                           what="checking dropped namespaces").values
        left = [n for i, n in enumerate(dropped) if still.get(f"drop.{i}") != "0"]
        if left:
            raise IrisenvError(
                f"instance {d.instance}: namespace {', '.join(left)} was not dropped",
                "iris merge reported success but the namespace still exists (in use?); "
                "irisenv still owns it and deleted no files",
                "close sessions using it and run `irisenv sync` again; see `irisenv logs`")
    for a in actions:
        if a.kind == ConvergeMonitoring.kind:
            _monitoring().install(engine, container_id, a, timeout=timeout)
    stmts, env = record_statements(records)
    for a in actions:
        more, more_env = HOW[a.kind].statements(d, a, password)
        stmts += more
        env.update(more_env)
    if stmts:
        runner.run(engine, container_id, stmts, env=env, timeout=timeout,
                   what="setting up the user and irisenv's record")
    if dropped:  # their directories: DeleteDatabase deletes the database file, but whether it
        # removes the directory is not documented (docs/learnings/namespaces.md#dropping)
        engine.exec(container_id, ["rm", "-rf", "--", *_dropped_dirs(d, actions)],
                    timeout=timeout)
    if not actions:  # only the record changed: the runner's sentinel proved it
        return None
    after = observe(engine, container_id, d, password, timeout=timeout)
    # monitoring is verified when this converge changed it (a test run's converge of its
    # own namespace does not answer for a policy the last sync left)
    mine = {a.kind for a in actions}
    left = [a for a in diff(d, after) if not _benign(a, dropped)
            and (a.kind != ConvergeMonitoring.kind or a.kind in mine)]
    left += [a for a in actions if a.kind == CreatePoolCopy.kind and not after.namespaces.get(a.name)]
    if any(a.kind == ClearSystemChange.kind for a in left):
        # _SYSTEM's flag is still set, but the configured user is someone else: it blocks
        # nothing. When this very converge tried to clear it, record that it did not hold
        # (the plan then notes it instead of proposing the same merge forever); the caller
        # warns.
        if any(a.kind == ClearSystemChange.kind for a in actions):
            stmts, env = record_statements(RecordChanges(instance=((SYSCHANGE, STICKY),)))
            runner.run(engine, container_id, stmts, env=env, timeout=timeout,
                       what="recording _SYSTEM's password-change state")
            after = replace(after, system_change_sticky=True)
        left = [a for a in left if a.kind != ClearSystemChange.kind]
    if left:
        raise IrisenvError(
            f"instance {d.instance}: IRIS did not reach the declared state",
            "; ".join(_still(a) for a in left),
            " ".join(dict.fromkeys(HOW[a.kind].fix(a, d) for a in left)))
    return after


def _benign(action, dropped) -> bool:
    return action.kind == DropNamespace.kind and action.name not in dropped


def _still(action) -> str:
    """What failed, for an action still to do right after irisenv applied it."""
    still = HOW[action.kind].still
    return still(action) if still else f"still to do: {action.describe()}"
