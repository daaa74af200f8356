"""The monitoring policy inside IRIS and the container: the probe's statements, the
converge statements, and the install of MONDIR's files (core/monitoring.py plans).

Everything runs through the one runner (iris/runner.py) in %SYS; every value (the task's
name, its ExecuteCode, the record's values) reaches ObjectScript through the exec
environment. The ObjectScript entry points and their sources: docs/learnings/monitoring.md.
"""
from __future__ import annotations

import hashlib
from importlib import resources

from ..core import monitoring as mon
from ..core.monitoring import MONDIR, PROFILE, MonObserved, Policy, TaskSeen
from .runner import VAL_TAG, Tolerant, env_ref

_THROW = "if 'sc { throw ##class(%Exception.StatusException).CreateFromStatus(sc) }"
_PROFILE = f'^IRIS.SystemPerformance("profile","{PROFILE}")'


def _val(key: str, expr: str) -> str:
    return f'write "{VAL_TAG}{key}=",{expr},!'


def watch_script() -> bytes | None:
    """The watcher script shipped as package data (irisenv/iris/watch.sh), or None."""
    try:
        return resources.files("irisenv.iris").joinpath("watch.sh").read_bytes()
    except (FileNotFoundError, OSError):
        return None


def watch_sha() -> str:
    data = watch_script()
    return hashlib.sha256(data).hexdigest()[:16] if data is not None else ""


# ------------------------------------------------------------------ probe
def probe_statements(p: Policy) -> tuple[list, dict]:
    """Read irisenv's record (^IRISENV("mon",...)), the profile's definition, the recorded
    task (name, namespace, class, schedule, whether its ExecuteCode is this policy's TICK,
    suspended or not) and whether MONDIR/policy exists. Parts an IRIS may answer
    differently are tolerant: they report "?" instead of failing the probe."""
    tick = env_ref("IRISENV_MON_TICK")
    sched = '_","_'.join(f"t.{k}" for k in mon.SCHEDULE_KEYS)
    stmts = [
        _val("mon.policy", '$Get(^IRISENV("mon","policy"))'),
        _val("mon.task", '$Get(^IRISENV("mon","task"))'),
        _val("mon.files", '$Get(^IRISENV("mon","files"))'),
        _val("mon.run", '$Get(^IRISENV("mon","run"))'),
        _val("mon.end", '$Get(^IRISENV("mon","end"))'),
        # the profile's definition: the global ^SystemPerformance keeps profiles in is not
        # documented by InterSystems (docs/learnings/monitoring.md); unreadable -> "?"
        Tolerant(f"if $Data({_PROFILE}) {{ set pr={_PROFILE} "
                 + _val("mon.profile", '$ListGet(pr,2)_","_$ListGet(pr,3)') + " } else { "
                 + _val("mon.profile", '""') + " }", "mon.profile"),
        Tolerant('set id=$Get(^IRISENV("mon","task")) if id\'="",##class(%SYS.Task).%ExistsId(id) { '
                 "set t=##class(%SYS.Task).%OpenId(id) "
                 + _val("mon.t.name", "t.Name") + " " + _val("mon.t.ns", "t.NameSpace") + " "
                 + _val("mon.t.class", "t.TaskClass") + " " + _val("mon.t.sched", sched) + " "
                 + _val("mon.t.code", f"($ListFind(t.Settings,{tick})>0)") + " "
                 + _val("mon.t.susp", "t.Suspended") + " }", "mon.t"),
        Tolerant(_val("mon.present",
                      f'##class(%Library.File).Exists({env_ref("IRISENV_MON_POLICY_FILE")})'),
                 "mon.present"),
    ]
    env = {"IRISENV_MON_TICK": mon.tick(p) if p.enabled else "",
           "IRISENV_MON_POLICY_FILE": f"{MONDIR}/policy"}
    return stmts, env


def observed(values: dict, p: Policy) -> MonObserved:
    """MonObserved from the probe's values."""
    task = None
    if values.get("mon.t.name") is not None and values.get("mon.t") != "?":
        susp = values.get("mon.t.susp", "")
        task = TaskSeen(name=values.get("mon.t.name", ""), namespace=values.get("mon.t.ns", ""),
                        task_class=values.get("mon.t.class", ""),
                        schedule=values.get("mon.t.sched", ""),
                        code_ok=values.get("mon.t.code") == "1",
                        suspended=None if susp == "" else susp not in ("0",))
    prof, known = None, values.get("mon.profile") != "?"
    text = values.get("mon.profile", "")
    if known and text:
        a, _, b = text.partition(",")
        prof = (int(a), int(b)) if a.isdigit() and b.isdigit() else None
        known = prof is not None
    end = values.get("mon.end", "")
    return MonObserved(recorded=mon.decode(values.get("mon.policy", ""), p.spdir),
                       task_id=values.get("mon.task", ""), task=task,
                       profile=prof, profile_known=known, files=values.get("mon.files", ""),
                       files_present=values.get("mon.present") == "1",
                       run=values.get("mon.run", ""),
                       end=int(end) if end.lstrip("-").isdigit() else 0)


# ------------------------------------------------------------------ converge
def _stop_run() -> str:
    """Stop the current run keeping its files and report ($$Stop^SystemPerformance(r,0))."""
    return mon.STOP_RUN


def converge_statements(a: mon.ConvergeMonitoring) -> tuple[list, dict]:
    """The runner statements of one monitoring action (and their environment)."""
    p = a.policy
    name, tick = env_ref("IRISENV_MON_NAME"), env_ref("IRISENV_MON_TICK")
    env = {"IRISENV_MON_NAME": mon.TASK_NAME}
    if a.change == "remove":
        return [
            _stop_run(),
            # only the task whose id irisenv recorded, and only while it is still irisenv's
            'set id=$Get(^IRISENV("mon","task")) if id\'="",##class(%SYS.Task).%ExistsId(id) { '
            f"set t=##class(%SYS.Task).%OpenId(id) if t.Name={name} {{ "
            f"set sc=##class(%SYS.Task).%DeleteId(id) {_THROW} }} }}",
            f'set x=$$delprofile^SystemPerformance("{PROFILE}")',
            'kill ^IRISENV("mon")',
        ], env
    env.update({"IRISENV_MON_TICK": mon.tick(p), "IRISENV_MON_DESC": mon.TASK_DESCRIPTION,
                "IRISENV_MON_PROFILE_DESC": f"irisenv: every {p.interval}s, {p.count} samples",
                "IRISENV_MON_POLICY": p.encode(), "IRISENV_MON_FILES": mon.files_digest(p)})
    stmts = []
    if a.profile:
        stmts += [
            _stop_run(),
            f'set x=$$delprofile^SystemPerformance("{PROFILE}")',
            f'set x=$$addprofile^SystemPerformance("{PROFILE}",'
            f'{env_ref("IRISENV_MON_PROFILE_DESC")},{p.interval},{p.count}) '
            "if x'=1 { throw ##class(%Exception.StatusException).CreateFromStatus("
            '$SYSTEM.Status.Error(5001,"addprofile^SystemPerformance: "_x)) }',
        ]
    props = ",".join(f"t.{k}={v}" for k, v in mon.SCHEDULE.items())
    stmts += [
        'set id=$Get(^IRISENV("mon","task")) if id\'="",##class(%SYS.Task).%ExistsId(id) { '
        "set t=##class(%SYS.Task).%OpenId(id) } else { set t=##class(%SYS.Task).%New() }",
        f"set t.Name={name},t.Description={env_ref('IRISENV_MON_DESC')},"
        f't.NameSpace="%SYS",t.TaskClass="{mon.TASK_CLASS}",'
        f't.Settings=$ListBuild("ExecuteCode",{tick}),{props}',
        f'set sc=t.%Save() {_THROW} set ^IRISENV("mon","task")=t.%Id()',
        f'set ^IRISENV("mon","policy")={env_ref("IRISENV_MON_POLICY")},'
        f'^IRISENV("mon","files")={env_ref("IRISENV_MON_FILES")}',
        f"xecute {tick}",  # a run now (the TICK starts one when none is going)
    ]
    return stmts, env


def install(engine, container_id: str, a: mon.ConvergeMonitoring, *,
            timeout: float = 60) -> None:
    """MONDIR's files for ``a``'s policy (policy enabled=0 for a removal), then start or
    stop the watcher. Runs before the action's statements (which record the files' digest),
    so a removal stops the watcher before the task and the record go."""
    from ..core.runspec import iris_files  # not on the plan path

    p = a.policy
    if a.change == "remove":
        engine.put_files(container_id, iris_files(
            {f"{MONDIR}/policy": mon.policy_text(p).encode()}))
        engine.exec(container_id, ["sh", "-c", f'[ ! -f "$0/watch.sh" ] || sh "$0/watch.sh" stop',
                                   MONDIR], timeout=timeout)
        return
    watch = watch_script()
    engine.put_files(container_id, iris_files(mon.files(p, watch)))
    if watch is not None:
        res = engine.exec(container_id, ["sh", f"{MONDIR}/watch.sh", "start"], timeout=timeout)
        if res.exit_code != 0:
            from ..errors import IrisenvError

            raise IrisenvError(
                f"the monitoring watcher did not start in container {container_id[:12]}",
                f"`sh {MONDIR}/watch.sh start` exited {res.exit_code}: "
                + ((res.stdout + res.stderr).strip()[-400:] or "no output"),
                f"read {MONDIR}/watch.log in the container (`irisenv exec -- cat "
                f"{MONDIR}/watch.log`); IRISENV_MONITORING=off skips monitoring for one run")

