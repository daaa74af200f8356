"""The monitoring policy against a real IRIS (the real-IRIS lane: IRISENV_IRIS_IMAGE set; see
tests/iris/test_real_iris.py): the scenarios of tests/docker/test_monitoring.py. What the
stand-in only imitates (tests/standin/README.md, "Monitoring") is checked here, read with
plain ObjectScript through `irisenv exec` rather than irisenv's probe: that
$$addprofile^SystemPerformance defines the profile with the declared interval and count
(through the documented $$run and the report), that the %SYS.Task irisenv saves has the
declared schedule and ExecuteCode and really fires, that $$Stop^SystemPerformance(run,0)
keeps the files, and that disabling removes only what irisenv made."""
from __future__ import annotations

import time

from test_real_iris import INSTANCE, SYNC_TIMEOUT, RealProject, describe, real_project  # noqa: F401

SPDIR = "/usr/irissys/mgr/irisenv-sysperf/"
READ = [
    'write "IRISENV-T:policy=",$Get(^IRISENV("mon","policy")),!',
    'write "IRISENV-T:task=",$Get(^IRISENV("mon","task")),!',
    'write "IRISENV-T:run=",$Get(^IRISENV("mon","run")),!',
    'set id=$Get(^IRISENV("mon","task")) if id\'="",##class(%SYS.Task).%ExistsId(id) { '
    'set t=##class(%SYS.Task).%OpenId(id) write "IRISENV-T:name=",$Translate(t.Name," ","_"),!,'
    '"IRISENV-T:incr=",t.DailyIncrement,!,"IRISENV-T:class=",t.TaskClass,!,'
    '"IRISENV-T:susp=",+t.Suspended,! }',
]


def _configure(p: RealProject, **keys) -> None:
    text = p.config.read_text()
    head, _, _ = text.partition(f"[instances.{INSTANCE}.monitoring]")
    body = "".join(f"{k} = {v}\n" for k, v in keys.items())
    p.config.write_text(head.rstrip("\n") + f"\n\n[instances.{INSTANCE}.monitoring]\n" + body)


def test_monitoring_on_real_iris(real_project: RealProject):
    p = real_project
    _configure(p, retention='"5m"', interval='"10s"')
    sync = p.run("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    assert sync.returncode == 0 and "monitoring: enable" in sync.stderr, describe(sync)
    vals = p.objectscript(READ)
    assert vals["policy"] == "1^10^300^90^85^95^90" and vals["run"].endswith("_irisenv"), vals
    assert vals["name"] == "irisenv_monitoring" and vals["incr"] == "1", vals
    assert vals["class"] == "%SYS.Task.RunLegacyTask" and vals["susp"] == "0", vals
    assert p.run("plan", "--detailed-exitcode").returncode == 0

    # the suspend script stops the run keeping its files and writes the report
    proc = p.run("exec", "--instance", INSTANCE, "--", "sh", "-c",
                 "iris session IRIS -U %SYS < /home/irisowner/irisenv-monitor/suspend.cos")
    assert proc.stdout.strip().splitlines()[-1] == "IRISENV-MON-OK", describe(proc)
    assert p.objectscript(READ)["susp"] == "1"
    deadline = time.monotonic() + 120
    while not p.path_exists(f"{SPDIR}") or "html" not in p.run(
            "exec", "--instance", INSTANCE, "--", "ls", SPDIR).stdout:
        assert time.monotonic() < deadline, "no report written after $$Stop^SystemPerformance(run,0)"
        time.sleep(2)
    proc = p.run("exec", "--instance", INSTANCE, "--", "sh", "-c",
                 "iris session IRIS -U %SYS < /home/irisowner/irisenv-monitor/resume.cos")
    assert proc.stdout.strip().splitlines()[-1] == "IRISENV-MON-OK", describe(proc)
    assert p.objectscript(READ)["susp"] == "0"

    # an in-place change, then the removal (a hand-made task stays)
    _configure(p, retention='"5m"', interval='"5s"')
    plan = p.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2 and "~ monitoring: interval 10s -> 5s" in plan.stdout, describe(plan)
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT))
    assert p.objectscript(READ)["policy"] == "1^5^300^90^85^95^90"
    hand = p.objectscript([
        'set t=##class(%SYS.Task).%New(),t.Name="irisenv test hand-made",t.NameSpace="%SYS",'
        't.TaskClass="%SYS.Task.RunLegacyTask",t.Settings=$ListBuild("ExecuteCode","quit"),'
        't.TimePeriod=5 set sc=t.%Save() write "IRISENV-T:hand=",t.%Id(),!'])["hand"]
    _configure(p, enabled="false")
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT))
    vals = p.objectscript(READ + [f'write "IRISENV-T:left=",##class(%SYS.Task).%ExistsId({hand}),!'])
    assert vals["task"] == "" and vals["policy"] == "" and vals["left"] == "1", vals
    assert p.run("plan", "--detailed-exitcode").returncode == 0
    p.finished = True


MONDIR = "/home/irisowner/irisenv-monitor"


def _watcher(p: RealProject) -> dict:
    proc = p.ok("exec", "--instance", INSTANCE, "--", "cat", f"{MONDIR}/state")
    return dict(kv.split("=", 1) for kv in proc.stdout.split() if "=" in kv)


def test_the_watcher_runs_on_real_iris_and_iris_main_restarts_it(real_project: RealProject):
    """What only the stand-in showed: that the real iris-main runs the --after hook (on the
    first start and again on every container start), that the watcher runs under the real
    image's /bin/sh and reads its cgroup, and that the Task Manager fires the task with no
    irisenv process running (the run's recorded end moves on within a few minutes)."""
    p = real_project
    _configure(p, retention='"5m"', interval='"10s"')
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT))
    first = _watcher(p)
    assert first["state"] == "collecting" and first["cpu"] != "-", first
    p.ok("restart", "--timeout", str(SYNC_TIMEOUT))
    deadline = time.monotonic() + 60
    while True:  # iris-main's --after started a new watcher after the restart
        now = _watcher(p)
        if now.get("pid") != first["pid"] and int(now.get("updated", 0)) > int(first["updated"]):
            break
        assert time.monotonic() < deadline, f"no watcher after the restart: {now}"
        time.sleep(2)
    end = p.objectscript(['write "IRISENV-T:end=",$Get(^IRISENV("mon","end")),!'])["end"]
    deadline = time.monotonic() + 8 * 60  # a 5-minute run, the task every minute
    while p.objectscript(['write "IRISENV-T:end=",$Get(^IRISENV("mon","end")),!'])["end"] == end:
        assert time.monotonic() < deadline, "the Task Manager never started the next run"
        time.sleep(20)
    p.finished = True
