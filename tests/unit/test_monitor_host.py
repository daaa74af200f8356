"""The host side of monitoring without Docker: the watcher's file formats, the status word,
the status record, pause/resume's verdict on the exec, and the runner's prelude."""
from __future__ import annotations

import subprocess
import threading
import time

import pytest

from irisenv.core import monitor_files as mf
from irisenv.engine.base import ExecResult
from irisenv.errors import IrisenvError
from irisenv.iris import runner
from irisenv.monitor_host import assemble, check_act


def test_state_line_parses_with_unknown_figures():
    s = mf.parse_state("state=suspended reason=cpu cpu=97.3 mem=40.1 since=100 updated=105 "
                       "pid=42")
    assert (s.state, s.reason, s.cpu, s.mem, s.since, s.updated, s.pid) == \
        ("suspended", "cpu", 97.3, 40.1, 100, 105, 42)
    s = mf.parse_state("state=collecting reason=- cpu=- mem=- since=1 updated=2 pid=3")
    assert s.cpu is None and s.mem is None
    assert mf.parse_state("") is None and mf.parse_state("garbage") is None


@pytest.mark.parametrize("line, paused, alive, word", [
    ("state=collecting reason=- cpu=12.0 mem=40.0", False, True, "collecting"),
    ("state=suspended reason=cpu cpu=97.3 mem=40.1", False, True, "suspended: cpu 97 %"),
    ("state=suspended reason=memory cpu=10.0 mem=96.6", False, True, "suspended: mem 97 %"),
    ("state=paused reason=manual cpu=1.0 mem=1.0", False, True, "paused"),
    ("state=collecting reason=- cpu=1.0 mem=1.0", True, True, "paused"),  # the file wins
    ("state=off reason=disabled cpu=- mem=-", False, True, "off"),
    (None, False, True, "off"),
    ("state=collecting reason=- cpu=1.0 mem=1.0", False, False,
     "collecting (watcher not running)"),
])
def test_the_status_word(line, paused, alive, word):
    state = mf.parse_state(line) if line else None
    assert mf.word(state, paused=paused, alive=alive) == word


def test_transitions_keep_their_note_and_skip_junk():
    text = ("1764468000 suspended cpu cpu=97.2 mem=40.1\n"
            "garbage line\n"
            "1764468030 collecting - cpu=12.0 mem=40.3\n"
            "1764468040 error cpu cpu=99.0 mem=40.0 suspend failed: IRISENV-ERR: <PROTECT>\n")
    trs = mf.parse_transitions(text)
    assert [(t.at, t.state, t.reason, t.cpu) for t in trs] == [
        (1764468000, "suspended", "cpu", 97.2), (1764468030, "collecting", "-", 12.0),
        (1764468040, "error", "cpu", 99.0)]
    assert trs[2].note == "suspend failed: IRISENV-ERR: <PROTECT>"


def test_policy_and_samples_parse():
    p = mf.parse_policy("enabled=1\ninterval_s=30\nspdir=/x/y/\nfuture_key=abc\nnonsense\n")
    assert p == {"enabled": 1, "interval_s": 30, "spdir": "/x/y/", "future_key": "abc"}
    assert mf.parse_samples("10 1.5 2.5\nbad\n20 3 4 5\n30 - 1\n40 7 8\n") == \
        [(10, 1.5, 2.5), (40, 7.0, 8.0)]


SHELLS = (["sh"], ["busybox", "sh"])  # dash (Debian's sh) and busybox (the stand-in's)


def _sh(script: str, mondir, shell=("sh",)) -> str:
    """Run a prelude with MONDIR pointed at a test directory."""
    text = script.replace(mf.MONDIR, str(mondir))
    return subprocess.run([*shell, "-c", text], capture_output=True, text=True,
                          timeout=10).stdout


def _starttime(pid: int) -> str:
    stat = open(f"/proc/{pid}/stat").read()
    return stat.rsplit(") ", 1)[1].split()[19]  # field 22


@pytest.mark.parametrize("shell", SHELLS, ids=" ".join)
def test_the_probe_prelude_reads_state_pause_and_a_live_watcher(tmp_path, shell):
    assert mf.probe_watch(_sh(mf.PROBE_PRELUDE, tmp_path / "missing", shell)) is None
    (tmp_path / "state").write_text("state=suspended reason=cpu cpu=97.3 mem=4.0 since=1 "
                                    "updated=2 pid=1")  # no newline: read all the same
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        # the watcher's own format: "<pid> <start time>"
        (tmp_path / "watch.pid").write_text(f"{sleeper.pid} {_starttime(sleeper.pid)}\n")
        got = mf.probe_watch(_sh(mf.PROBE_PRELUDE, tmp_path, shell))
        assert got["state"].state == "suspended" and got["alive"] and not got["paused"]
        # the pid taken by another process since (another start time): not the watcher
        (tmp_path / "watch.pid").write_text(f"{sleeper.pid} 12345\n")
        assert not mf.probe_watch(_sh(mf.PROBE_PRELUDE, tmp_path, shell))["alive"]
        (tmp_path / "watch.pid").write_text(f"{sleeper.pid}")  # a bare pid: it exists
        assert mf.probe_watch(_sh(mf.PROBE_PRELUDE, tmp_path, shell))["alive"]
    finally:
        sleeper.kill()
        sleeper.wait()
    (tmp_path / "pause").write_text("123\n")
    (tmp_path / "watch.pid").write_text("999999999 1")  # no such pid
    got = mf.probe_watch(_sh(mf.PROBE_PRELUDE, tmp_path, shell))
    assert got["paused"] and not got["alive"]
    (tmp_path / "watch.pid").write_text("")  # empty: not "/proc/" (which exists)
    assert not mf.probe_watch(_sh(mf.PROBE_PRELUDE, tmp_path, shell))["alive"]


def test_the_prelude_keeps_the_arguments_of_the_session(tmp_path):
    """The prelude runs before `exec "$@"`: it must leave the positional parameters alone."""
    (tmp_path / "watch.pid").write_text(f"1 {_starttime(1)}\n")
    text = mf.PROBE_PRELUDE.replace(mf.MONDIR, str(tmp_path)) + '\necho "args: $*"'
    out = subprocess.run(["sh", "-c", text, "sh", "iris", "session"], capture_output=True,
                         text=True, timeout=10).stdout
    assert out.splitlines()[-1] == "args: iris session" and "alive" in out


@pytest.mark.parametrize("shell", SHELLS, ids=" ".join)
def test_the_dump_prelude_gives_each_file(tmp_path, shell):
    (tmp_path / "policy").write_text("enabled=1\nspdir=/s/\n")
    (tmp_path / "state").write_text("state=collecting reason=- cpu=1.0 mem=2.0\n")
    (tmp_path / "transitions.log").write_text("".join(f"{i} collecting - cpu=1 mem=2\n"
                                                      for i in range(30)))
    files = mf.split_dump(_sh(mf.DUMP_PRELUDE, tmp_path, shell))
    assert files["policy"] == "enabled=1\nspdir=/s/\n"
    assert "pause" not in files and "alive" not in files
    (tmp_path / "pause").write_text("")  # exists, empty: paused all the same
    assert mf.split_dump(_sh(mf.DUMP_PRELUDE, tmp_path, shell))["pause"] == "1\n"
    assert len(mf.parse_transitions(files["transitions"])) == 10  # the last ten
    assert mf.parse_transitions(files["transitions"])[-1].at == 29


def test_the_status_record_from_files_and_iris_values():
    files = {"policy": "enabled=1\nretention_s=3600\n", "pause": "1\n", "alive": "1\n",
             "state": "state=paused reason=manual cpu=3.0 mem=4.0 since=10 updated=11 pid=7\n",
             "transitions": "10 paused manual cpu=3.0 mem=4.0\n"}
    values = {"mon.run": "20261130_010000_irisenv", "mon.end": "1764470000", "mon.task": "12",
              "task.suspended": "1"}
    rec = assemble("iris", "p-iris", {"enabled": True}, files, values, {})
    assert rec["word"] == "paused" and rec["installed"]
    assert rec["applied"] == {"enabled": 1, "retention_s": 3600}
    assert rec["watcher"]["paused"] and rec["watcher"]["running"]
    assert rec["iris"] == {"task": "suspended", "task_id": "12",
                           "run": "20261130_010000_irisenv", "run_ends": 1764470000}
    assert rec["transitions"][0]["state"] == "paused"
    # nothing installed, IRIS down: still a record, saying so
    rec = assemble("iris", "p-iris", {}, {}, {}, {"error": "no session"})
    assert rec["word"] == "off" and not rec["installed"] and rec["applied"] is None
    assert rec["iris"] == {"error": "no session"}


def _res(code, out, err=""):
    return ExecResult(code, out, err)


def test_pause_succeeds_only_on_the_ok_line():
    check_act("iris", "pause", _res(0, "\n%SYS>\nIRISENV-MON-OK\n%SYS>\n"))
    with pytest.raises(IrisenvError) as exc:
        check_act("iris", "pause", _res(0, "IRISENV-MON-OK\nsomething else\n"))
    assert "did not confirm" in exc.value.what and "something else" in exc.value.why
    with pytest.raises(IrisenvError) as exc:
        check_act("iris", "resume", _res(0, "IRISENV-ERR:<PROTECT> Resume\n"))
    assert "<PROTECT> Resume" in exc.value.why and exc.value.fix


@pytest.mark.parametrize("code, what", [(10, "not set up"), (11, "disabled"),
                                        (12, "could not write")])
def test_pause_names_why_the_shell_refused(code, what):
    with pytest.raises(IrisenvError) as exc:
        check_act("iris", "pause", _res(code, ""))
    assert what in exc.value.what and exc.value.why and exc.value.fix


class _Engine:
    def __init__(self, stdout, code=0):
        self.stdout, self.code, self.cmd = stdout, code, None

    def exec(self, cid, cmd, *, stdin=None, env=None, timeout=60, user=None):
        self.cmd = cmd
        token = stdin.decode().split('write "IRISENV-OK-', 1)[1].split('"', 1)[0]
        return ExecResult(self.code, self.stdout.replace("TOKEN", token), "")


def test_the_prelude_output_is_apart_from_the_session():
    # prelude output that looks like an error or a value is not the session's
    eng = _Engine("state x\nIRISENV-ERR: not mine\n<SYNTAX>\nIRISENV-PRELUDE-END-TOKEN\n"
                  "IRISENV-VAL:a=1\nIRISENV-OK-TOKEN\n")
    res = runner.run(eng, "c1", ['write "x"'], prelude="echo hi")
    assert eng.cmd[:2] == ["sh", "-c"] and eng.cmd[-5:] == ["iris", "session", "IRIS", "-U",
                                                             "%SYS"]
    assert res.values == {"a": "1"} and res.prelude.startswith("state x\n")
    # a failing session still hands back what the prelude printed
    eng = _Engine("state y\nIRISENV-PRELUDE-END-TOKEN\n<Startup Error>\n", code=1)
    with pytest.raises(runner.ScriptError) as exc:
        runner.run(eng, "c1", ['write "x"'], prelude="echo hi")
    assert exc.value.prelude == "state y\n"
    # without a prelude the command is the plain session
    eng = _Engine("IRISENV-OK-TOKEN\n")
    assert runner.run(eng, "c1", ['write "x"']).prelude == ""
    assert eng.cmd == ["iris", "session", "IRIS", "-U", "%SYS"]


@pytest.mark.parametrize("stdout, want", [
    ("IRISENV-VAL:mon.run=R1\nIRISENV-VAL:preview=1^/m/irisenv-sysperf/x_P.html\n",
     {"run": "R1", "file": "/m/irisenv-sysperf/x_P.html"}),
    ("IRISENV-VAL:mon.run=R1\nIRISENV-VAL:preview=0^run R1 has no data yet\n",
     {"run": "R1", "why": "run R1 has no data yet"}),
    ("", {"run": None, "why": "no run is recorded (collection is suspended, paused or not "
          "started yet)"}),
])
def test_report_now_asks_iris_for_an_interim_report_of_the_recorded_run(stdout, want):
    from irisenv.monitor_host import PREVIEW_STATEMENT, _preview

    eng = _Engine(stdout + "IRISENV-OK-TOKEN\n")
    assert _preview(eng, "c1", "iris") == want
    assert "$$Preview^SystemPerformance(r)" in PREVIEW_STATEMENT


def test_report_now_goes_on_when_iris_does_not_answer():
    from irisenv.monitor_host import _preview

    got = _preview(_Engine("<Startup Error>\n", code=1), "c1", "iris")
    assert got["run"] is None and "the request failed" in got["why"]


# ------------------------------------------------------------------ pause/resume's shell
def _act_sh(tmp_path, shell, action: str, env_path: str) -> ExecResult:
    """monitor_host._ACT run on the host: MONDIR at tmp_path/mon, `iris` a fake that
    prints what is piped into it (the .cos script's own IRISENV-MON-OK)."""
    import os

    from irisenv.monitor_host import _ACT

    text = _ACT.replace(mf.MONDIR, str(tmp_path / "mon"))
    p = subprocess.run([*shell, "-c", text, "sh", action], capture_output=True, text=True,
                       timeout=30, env={**os.environ, "PATH": env_path})
    return ExecResult(p.returncode, p.stdout, p.stderr)


@pytest.fixture
def mondir(tmp_path):
    import os

    mon = tmp_path / "mon"
    mon.mkdir()
    (mon / "policy").write_text("enabled=1\n")
    for name in ("suspend", "resume"):
        (mon / f"{name}.cos").write_text(f'write "{name}",!\nwrite !,"IRISENV-MON-OK",!\n')
    (mon / "state").write_text("state=paused reason=manual cpu=1.0 mem=2.0 since=1 "
                               "updated=2 pid=3\n")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    fake = bin_ / "iris"  # `iris session IRIS -U %SYS`: echo the piped lines' strings
    fake.write_text('#!/bin/sh\nsed -n \'s/^write.*"\\(.*\\)",!$/\\1/p\'\n')
    fake.chmod(0o755)
    return mon, f"{bin_}:{os.environ['PATH']}"


@pytest.mark.parametrize("shell", SHELLS, ids=" ".join)
def test_pause_writes_the_file_and_runs_suspend(tmp_path, mondir, shell):
    mon, path = mondir
    res = _act_sh(tmp_path, shell, "suspend", path)
    assert res.stdout.splitlines()[-1] == "IRISENV-MON-OK" and res.exit_code == 0, res
    assert "suspend" in res.stdout and (mon / "pause").read_text().strip().isdigit()
    assert check_act("iris", "pause", res) is None


@pytest.mark.parametrize("shell", SHELLS, ids=" ".join)
def test_resume_without_a_watcher_runs_resume_itself(tmp_path, mondir, shell):
    mon, path = mondir
    (mon / "pause").write_text("1\n")
    res = _act_sh(tmp_path, shell, "resume", path)
    assert not (mon / "pause").exists()
    assert "resume" in res.stdout and check_act("iris", "resume", res) is None


@pytest.mark.parametrize("shell", SHELLS, ids=" ".join)
def test_resume_with_a_watcher_leaves_the_action_to_it(tmp_path, mondir, shell):
    """The watcher knows the load: it resumes (or keeps collection suspended over a
    threshold). The exec waits for its state to leave `paused` and runs no resume.cos."""
    mon, path = mondir
    (mon / "pause").write_text("1\n")
    watcher = subprocess.Popen(["sleep", "30"])
    (mon / "watch.pid").write_text(f"{watcher.pid} {_starttime(watcher.pid)}\n")

    def watcher_acts():  # what the watcher does on its next sample
        time.sleep(0.3)
        (mon / "state.tmp").write_text("state=suspended reason=cpu cpu=97.0 mem=2.0 "
                                       "since=5 updated=5 pid=3\n")
        (mon / "state.tmp").rename(mon / "state")

    t = threading.Thread(target=watcher_acts)
    t.start()
    try:
        res = _act_sh(tmp_path, shell, "resume", path)
    finally:
        t.join()
        watcher.kill()
        watcher.wait()
    assert not (mon / "pause").exists()
    assert "resume" not in res.stdout.splitlines()  # resume.cos did not run
    state = check_act("iris", "resume", res)
    assert state.state == "suspended" and mf.word(state) == "suspended: cpu 97 %"


@pytest.mark.parametrize("line, what", [
    ("state=suspended reason=manual cpu=1.0 mem=1.0", "could not resume"),
    ("nonsense", "could not resume")])
def test_a_resume_the_watcher_failed_is_an_error(line, what):
    from irisenv.monitor_host import STATE_TAG

    with pytest.raises(IrisenvError) as exc:
        check_act("iris", "resume", _res(0, f"{STATE_TAG} {line}\n"))
    assert what in exc.value.what
    with pytest.raises(IrisenvError) as exc:
        check_act("iris", "resume", _res(13, ""))
    assert "did not resume" in exc.value.what and "still says paused" in exc.value.why
