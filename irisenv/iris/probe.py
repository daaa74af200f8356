"""Read IRIS-level state inside a running container (the probe).

One session script reads versions, irisenv's record (core/iris_record.py, in the current
and the older format), namespaces, CallIn, and the user's state (including a real password
check, Security.Users.CheckPassword). Every value (user name, password, namespace names)
reaches ObjectScript through the exec environment.
"""
from __future__ import annotations

import time

from ..core import iris_record
from ..core.iris_plan import SYSTEM_USER, IrisDesired, IrisObserved
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


def record_statements() -> list[str]:
    """Read irisenv's record: every ^IRISENV("ns",NAME) node in one $Order loop (printed as
    rec.<i>=NAME^value: the counter keeps the keys apart, the name travels in the value),
    the instance entries, and each node of the older format that exists."""
    stmts = [
        # QUIT ends the FOR (RCOS_cquit); an argumentless command is followed by two
        # spaces when another command follows on the line (GCOS_syntax_whitespace)
        'set n="",i=0 for { set n=$Order(^IRISENV("ns",n)) quit:n=""  set i=i+1 '
        f'write "{VAL_TAG}rec.",i,"=",n,"{iris_record.SEP}",$Get(^IRISENV("ns",n)),! }}',
        _val(f"instance.{iris_record.SYSCHANGE}",
             f'$Get(^IRISENV("instance","{iris_record.SYSCHANGE}"))'),
    ]
    for node in iris_record.LEGACY_NODES:
        stmts.append(f'if $Data(^IRISENV("{node}")) {{ '
                     + _val(f"old.{node}", f'$Get(^IRISENV("{node}"))') + " }")
    return stmts


# $SYSTEM.Monitor.State() -> the word `iris qlist` uses (docs/learnings/readiness.md)
MONITOR_STATES = {"0": "ok", "1": "warn", "2": "alert", "-1": "hung"}


def short_version(zversion: str) -> str:
    """"2025.1 (Build 223U)" out of a $ZVERSION such as "IRIS for UNIX (Ubuntu Server LTS
    for x86-64 Containers) 2025.1 (Build 223U) Mon Mar 24 2025 ..."; else the text as is."""
    import re

    m = re.search(r"\) (\d{4}\.\d+(?:\.\d+)*) \(Build ([^)]+)\)", zversion or "")
    return f"{m.group(1)} (Build {m.group(2)})" if m else (zversion or "")


def probe_script(d: IrisDesired, password: str) -> tuple[list, dict]:
    u = env_ref("IRISENV_USER")
    env = {"IRISENV_USER": check_username(d.username), "IRISENV_SYSUSER": SYSTEM_USER,
           "IRISENV_PASSWORD": password}
    stmts = [
        _val("version", "$ZVERSION"),
        # the system monitor's state, as `iris qlist` shows it (docs/learnings/objectscript.md)
        runner.Tolerant(_val("monitor", "$SYSTEM.Monitor.State()"), "monitor"),
        *record_statements(),
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
    if d.monitoring is not None:  # the policy's state, in the same session
        from . import monitoring

        m_stmts, m_env = monitoring.probe_statements(d.monitoring)
        ns_stmts, ns_env = ns_stmts + m_stmts, {**ns_env, **m_env}
    return stmts + ns_stmts, {**env, **ns_env}


def observe(engine, container_id: str, d: IrisDesired, password: str, *,
            timeout: float = 60) -> IrisObserved:
    """One session for the whole state; a second only when irisenv's record holds
    namespaces that the config does not declare (to see whether they still exist)."""
    from ..core.monitor_files import PROBE_PRELUDE, probe_watch

    stmts, env = probe_script(d, password)
    # the monitoring watcher's state file is read in the same exec (no second one)
    res = runner.run(engine, container_id, stmts, env=env, timeout=timeout,
                     what="the IRIS state probe", prelude=PROBE_PRELUDE)
    values = res.values
    records, sticky, legacy = read_record(values)
    extra = tuple(sorted(set(records) - set(d.namespaces)))
    namespaces = {name: values.get(f"ns.{i}") == "1" for i, name in enumerate(d.namespaces)}
    if extra:
        x_stmts, x_env = _namespace_checks(extra, "xns")
        x = runner.run(engine, container_id, x_stmts, env=x_env, timeout=timeout,
                       what="the IRIS state probe").values
        namespaces.update({name: x.get(f"xns.{i}") == "1" for i, name in enumerate(extra)})
    return IrisObserved(
        version=values.get("version", ""), monitor=MONITOR_STATES.get(values.get("monitor"), ""),
        records=records, namespaces=namespaces,
        observed_at=time.time(), legacy=legacy,
        callin=_flag(values.get("callin")), user_exists=values.get("user.exists") == "1",
        user_change_required=_flag(values.get("user.change")),
        user_enabled=_flag(values.get("user.enabled")),
        password_ok=_flag(values.get("user.password")),
        system_change_required=_flag(values.get("system.change")),
        system_change_sticky=sticky, monitoring=_monitoring(values, d),
        watch=probe_watch(res.prelude))


def _monitoring(values: dict, d: IrisDesired):
    if d.monitoring is None:
        return None
    from . import monitoring

    return monitoring.observed(values, d.monitoring)


def observe_when_ready(engine, container_id: str, d: IrisDesired, password: str, *,
                       timeout: float) -> IrisObserved:
    """observe() right after qlist said running. The probe is also the readiness ladder's
    last rung (a working session), so a failing session is retried until ``timeout``."""
    from ..errors import NotReadyError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return observe(engine, container_id, d, password,
                           timeout=max(deadline - time.monotonic(), 5))
        except runner.ScriptError as exc:
            if time.monotonic() >= deadline:
                raise NotReadyError(f"instance {d.instance} accepts no session", exc.why,
                                    "raise --timeout, or read `irisenv logs`") from None
            time.sleep(0.1)


def read_record(values: dict) -> tuple:
    """(records, _SYSTEM's change sticky, Legacy or None) from the probe's values."""
    lines = [v for k, v in values.items() if k.startswith("rec.")]
    instance = {k.removeprefix("instance."): v for k, v in values.items()
                if k.startswith("instance.")}
    old = {k.removeprefix("old."): v for k, v in values.items() if k.startswith("old.")}
    return iris_record.read(lines, instance, old)


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


