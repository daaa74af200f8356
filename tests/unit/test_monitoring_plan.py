"""The monitoring policy, planned (irisenv/core/monitoring.py): pure, no engine."""
from types import SimpleNamespace

from irisenv.core import monitoring as mon
from irisenv.core.iris_plan import IrisDesired, IrisObserved, diff


def cfg(**kw):
    base = dict(enabled=True, interval=30, retention=3600, cpu_disable=90, cpu_enable=85,
                memory_disable=95, memory_enable=90)
    base.update(kw)
    return SimpleNamespace(**base)


def converged(p):
    """What the probe reads once ``p`` is applied."""
    return mon.MonObserved(
        recorded=mon.decode(p.encode(), p.spdir), task_id="7",
        task=mon.TaskSeen(mon.TASK_NAME, "%SYS", mon.TASK_CLASS, mon.schedule_text(), True, False),
        profile=(p.interval, p.count), files=mon.files_digest(p), files_present=True)


def test_default_policy_enables_with_one_line():
    p = mon.policy(cfg(), "ephemeral")
    acts = mon.plan(p, mon.MonObserved())
    assert [a.describe() for a in acts] == [
        "monitoring: enable (every 30s, keep 1h; suspend at cpu>90% or mem>95%)"]
    assert acts[0].symbol == "~" and acts[0].profile
    assert p.spdir == "/usr/irissys/mgr/irisenv-sysperf/"
    assert mon.policy(cfg(), "volume").spdir.endswith("/mgr/irisenv-sysperf/")


def test_converged_policy_plans_nothing_even_while_suspended():
    p = mon.policy(cfg(), "ephemeral")
    seen = converged(p)
    assert mon.plan(p, seen) == ()
    from dataclasses import replace
    assert mon.plan(p, replace(seen, task=replace(seen.task, suspended=True))) == ()


def test_changed_interval_is_an_in_place_update_of_the_profile():
    old = mon.policy(cfg(), "ephemeral")
    new = mon.policy(cfg(interval=10), "ephemeral")
    (a,) = mon.plan(new, converged(old))
    assert a.change == "update" and a.profile and a.symbol == "~"
    assert a.describe().startswith("monitoring: interval 30s -> 10s")


def test_changed_thresholds_update_without_touching_the_profile():
    old = mon.policy(cfg(), "ephemeral")
    new = mon.policy(cfg(cpu_disable=80, cpu_enable=70), "ephemeral")
    (a,) = mon.plan(new, converged(old))
    assert a.describe() == "monitoring: cpu_disable 90% -> 80%; cpu_enable 85% -> 70%"
    assert not a.profile


def test_retention_sets_run_length_and_count():
    p = mon.policy(cfg(interval=30, retention=300), "ephemeral")
    assert (p.count, p.run_length) == (10, 300)
    p = mon.policy(cfg(interval=30, retention=86400), "ephemeral")
    assert (p.count, p.run_length) == (120, 3600)  # one run covers at most an hour
    (a,) = mon.plan(mon.policy(cfg(retention=7200), "ephemeral"),
                    converged(mon.policy(cfg(), "ephemeral")))
    assert a.describe() == "monitoring: retention 1h -> 2h" and not a.profile


def test_missing_pieces_are_repaired():
    p = mon.policy(cfg(), "ephemeral")
    from dataclasses import replace
    seen = converged(p)
    (a,) = mon.plan(p, replace(seen, task=None))
    assert "task missing" in a.describe()
    (a,) = mon.plan(p, replace(seen, profile=None))
    assert "profile missing" in a.describe() and a.profile
    (a,) = mon.plan(p, replace(seen, files_present=False))
    assert "missing -> installed" in a.describe()
    (a,) = mon.plan(p, replace(seen, files="0" * 16))
    assert "outdated" in a.describe()
    (a,) = mon.plan(p, replace(seen, task=replace(seen.task, code_ok=False)))
    assert "task differs" in a.describe()
    # the profile could not be read: the record stands for it
    assert mon.plan(p, replace(seen, profile=None, profile_known=False)) == ()


def test_disabled_removes_only_what_is_recorded():
    off = mon.policy(cfg(enabled=False), "ephemeral")
    (a,) = mon.plan(off, converged(mon.policy(cfg(), "ephemeral")))
    assert a.describe() == "monitoring: remove (disabled)"
    assert mon.plan(off, mon.MonObserved()) == ()  # nothing of irisenv's: nothing to do


def test_env_off_removes_and_says_why():
    assert mon.env_off({"IRISENV_MONITORING": "off"}) and mon.env_off({"IRISENV_MONITORING": "OFF"})
    assert not mon.env_off({}) and not mon.env_off({"IRISENV_MONITORING": "on"})
    p = mon.policy(cfg(), "ephemeral", off=True)
    assert not p.enabled
    (a,) = mon.plan(p, converged(mon.policy(cfg(), "ephemeral")))
    assert a.describe() == "monitoring: remove (IRISENV_MONITORING=off)"


def test_policy_file_and_record_round_trip():
    p = mon.policy(cfg(interval=10, retention=600), "ephemeral")
    text = mon.policy_text(p)
    kv = dict(line.split("=", 1) for line in text.splitlines())
    assert kv == {"enabled": "1", "interval_s": "10", "retention_s": "600", "cpu_disable": "90",
                  "cpu_enable": "85", "memory_disable": "95", "memory_enable": "90",
                  "sample_ms": "250", "disable_window_ms": "500", "enable_window_ms": "10000",
                  "spdir": "/usr/irissys/mgr/irisenv-sysperf/"}
    assert mon.decode(p.encode(), p.spdir) == p
    assert mon.decode("") is None and mon.decode("1^x^3") is None
    assert "enabled=0" in mon.policy_text(mon.policy(cfg(enabled=False), "ephemeral"))


def test_scripts_end_with_the_ok_line_and_tick_holds_literals_only():
    p = mon.policy(cfg(), "ephemeral")
    tick = mon.tick(p)
    assert "GetEnviron" not in tick and "\n" not in tick
    assert '$$run^SystemPerformance("irisenv")' in tick and "+3600" in tick
    for cos in (mon.suspend_cos(), mon.resume_cos(p)):
        assert f'write !,"{mon.OK_LINE}",! halt' in cos
    assert "$$Stop^SystemPerformance(r,0)" in mon.suspend_cos()
    assert set(mon.files(p, None)) == {f"{mon.MONDIR}/{f}" for f in ("policy", "suspend.cos", "resume.cos")}
    assert f"{mon.MONDIR}/watch.sh" in mon.files(p, b"#!/bin/sh\n")


def test_the_iris_plan_carries_the_monitoring_action():
    inst = SimpleNamespace(name="iris", credentials=SimpleNamespace(username="tester"),
                           namespaces=(), services=SimpleNamespace(callin=True),
                           storage="ephemeral", monitoring=cfg())
    d = IrisDesired.of(inst)
    o = IrisObserved(callin=True, user_exists=True, password_ok=True, user_change_required=False,
                     monitoring=mon.MonObserved())
    assert [a.kind for a in diff(d, o)] == ["monitoring"]
    assert diff(d, IrisObserved(callin=True, user_exists=True, password_ok=True,
                                user_change_required=False)) == ()  # not probed: nothing


def test_the_probe_values_read_back_into_what_the_plan_compares():
    from irisenv.iris import monitoring as irismon

    p = mon.policy(cfg(), "ephemeral")
    values = {"mon.policy": p.encode(), "mon.task": "12", "mon.files": mon.files_digest(p),
              "mon.run": "20261130_020735_irisenv", "mon.end": "1796009019",
              "mon.profile": "30,120", "mon.t.name": mon.TASK_NAME, "mon.t.ns": "%SYS",
              "mon.t.class": mon.TASK_CLASS, "mon.t.sched": mon.schedule_text(),
              "mon.t.code": "1", "mon.t.susp": "1", "mon.present": "1"}
    seen = irismon.observed(values, p)
    assert seen.task.suspended is True and seen.profile == (30, 120) and seen.end == 1796009019
    assert mon.plan(p, seen) == ()
    # the profile's global unreadable ("?"), a task the probe could not read
    seen = irismon.observed({**values, "mon.profile": "?", "mon.t": "?"}, p)
    assert seen.profile is None and not seen.profile_known and seen.task is None
    # nothing of irisenv's in a fresh instance
    fresh = irismon.observed({"mon.policy": "", "mon.task": "", "mon.files": "", "mon.profile": "",
                              "mon.present": "0"}, p)
    assert not fresh.anything and [a.change for a in mon.plan(p, fresh)] == ["enable"]


def test_values_reach_objectscript_through_the_environment_only():
    from irisenv.iris import monitoring as irismon

    p = mon.policy(cfg(), "ephemeral")
    for change in ("enable", "update", "remove"):
        stmts, env = irismon.converge_statements(mon.ConvergeMonitoring(p, change))
        text = "\n".join(stmts)
        assert mon.TASK_NAME not in text and "Task Manager" not in text  # the name is in env
        assert all(k.startswith("IRISENV_") for k in env)
        assert all("\n" not in s for s in stmts)
    stmts, env = irismon.converge_statements(mon.ConvergeMonitoring(p, "enable"))
    assert env["IRISENV_MON_TICK"] == mon.tick(p) and env["IRISENV_MON_POLICY"] == p.encode()
    stmts, env = irismon.probe_statements(p)
    assert env["IRISENV_MON_POLICY_FILE"] == f"{mon.MONDIR}/policy"


def test_a_watcher_that_does_not_start_fails_the_converge_with_its_reason():
    import pytest

    from irisenv.engine.base import ExecResult
    from irisenv.errors import IrisenvError
    from irisenv.iris import monitoring as irismon

    class Engine:
        def __init__(self):
            self.files, self.cmds = {}, []

        def put_files(self, cid, files):
            self.files.update(files.contents)

        def exec(self, cid, cmd, **kw):
            self.cmds.append(cmd)
            return ExecResult(2, "", "watch.sh: cannot write watch.pid\n")

    eng = Engine()
    p = mon.policy(cfg(), "ephemeral")
    with pytest.raises(IrisenvError) as err:
        irismon.install(eng, "c" * 64, mon.ConvergeMonitoring(p, "enable"))
    assert "cannot write watch.pid" in err.value.why and f"{mon.MONDIR}/watch.sh" in eng.files
    assert eng.cmds == [["sh", f"{mon.MONDIR}/watch.sh", "start"]]
