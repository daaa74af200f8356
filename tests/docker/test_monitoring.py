"""The monitoring policy converged on the stand-in (issue 12, the IRIS side): profile, task,
record and MONDIR files; changes in place; removal of what irisenv made, and only that;
Task Manager runs back to back; the suspend/resume scripts. Real Docker, stand-in image
(tests/standin/README.md, "Monitoring")."""
from __future__ import annotations

import re
import time

from helpers import describe, instance_toml, wait_for

from irisenv.core import monitoring as mon

SPDIR = "/usr/irissys/mgr/irisenv-sysperf/"


def configure(project, minute: str = "60", **mon_keys) -> None:
    table = "".join(f"{k} = {v!r}\n".replace("'", '"') if isinstance(v, str) else
                    f"{k} = {str(v).lower()}\n" for k, v in mon_keys.items())
    project.write(instance_toml("iris", env={"STANDIN_TASK_MINUTE_SECONDS": minute})
                  + ("\n[instances.iris.monitoring]\n" + table if table else ""))


def session(container, script: str) -> str:
    res = container.exec_run(["sh", "-c", 'printf "%s" "$S" | iris session IRIS -U %SYS'],
                             environment={"S": script + "\nhalt\n", "STANDIN_SESSION_PROMPTS": "0"})
    return res.output.decode("utf-8", "replace")


def state(container) -> dict:
    """What IRIS holds, read with plain ObjectScript (not irisenv's probe)."""
    out = session(container, "\n".join([
        'write "policy=",$Get(^IRISENV("mon","policy")),!',
        'write "task=",$Get(^IRISENV("mon","task")),!',
        'write "run=",$Get(^IRISENV("mon","run")),!',
        'write "profile=",$Data(^IRIS.SystemPerformance("profile","irisenv")),!',
        'if $Data(^IRIS.SystemPerformance("profile","irisenv")) { set p=^IRIS.SystemPerformance("profile","irisenv") write "interval=",$ListGet(p,2),!,"count=",$ListGet(p,3),! }',
        'set id=$Get(^IRISENV("mon","task")) if id\'="",##class(%SYS.Task).%ExistsId(id) { set t=##class(%SYS.Task).%OpenId(id) write "name=",t.Name,!,"incr=",t.DailyIncrement,!,"susp=",t.Suspended,! }',
    ]))
    return dict(re.findall(r"^(\w+)=(.*)$", out, re.M))


def policy_file(container) -> dict:
    res = container.exec_run(["cat", f"{mon.MONDIR}/policy"])
    assert res.exit_code == 0, res.output
    return dict(line.split("=", 1) for line in res.output.decode().splitlines())


def watcher_state(container) -> str:
    res = container.exec_run(["cat", f"{mon.MONDIR}/state"])
    return res.output.decode() if res.exit_code == 0 else ""


def reports(container) -> list:
    res = container.exec_run(["sh", "-c", f"ls {SPDIR} 2>/dev/null"])
    return sorted(res.output.decode().split())


def test_default_policy_converges_and_a_second_sync_is_a_no_op(project):
    project.configure()  # no [monitoring] table: the defaults
    plan = project.ok("plan")
    assert "monitoring: every 30s, keep 1h; suspend at cpu>90% or mem>95%" in plan.stdout
    sync = project.ok("sync", "--timeout", "60")
    assert "monitoring: enable (every 30s, keep 1h; suspend at cpu>90% or mem>95%)" in sync.stderr, describe(sync)
    c = project.container()
    s = state(c)
    assert s["profile"] == "1" and (s["interval"], s["count"]) == ("30", "120")
    assert s["name"] == mon.TASK_NAME and s["incr"] == "1" and s["susp"] == "0"
    assert s["policy"] == "1^30^3600^90^85^95^90" and s["run"].endswith("_irisenv")
    assert policy_file(c)["interval_s"] == "30" and policy_file(c)["spdir"] == SPDIR
    for name in ("suspend.cos", "resume.cos", "watch.sh"):
        assert c.exec_run(["test", "-f", f"{mon.MONDIR}/{name}"]).exit_code == 0
    # sync started the watcher (irisenv/iris/watch.sh): it writes its state line
    wait_for(lambda: watcher_state(c).startswith("state=collecting"), timeout=15,
             what="the watcher's state line")
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, describe(plan)
    sync = project.ok("sync", "--timeout", "60")
    assert "no changes" in sync.stderr and "updating IRIS" not in sync.stderr, describe(sync)


def test_changes_reconverge_in_place(project):
    configure(project)
    project.ok("sync", "--timeout", "60")
    c = project.container()
    first_run = state(c)["run"]
    configure(project, interval="10s", retention="2h", cpu_disable=80, cpu_enable=70)
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2, describe(plan)
    assert ("~ monitoring: interval 30s -> 10s; retention 1h -> 2h; cpu_disable 90% -> 80%; "
            "cpu_enable 85% -> 70%") in plan.stdout
    assert "to replace" not in plan.stdout or "0 to replace" in plan.stdout
    project.ok("sync", "--timeout", "60")
    assert project.container().id == c.id
    s = state(c)
    assert (s["interval"], s["count"]) == ("10", "360")
    assert s["policy"] == "1^10^7200^80^70^95^90"
    assert s["run"] != first_run  # the profile changed: a new run with the new interval
    assert first_run in " ".join(reports(c))  # the stopped run kept its files
    pf = policy_file(c)
    assert (pf["interval_s"], pf["retention_s"], pf["cpu_disable"], pf["cpu_enable"]) == (
        "10", "7200", "80", "70")
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def _hand_made(c) -> str:
    """A profile and a task made by hand (not irisenv's): their id."""
    out = session(c, "\n".join([
        'set x=$$addprofile^SystemPerformance("mine","by hand",5,12) write "add=",x,!',
        'set t=##class(%SYS.Task).%New() set t.Name="my task",t.NameSpace="%SYS",'
        't.TaskClass="%SYS.Task.RunLegacyTask",t.Settings=$ListBuild("ExecuteCode","set ^Mine=1"),'
        't.DailyFrequency=1,t.DailyFrequencyTime=0,t.DailyIncrement=60 set sc=t.%Save() '
        'write "hand=",t.%Id(),!']))
    m = re.search(r"^hand=(\d+)$", out, re.M)
    assert "add=1" in out and m, out
    return m.group(1)


def _hand_made_left(c, task: str) -> bool:
    out = session(c, 'write "p=",$Data(^IRIS.SystemPerformance("profile","mine")),! '
                     f'set t=##class(%SYS.Task).%OpenId({task}) write "n=",t.Name,!')
    return "p=1" in out and "n=my task" in out


def test_disabled_removes_what_irisenv_made_and_nothing_else(project):
    configure(project)
    project.ok("sync", "--timeout", "60")
    c = project.container()
    hand = _hand_made(c)
    assert hand != state(c)["task"]
    configure(project, enabled=False)
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2 and "~ monitoring: remove (disabled)" in plan.stdout, describe(plan)
    project.ok("sync", "--timeout", "60")
    assert project.container().id == c.id
    s = state(c)
    assert s["policy"] == "" and s["task"] == "" and s["profile"] == "0", s
    assert policy_file(c)["enabled"] == "0"
    assert c.exec_run(["sh", "-c", f"kill -0 $(cat {mon.MONDIR}/watch.pid)"]).exit_code != 0, \
        "the watcher still runs after monitoring was disabled"
    assert _hand_made_left(c, hand)
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_env_off_removes_for_one_run_and_the_next_sync_enables_again(project):
    project.configure()
    project.ok("sync", "--timeout", "60")
    c = project.container()
    hand = _hand_made(c)
    off = {"IRISENV_MONITORING": "off"}
    plan = project.run("plan", "--detailed-exitcode", env=off)
    assert plan.returncode == 2 and "~ monitoring: remove (IRISENV_MONITORING=off)" in plan.stdout
    project.ok("sync", "--timeout", "60", env=off)
    s = state(c)
    assert s["task"] == "" and s["profile"] == "0" and _hand_made_left(c, hand)
    assert project.run("plan", "--detailed-exitcode", env=off).returncode == 0
    sync = project.ok("sync", "--timeout", "60")
    assert "monitoring: enable" in sync.stderr and state(c)["profile"] == "1"


def test_task_manager_keeps_runs_going_back_to_back(project):
    """A Task Manager minute is a second here (STANDIN_TASK_MINUTE_SECONDS=1, the
    stand-in's clock runs 60 times faster): a 5-minute retention makes 5-second runs."""
    configure(project, minute="1", retention="5m")
    project.ok("sync", "--timeout", "60")
    c = project.container()
    wait_for(lambda: len([r for r in reports(c) if r.endswith(".html")]) >= 3, timeout=40,
             what="three completed runs")
    runs = sorted({r.rsplit(".", 1)[0] for r in reports(c)})
    stamps = [int(time.mktime(time.strptime(r.split("_IRIS_")[1][:15], "%Y%m%d_%H%M%S")))
              for r in runs]
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    # each run lasts 300 stand-in seconds; the next starts within the task's minute before
    # its end: no gap, at most a minute of overlap
    assert all(240 <= g <= 300 for g in gaps), (runs, gaps)


def test_a_restart_starts_a_new_run_at_once(project):
    """The run going when the container stopped is gone; the task's next minute starts a
    new one instead of waiting for the old run's recorded end (an hour here: 60 s real)."""
    configure(project, minute="1")
    project.ok("sync", "--timeout", "60")
    c = project.container()
    run = state(c)["run"]
    c.restart(timeout=5)
    # (a session refused while the instance boots reads no run: that is not a new one)
    try:
        wait_for(lambda: state(c).get("run", run) not in ("", run), timeout=20,
                 what="a new run after the restart")
    except AssertionError as exc:  # say what the Task Manager, the clock and the watcher did
        logs = c.exec_run(["sh", "-c", "for f in $(find / -path /proc -prune -o \\( -name "
                           "taskmgr.log -o -path '*standin/run/*' -o -path '*irisenv-monitor/s*'"
                           " -o -name transitions.log \\) -type f -print 2>/dev/null); do "
                           'echo "== $f"; tail -n 12 "$f"; done; date +%s'])
        raise AssertionError(f"{exc}\nrecorded {run!r}, now {state(c)}\n"
                             + logs.output.decode("utf-8", "replace")) from None


def test_suspend_and_resume_scripts(project):
    configure(project, minute="1", retention="5m")
    project.ok("sync", "--timeout", "60")
    c = project.container()
    run = state(c)["run"]

    def pipe(name):
        res = c.exec_run(["sh", "-c", f"iris session IRIS -U %SYS < {mon.MONDIR}/{name}"])
        lines = [l for l in res.output.decode().splitlines() if l.strip()]
        return lines[-1] if lines else ""

    assert pipe("suspend.cos") == mon.OK_LINE
    s = state(c)
    assert s["susp"] == "1"
    assert f"{run}.html" in " ".join(reports(c))  # stopped, files kept, report written
    assert pipe("suspend.cos") == mon.OK_LINE  # idempotent
    time.sleep(3)  # suspended: no new run although minutes pass
    assert state(c)["run"] == run
    assert pipe("resume.cos") == mon.OK_LINE
    s = state(c)
    assert s["susp"] == "0" and s["run"] != run
    assert project.run("plan", "--detailed-exitcode").returncode == 0  # suspension is runtime state


def test_report_now_copies_an_interim_report_of_the_running_collection(project, tmp_path):
    """`monitor report --now` asks IRIS for an interim report of the run going on
    ($$Preview^SystemPerformance) and copies it out with the finished ones."""
    configure(project, minute="60")  # one run for the whole test: none finishes
    project.ok("sync", "--timeout", "60")
    run = state(project.container())["run"]
    assert run
    out = tmp_path / "r"
    p = project.ok("monitor", "report", "--now", "--out", str(out), "--json")
    assert "warning" not in p.stderr, p.stderr
    copied = sorted(f.name for f in out.iterdir())
    interim = [n for n in copied if run in n and n.endswith(".html")]
    assert interim, copied
    assert "interim report" in (out / interim[0]).read_text()
