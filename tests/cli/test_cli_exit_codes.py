"""Exit codes and --json documents of plan, sync, status and down (docs/cli.md: 0 ok,
1 error, 2 plan changes with --detailed-exitcode, 3 not ready, 64 usage, 130 interrupted),
in process, with the in-memory engine (tests/unit/fake_engine.py) in place of Docker:
``irisenv.engine.open_engine`` is where every verb gets its engine."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from clirun import run  # tests/cli is on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from fake_engine import HEALTHY_IRIS, IMG_ID, FakeEngine  # noqa: E402

from irisenv.cli.main import main  # noqa: E402
from irisenv.core import labels as L  # noqa: E402
from irisenv.engine import retry  # noqa: E402
from irisenv.errors import IrisenvError  # noqa: E402

IMAGE = "containers.intersystems.com/intersystems/iris-community:2025.1"
CONFIG = f'[project]\nname = "demo"\n\n[instances.iris]\nimage = "{IMAGE}"\n'


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(retry, "RETRY_ATTEMPTS", 3)
    monkeypatch.setattr(retry, "RETRY_SECONDS", 5.0)


@pytest.fixture
def fake(monkeypatch) -> FakeEngine:
    eng = FakeEngine()
    eng.images[IMAGE] = IMG_ID
    opened = []

    def open_engine(endpoint=None, *, default=None):
        opened.append(endpoint)
        return retry.with_retries(eng)

    monkeypatch.setattr("irisenv.engine.open_engine", open_engine)
    eng.opened = opened  # how often a verb asked for the engine
    return eng


@pytest.fixture
def project_dir(tmp_path, monkeypatch) -> Path:
    """A checkout with iris-devtester.toml, the working directory of the command."""
    (tmp_path / "iris-devtester.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IRISENV_CONFIG", raising=False)
    monkeypatch.delenv("CI", raising=False)
    return tmp_path




def synced(capsys, fake: FakeEngine, *, iris=HEALTHY_IRIS) -> None:
    """The project as `irisenv sync --no-wait` leaves it, IRIS up (or still booting)."""
    fake.iris_on_start = iris
    assert run(capsys, "sync", "--no-wait", "--progress", "quiet")[0] == 0
    fake.log.clear()


def containers(fake: FakeEngine) -> dict:
    return {c["name"]: c for c in fake.containers.values()}


# ------------------------------------------------------------------ plan
def test_plan_of_a_fresh_project_exits_0_and_shows_the_create(capsys, fake, project_dir):
    code, out, err = run(capsys, "plan")
    assert code == 0, err
    assert "+ container demo-iris" in out and "1 to add" in out
    assert fake.containers == {}


def test_plan_json_of_a_fresh_project(capsys, fake, project_dir):
    code, out, _ = run(capsys, "plan", "--json")
    doc = json.loads(out)
    assert code == 0
    assert doc["project"] == "demo" and doc["changes"] is True
    assert doc["summary"]["add"] == 1 and doc["problems"] == []
    assert [s["action"] for s in doc["steps"]][0] == "create"


def test_plan_detailed_exitcode_is_2_with_changes(capsys, fake, project_dir):
    code, out, _ = run(capsys, "plan", "--detailed-exitcode")
    assert code == 2 and "1 to add" in out


def test_plan_detailed_exitcode_is_0_when_converged(capsys, fake, project_dir):
    synced(capsys, fake)
    code, out, err = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes. Project demo matches the config." in out


def test_plan_detailed_exitcode_is_1_with_a_problem(capsys, fake, project_dir):
    fake.add("demo-iris", {"com.example.owner": "someone"})
    code, out, _ = run(capsys, "plan", "--detailed-exitcode")
    assert code == 1
    assert "not created by irisenv" in out and "Blocked: 1 problem(s)" in out
    code, out, _ = run(capsys, "plan", "--json")
    assert code == 1 and "not created by irisenv" in json.loads(out)["problems"][0]["what"]


# ------------------------------------------------------------------ sync
def test_sync_no_wait_exits_0_with_the_container_running(capsys, fake, project_dir):
    code, out, err = run(capsys, "sync", "--no-wait", "--json", "--progress", "plain")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["project"] == "demo" and doc["changes"] is True and doc["summary"]["add"] == 1
    assert "sync: project demo: 1 added; 1 instance(s) started" in err
    assert [(n, c["state"]) for n, c in containers(fake).items()] == [("demo-iris", "running")]


def test_sync_exits_0_once_iris_is_ready(capsys, fake, project_dir):
    fake.iris_on_start = HEALTHY_IRIS
    code, _, err = run(capsys, "sync", "--timeout", "20")
    assert code == 0, err
    assert "1 instance(s) ready" in err
    assert containers(fake)["demo-iris"]["state"] == "running"


def test_sync_exits_3_when_iris_is_not_ready_in_time(capsys, fake, project_dir):
    """The container starts, but its log never says "Enabling logons"."""
    code, out, err = run(capsys, "sync", "--timeout", "1", "--json")
    assert code == 3, err
    assert "instance iris was not ready in time" in err
    assert "Enabling logons" in err and "fix: raise --timeout" in err
    doc = json.loads(out)
    assert doc["exit_code"] == 3 and doc["error"] == "instance iris was not ready in time"


def test_sync_exits_1_when_the_engine_refuses(capsys, fake, project_dir):
    fake.fail("create", IrisenvError("Docker refused to create demo-iris",
                                     "the daemon is out of disk space", "free some disk space"))
    code, out, err = run(capsys, "sync", "--json")
    assert code == 1
    assert "Docker refused to create demo-iris" in err
    assert "why: the daemon is out of disk space" in err and "fix: free some disk space" in err
    assert json.loads(out)["exit_code"] == 1
    assert fake.containers == {}


@pytest.mark.parametrize("method", ["list_project", "create"])
def test_an_interrupt_during_sync_exits_130(capsys, fake, project_dir, method):
    """Ctrl-C in the main thread (observing) or in an instance's worker (creating)."""
    fake.fail(method, KeyboardInterrupt())
    code, _, err = run(capsys, "sync", "--no-wait")
    assert code == 130
    assert "interrupted" in err


# ------------------------------------------------------------------ status
def test_status_of_a_fresh_project(capsys, fake, project_dir):
    code, out, _ = run(capsys, "status")
    assert code == 0 and "demo-iris" in out and "absent" in out
    code, out, _ = run(capsys, "status", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["project"] == "demo"
    assert [(r["instance"], r["container"], r["state"], r["exists"]) for r in doc["instances"]] \
        == [("iris", "demo-iris", "absent", False)]


def test_status_json_of_a_synced_project(capsys, fake, project_dir):
    synced(capsys, fake)
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0
    [row] = json.loads(out)["instances"]
    assert (row["instance"], row["state"], row["iris"], row["drift"]) == ("iris", "running",
                                                                          "running", False)
    assert isinstance(row["port"], int) and isinstance(row["web_port"], int)
    assert row["iris_state"]["password_verified"] is True


def test_status_of_an_instance_whose_iris_is_still_starting(capsys, fake, project_dir):
    synced(capsys, fake, iris=None)
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "IRIS is starting" in out


# ------------------------------------------------------------------ down
def test_down_exits_0_and_removes_the_projects_containers(capsys, fake, project_dir):
    synced(capsys, fake)
    foreign = fake.add("demo-web", {"com.example.owner": "someone"})
    code, out, err = run(capsys, "down", "--json")
    assert code == 0, err
    assert json.loads(out) == {"project": "demo", "containers": ["demo-iris"], "volumes": []}
    assert list(fake.containers) == [foreign]


def test_down_project_needs_no_config(capsys, fake, tmp_path, monkeypatch):
    """Not even a broken one in the working directory is read."""
    fake.add("demo-iris", {L.MANAGED_BY: L.MANAGED_BY_VALUE, L.PROJECT: "demo",
                           L.INSTANCE: "iris"})
    other = fake.add("other-iris", {L.MANAGED_BY: L.MANAGED_BY_VALUE, L.PROJECT: "other",
                                    L.INSTANCE: "iris"})
    (tmp_path / "iris-devtester.toml").write_text("this is [not toml\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IRISENV_CONFIG", raising=False)
    code, out, err = run(capsys, "down", "--project", "demo")
    assert code == 0, err
    assert "down: project demo: removed 1 container(s)" in err
    assert list(fake.containers) == [other]


def test_down_of_a_project_with_nothing_exits_0(capsys, fake, project_dir):
    code, _, err = run(capsys, "down")
    assert code == 0 and "removed 0 container(s)" in err


# ------------------------------------------------------------------ usage
@pytest.mark.parametrize("argv", [["plan", "--no-such-flag"], ["sync", "--timeout", "soon"],
                                  ["status", "extra"], ["down", "--project"],
                                  ["sync", "--progress", "loud"]])
def test_a_bad_argument_exits_64_before_touching_the_engine(capsys, fake, project_dir, argv):
    code, _, err = run(capsys, *argv)
    assert code == 64
    assert f"usage: irisenv {argv[0]}" in err
    assert fake.opened == [] and fake.log == []


# ------------------------------------------------------------------ broken pipes
def test_a_broken_pipe_that_is_not_stdouts_is_an_error_not_a_silent_success(
        capsys, fake, project_dir):
    """A pipe to something irisenv runs (an ssh:// engine's ssh) that breaks is not the
    reader of stdout going away: no exit 0 with nothing printed."""
    fake.fail("list_project", BrokenPipeError(32, "Broken pipe"))
    code = main(["status", "--json"])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert "internal error: BrokenPipeError" in err


def test_stdout_is_gone_when_it_is_a_pipe_whose_reader_has_left(monkeypatch):
    import os

    from irisenv.cli.main import _stdout_gone

    read, write = os.pipe()
    with os.fdopen(write, "w") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        assert _stdout_gone() is False  # read, as `irisenv status | head` reads it
        os.close(read)
        assert _stdout_gone() is True  # head has what it wanted and left
