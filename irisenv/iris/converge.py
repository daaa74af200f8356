"""Apply IRIS-level actions inside a running container, then verify them.

A CPF merge file for namespaces, databases, services and _SYSTEM's flags (`iris merge` on
the running instance), then the runner for the user's password and the ownership record,
then the probe again: merge output is not trusted (docs/learnings/merge.md), the state is.

Every value (user name, password, namespace names) reaches ObjectScript through the exec
environment; names in the merge file were validated by irisenv.names beforehand.
"""
from __future__ import annotations

from dataclasses import replace

from ..core.desired import CONTAINER_DIR, MERGE_PATH, data_dir
from ..core.iris_plan import (SYSTEM_USER, ClearSystemChange, CreateNamespace, DropNamespace,
                              EnsureUser, IrisDesired, IrisObserved, SetCallIn, diff,
                              format_temp)
from ..errors import IrisenvError
from ..names import namespace as check_namespace
from ..names import username as check_username
from . import runner
from .probe import THROW, _namespace_checks, observe
from .runner import env_ref

CONVERGE_PATH = CONTAINER_DIR + "/converge.cpf"


def mgr_dir(storage: str) -> str:
    base = data_dir(storage)
    return f"{base}/mgr" if base else "/usr/irissys/mgr"


def db_dir(storage: str, namespace: str, kind: str) -> str:
    return f"{mgr_dir(storage)}/irisenv/{namespace.lower()}-{kind}/"


def merge_text(d: IrisDesired, actions: tuple) -> str:
    """[Actions] for namespaces, databases, CallIn and _SYSTEM's flags."""
    lines = ["[Actions]"]
    for a in actions:
        if isinstance(a, CreateNamespace):
            n = check_namespace(a.name)
            lines += [f"CreateDatabase:Name={n}_DATA,Directory={db_dir(d.storage, n, 'data')}",
                      f"CreateDatabase:Name={n}_CODE,Directory={db_dir(d.storage, n, 'code')}",
                      f"CreateNamespace:Name={n},Globals={n}_DATA,Routines={n}_CODE,Interop=0"]
        elif isinstance(a, DropNamespace):
            n = check_namespace(a.name)
            lines += [f"DeleteNamespace:Name={n}",
                      f"DeleteDatabase:Name={n}_DATA,Directory={db_dir(d.storage, n, 'data')}",
                      f"DeleteDatabase:Name={n}_CODE,Directory={db_dir(d.storage, n, 'code')}"]
        elif isinstance(a, SetCallIn):
            lines.append(f"ModifyService:Name=%Service_CallIn,Enabled={1 if a.enabled else 0}")
        elif isinstance(a, ClearSystemChange):
            lines.append(f"ModifyUser:Name={SYSTEM_USER},ChangePassword=0,PasswordNeverExpires=1")
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


def converge(engine, container_id: str, d: IrisDesired, password: str, actions: tuple,
             owned: tuple, *, timeout: float = 120,
             temp: dict | None = None) -> IrisObserved:
    """Apply ``actions`` and verify; raise IrisenvError if IRIS is not as declared after.

    Order: merge → check the drops really happened (before forgetting them or deleting any
    file) → user and ownership record → remove the dropped databases' directories → probe
    everything. The first-boot merge file (ISC_CPF_MERGE_FILE, which IRIS re-merges when it
    changes and at every start) is emptied rather than rewritten: its job ended at first
    boot, and a stale copy must not re-create what irisenv has just dropped."""
    text = merge_text(d, actions)
    files = {MERGE_PATH: b""}
    if text:
        files[CONVERGE_PATH] = text.encode()
    engine.put_files(container_id, files)
    if text:
        res = engine.exec(container_id, ["iris", "merge", "IRIS", CONVERGE_PATH], timeout=timeout)
        if res.exit_code != 0:
            raise IrisenvError(f"iris merge failed in instance {d.instance}",
                               (res.stdout + res.stderr).strip()[-800:],
                               "read the failing line above; fix the config or the image")
    dropped = tuple(a.name for a in actions if isinstance(a, DropNamespace))
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
    stmts = []
    env = {"IRISENV_OWNED": ",".join(owned)}
    if any(isinstance(a, EnsureUser) for a in actions):
        stmts += user_statements()
        env.update(IRISENV_USER=check_username(d.username), IRISENV_PASSWORD=password)
    stmts.append(f'set ^IRISENV("owned")={env_ref("IRISENV_OWNED")}')
    if temp is not None:
        env["IRISENV_TEMP"] = format_temp(temp)
        stmts.append(f'set ^IRISENV("temp")={env_ref("IRISENV_TEMP")}')
    runner.run(engine, container_id, stmts, env=env, timeout=timeout, what="setting up the user")
    if dropped:  # their directories: DeleteDatabase deletes the database file, but whether it
        # removes the directory is not documented (docs/learnings/namespaces.md#dropping)
        dirs = [db_dir(d.storage, n, k) for n in dropped for k in ("data", "code")]
        engine.exec(container_id, ["rm", "-rf", "--", *dirs], timeout=timeout)
    if not actions:  # only the ownership record changed: the runner's sentinel proved it
        return None
    after = observe(engine, container_id, d, password, timeout=timeout)
    left = [a for a in diff(d, after) if not _benign(a, dropped)]
    if any(isinstance(a, ClearSystemChange) for a in left):
        # _SYSTEM's flag is still set, but the configured user is someone else: it blocks
        # nothing. When this very converge tried to clear it, record that it did not hold
        # (the plan then notes it instead of proposing the same merge forever); the caller
        # warns.
        if any(isinstance(a, ClearSystemChange) for a in actions):
            runner.run(engine, container_id, ['set ^IRISENV("syschange")="sticky"'],
                       timeout=timeout, what="recording _SYSTEM's password-change state")
            after = replace(after, system_change_sticky=True)
        left = [a for a in left if not isinstance(a, ClearSystemChange)]
    if left:
        raise IrisenvError(
            f"instance {d.instance}: IRIS did not reach the declared state",
            "; ".join(_still(a, d) for a in left),
            " ".join(dict.fromkeys(_fix(a, d) for a in left)))
    return after


def _benign(action, dropped) -> bool:
    return isinstance(action, DropNamespace) and action.name not in dropped


def _still(action, d: IrisDesired) -> str:
    """What failed, for an action still to do right after irisenv applied it."""
    if isinstance(action, EnsureUser):
        said = {
            "absent": f"user {action.username} still does not exist after Security.Users.Create",
            "password does not match the config": f"the password check for user "
            f"{action.username} still fails after irisenv set the password (Security.Users "
            "%Save reported success)",
            "password change required": f"user {action.username} still requires a password "
            "change after irisenv saved ChangePassword=0 (Security.Users %Save reported success)"
            + (" and after the first-boot merge's ModifyUser:Name=_SYSTEM,ChangePassword=0"
               if action.username == SYSTEM_USER else ""),
            "disabled": f"user {action.username} is still disabled after irisenv saved Enabled=1",
        }
        return "; ".join(said.get(r, f"user {action.username}: {r}") for r in action.reasons)
    if isinstance(action, CreateNamespace):
        return (f"namespace {action.name} still does not exist after `iris merge` ran "
                "CreateDatabase and CreateNamespace (merge reported success)")
    if isinstance(action, SetCallIn):
        return (f"%Service_CallIn is still {'disabled' if action.enabled else 'enabled'} after "
                "`iris merge` ran ModifyService (merge reported success)")
    return f"still to do: {action.describe()}"


def _fix(action, d: IrisDesired) -> str:
    if isinstance(action, EnsureUser) and "password change required" in action.reasons:
        return ("this IRIS keeps the forced password change: set a dedicated user "
                f"([instances.{d.instance}.credentials] username = \"tester\"; irisenv creates "
                "it and only warns about _SYSTEM), or change the password once by hand; "
                "read `irisenv logs`.")
    if isinstance(action, EnsureUser):
        return "read `irisenv logs`; check the password against the IRIS password policy."
    return ("read `irisenv logs`; check that the image's `iris merge` applies [Actions] "
            "(IRIS 2022.1+).")
