"""`irisenv monitor ...` in process, with the in-memory engine: exit codes, output, JSON
shape, no password; the container's side is answered by canned shell output in the I12
formats (tests/docker/test_monitor.py runs the same against the stand-in)."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from clirun import run  # tests/cli is on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from fake_engine import HEALTHY_IRIS, IMG_ID, FakeEngine  # noqa: E402

from irisenv.engine import retry  # noqa: E402
from irisenv.engine.base import ExecResult  # noqa: E402
from irisenv.iris.runner import PRELUDE_END  # noqa: E402

IMAGE = "containers.intersystems.com/intersystems/iris-community:2025.1"
PASSWORD = "Sekrit-77"
CONFIG = (f'[project]\nname = "demo"\n\n[instances.iris]\nimage = "{IMAGE}"\n'
          f'credentials = {{ password = "{PASSWORD}" }}\n'
          f'[instances.two]\nimage = "{IMAGE}"\ncredentials = {{ password = "{PASSWORD}" }}\n')
DUMP = ("@@ policy\nenabled=1\nretention_s=3600\nspdir=/x/\n\n@@ state\n"
        "state=suspended reason=memory cpu=10.0 mem=96.4 since=100 updated=200 pid=7\n\n"
        "@@ pause\n1\n@@ alive\n1\n@@ transitions\n100 suspended memory cpu=10.0 mem=96.4\n")


@pytest.fixture
def fake(monkeypatch, tmp_path) -> FakeEngine:
    eng = FakeEngine()
    eng.images[IMAGE] = IMG_ID
    eng.act_result = {}  # instance -> ExecResult of pause/resume's shell
    eng.execs = []
    plain = eng.exec

    def exec_(cid, cmd, *, stdin=None, env=None, user=None, timeout=60):
        cmd = list(cmd)
        if cmd[:2] == ["sh", "-c"] and PRELUDE_END in cmd[2]:  # status: dump + session
            eng.execs.append("status")
            marker = re.search(PRELUDE_END + "[0-9a-f]+", cmd[2]).group(0)
            res = plain(cid, cmd[4:], stdin=stdin, env=env, user=user, timeout=timeout)
            return ExecResult(res.exit_code, DUMP + marker + "\n" + res.stdout, res.stderr)
        if cmd[:2] == ["sh", "-c"] and cmd[-1] in ("suspend", "resume"):
            eng.execs.append(cmd[-1])
            name = eng.containers[cid]["name"]
            return eng.act_result.get(name.rpartition("-")[2], ExecResult(
                0, "\n%SYS>\nIRISENV-MON-OK\n", ""))
        return plain(cid, cmd, stdin=stdin, env=env, user=user, timeout=timeout)

    eng.exec = exec_
    monkeypatch.setattr("irisenv.engine.open_engine",
                        lambda endpoint=None, *, default=None: retry.with_retries(eng))
    (tmp_path / "iris-devtester.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IRISENV_CONFIG", raising=False)
    return eng


def synced(capsys, fake):
    fake.iris_on_start = {**HEALTHY_IRIS, "mon.run": "20261130_010000_irisenv",
                          "mon.task": "5", "task.suspended": "1"}
    assert run(capsys, "sync", "--no-wait", "--progress", "quiet")[0] == 0


def test_status_json_shape_and_text_without_the_password(capsys, fake):
    synced(capsys, fake)
    code, out, err = run(capsys, "monitor", "status", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["project"] == "demo" and [r["instance"] for r in doc["instances"]] == ["iris",
                                                                                     "two"]
    row = doc["instances"][0]
    assert set(row) == {"instance", "container", "policy", "installed", "applied", "word",
                        "watcher", "transitions", "iris"}
    assert row["word"] == "paused"  # the pause file exists
    assert row["watcher"] == {"state": "suspended", "reason": "memory", "cpu": 10.0,
                              "mem": 96.4, "since": 100, "updated": 200, "pid": 7,
                              "paused": True, "running": True}
    assert row["iris"] == {"task": "suspended", "task_id": "5",
                           "run": "20261130_010000_irisenv", "run_ends": None}
    assert row["policy"]["interval"] == 30 and row["applied"]["spdir"] == "/x/"
    assert fake.execs == ["status", "status"]  # one exec per instance
    code, out, err = run(capsys, "monitor", "status", "iris")
    assert code == 0 and "monitoring: paused" in out and "task suspended (id 5)" in out
    assert "current run 20261130_010000_irisenv" in out
    assert PASSWORD not in out + err


def test_status_of_an_instance_without_container(capsys, fake):
    code, out, err = run(capsys, "monitor", "status", "--json")
    assert code == 0  # all instances: each says what is wrong
    assert json.loads(out)["instances"][0]["error"] == "instance iris has no container"
    code, out, err = run(capsys, "monitor", "status", "iris")
    assert code == 1 and err.startswith("error: instance iris has no container")
    assert "  fix: run `irisenv sync` first" in err


def test_pause_every_instance_and_one_that_fails(capsys, fake):
    synced(capsys, fake)
    code, out, err = run(capsys, "monitor", "pause")
    assert code == 0 and out == ""
    assert "iris: monitoring paused" in err and "two: monitoring paused" in err
    assert sorted(fake.execs) == ["suspend", "suspend"]
    fake.act_result["two"] = ExecResult(0, "IRISENV-ERR:<PROTECT>\n", "")
    code, out, err = run(capsys, "monitor", "resume", "--json")
    assert code == 1
    rows = {r["instance"]: r for r in json.loads(out)["instances"]}
    assert rows["iris"]["action"] == "resume" and "error" not in rows["iris"]
    assert rows["two"]["error"]["error"] == "monitor resume: IRIS did not confirm in instance two"
    assert "error: monitor resume: IRIS did not confirm in instance two" in err
    fake.act_result["iris"] = ExecResult(10, "", "")
    code, out, err = run(capsys, "monitor", "pause", "iris")
    assert code == 1 and "monitoring is not set up in instance iris" in err
    assert "  why: " in err and "  fix: " in err and PASSWORD not in out + err


def test_a_stopped_container_is_not_paused(capsys, fake):
    synced(capsys, fake)
    for c in fake.containers.values():
        c["state"] = "exited"
    code, _, err = run(capsys, "monitor", "pause", "iris")
    assert code == 1 and "instance iris is not running" in err and fake.execs == []


@pytest.mark.parametrize("argv", [["monitor"], ["monitor", "stop"],
                                  ["monitor", "pause", "--bogus"],
                                  ["monitor", "status", "-n", "x"],
                                  ["monitor", "report", "a", "b"]])
def test_bad_monitor_command_lines_exit_64(capsys, fake, argv):
    code, _, err = run(capsys, *argv)
    assert code == 64 and "usage: irisenv monitor" in err
    assert fake.log == []


def test_pause_without_an_instance_skips_stopped_and_disabled_ones(capsys, fake, tmp_path):
    (tmp_path / "iris-devtester.toml").write_text(
        CONFIG + "[instances.two.monitoring]\nenabled = false\n"
        f'[instances.three]\nimage = "{IMAGE}"\n')
    synced(capsys, fake)
    for c in fake.containers.values():
        if c["name"].endswith("-three"):
            c["state"] = "exited"
    code, out, err = run(capsys, "monitor", "pause", "--json")
    assert code == 0, err
    assert [r["instance"] for r in json.loads(out)["instances"]] == ["iris"]
    for c in fake.containers.values():
        c["state"] = "exited"
    code, out, err = run(capsys, "monitor", "resume")
    assert code == 1 and "error: nothing to pause or resume" in err
    assert "no container runs of iris, three" in err and "  fix: run `irisenv sync` first" in err


def test_report_into_a_directory_it_cannot_write_is_an_error_not_a_traceback(capsys, fake,
                                                                              tmp_path):
    from irisenv.monitor_host import _LIST

    synced(capsys, fake)
    plain = fake.exec

    def exec_(cid, cmd, **kw):  # the listing of a container with monitoring set up
        if list(cmd) == ["sh", "-c", _LIST]:
            return ExecResult(0, "@@ policy\nenabled=1\n@@ now\n100\n", "")
        return plain(cid, cmd, **kw)

    fake.exec = exec_
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the directory would go
    code, out, err = run(capsys, "monitor", "report", "--out", str(blocked / "sub"))
    assert code == 1 and err.startswith(f"error: monitor report: cannot write to {blocked}")
    assert "  fix: pass --out DIR" in err
    code, out, err = run(capsys, "monitor", "report", "--out", str(tmp_path / "ok"))
    assert code == 0 and out.strip() == str(tmp_path / "ok" / "overview.html")


def test_a_report_gone_before_its_copy_is_skipped_with_a_warning(capsys, fake, tmp_path):
    from irisenv.errors import IrisenvError
    from irisenv.monitor_host import _LIST

    synced(capsys, fake)
    plain = fake.exec
    fake.exec = lambda cid, cmd, **kw: (
        ExecResult(0, "@@ policy\nenabled=1\n@@ reports\n/s/a.html\n/s/b.html\n", "")
        if list(cmd) == ["sh", "-c", _LIST] else plain(cid, cmd, **kw))

    def get_files(cid, path, dest):
        if path == "/s/a.html":
            raise IrisenvError("could not copy /s/a.html", "No such container:path: a.html")
        (Path(dest) / "b.html").write_text("b")
        return ["b.html"]

    fake.get_files = get_files
    code, out, err = run(capsys, "monitor", "report", "--out", str(tmp_path / "o"), "--json")
    assert code == 0 and json.loads(out)["reports"] == ["b.html"]
    assert "warning: a.html not copied: No such container:path: a.html" in err
