"""Read IRIS-level state inside a running container (the probe).

One session script reads versions, ownership, namespaces, CallIn, and the user's state
(including a real password check, Security.Users.CheckPassword). Every value (user name,
password, namespace names) reaches ObjectScript through the exec environment.
"""
from __future__ import annotations

import time

from ..core.iris_plan import SYSTEM_USER, IrisDesired, IrisObserved, parse_temp
from ..names import namespace as check_namespace
from ..names import username as check_username
from . import runner
from .runner import VAL_TAG, env_ref

THROW = "if 'sc { throw ##class(%Exception.StatusException).CreateFromStatus(sc) }"


def _val(key: str, expr: str) -> str:
    return f'write "{VAL_TAG}{key}=",{expr},!'


def _namespace_checks(names: tuple, prefix: str) -> tuple[list, dict]:
    stmts, env = [], {}
    for i, name in enumerate(names):
        var = f"IRISENV_{prefix.upper()}_{i}"
        env[var] = check_namespace(name)
        stmts.append(_val(f"{prefix}.{i}", f"##class(%SYS.Namespace).Exists({env_ref(var)})"))
    return stmts, env


def probe_script(d: IrisDesired, password: str) -> tuple[list, dict]:
    u = env_ref("IRISENV_USER")
    env = {"IRISENV_USER": check_username(d.username), "IRISENV_SYSUSER": SYSTEM_USER,
           "IRISENV_PASSWORD": password}
    stmts = [
        _val("version", "$ZVERSION"),
        _val("owned", '$Get(^IRISENV("owned"))'),
        _val("temp", '$Get(^IRISENV("temp"))'),
        _val("system.sticky", '$Get(^IRISENV("syschange"))'),
        'set sc=##class(Security.Services).Get("%Service_CallIn",.p) ' + THROW + " "
        + _val("callin", 'p("Enabled")'),
        f"set sc=##class(Security.Users).Get({u},.p) if sc {{ "
        + _val("user.exists", "1") + " " + _val("user.change", 'p("ChangePassword")') + " "
        + _val("user.enabled", 'p("Enabled")') + " } else { " + _val("user.exists", "0") + " }",
        f'set sc=##class(Security.Users).Get({env_ref("IRISENV_SYSUSER")},.p) if sc {{ '
        + _val("system.change", 'p("ChangePassword")') + " }",
        # CheckPassword's form comes from a community source (docs/learnings/passwords.md):
        # if this IRIS lacks it, the probe reports "?" (unverified) instead of failing.
        runner.Tolerant(f"if ##class(Security.Users).Exists({u},.u) {{ "
                        + _val("user.password",
                               f'##class(Security.Users).CheckPassword(.u,{env_ref("IRISENV_PASSWORD")})')
                        + " }", "user.password"),
    ]
    ns_stmts, ns_env = _namespace_checks(d.namespaces, "ns")
    return stmts + ns_stmts, {**env, **ns_env}


def observe(engine, container_id: str, d: IrisDesired, password: str, *,
            timeout: float = 60) -> IrisObserved:
    """One session for the whole state; a second only when IRIS records owned namespaces
    that the config no longer declares (to see whether they still exist)."""
    stmts, env = probe_script(d, password)
    values = runner.run(engine, container_id, stmts, env=env, timeout=timeout,
                        what="the IRIS state probe").values
    owned = frozenset(n for n in values.get("owned", "").split(",") if n)
    temp = parse_temp(values.get("temp", ""))
    extra = tuple(sorted((owned | set(temp)) - set(d.namespaces)))
    namespaces = {name: values.get(f"ns.{i}") == "1" for i, name in enumerate(d.namespaces)}
    if extra:
        x_stmts, x_env = _namespace_checks(extra, "xns")
        x = runner.run(engine, container_id, x_stmts, env=x_env, timeout=timeout,
                       what="the IRIS state probe").values
        namespaces.update({name: x.get(f"xns.{i}") == "1" for i, name in enumerate(extra)})
    return IrisObserved(
        version=values.get("version", ""), owned=owned, namespaces=namespaces, temp=temp,
        observed_at=time.time(),
        callin=_flag(values.get("callin")), user_exists=values.get("user.exists") == "1",
        user_change_required=_flag(values.get("user.change")),
        user_enabled=_flag(values.get("user.enabled")),
        password_ok=_flag(values.get("user.password")),
        system_change_required=_flag(values.get("system.change")),
        system_change_sticky=values.get("system.sticky") == "sticky")


def _flag(v: str | None) -> bool | None:
    """1 -> True, 0 (or a failed %Status such as "0 ERROR #..." ) -> False, else unknown."""
    if v is None:
        return None
    v = v.strip()
    if v == "1":
        return True
    if v == "0" or v.startswith("0 "):
        return False
    return None


