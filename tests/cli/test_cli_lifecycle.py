"""stop, start, restart, ls and sync --reuse: exit codes, output and what they do to the
containers, in process with the in-memory engine (tests/unit/fake_engine.py) in place of
Docker, as tests/cli/test_cli_exit_codes.py runs plan, sync, status and down."""
from __future__ import annotations

import json

import pytest
from clirun import run  # tests/cli is on sys.path
from test_cli_exit_codes import (  # noqa: F401  (fixtures, by name)
    CONFIG, HEALTHY_IRIS, containers, fake, fast_retries, project_dir, synced)

from irisenv.core import labels as L


def ours(project: str, instance: str, **more) -> dict:
    return {L.MANAGED_BY: L.MANAGED_BY_VALUE, L.PROJECT: project, L.INSTANCE: instance, **more}


def states(fake) -> dict:
    return {n: c["state"] for n, c in containers(fake).items()}


# ------------------------------------------------------------------ stop
def test_stop_keeps_the_container_and_touches_nothing_else(capsys, fake, project_dir):
    synced(capsys, fake)
    [cid] = fake.containers
    foreign = fake.add("demo-web", {"com.example.owner": "someone"})
    other = fake.add("other-iris", ours("other", "iris"))
    code, out, err = run(capsys, "stop", "--json", "--progress", "plain")
    assert code == 0, err
    assert json.loads(out) == {"project": "demo", "stopped": ["iris"], "started": [],
                               "ready": [], "unchanged": [], "spares_stopped": []}
    assert "stop: project demo: stopped 1 instance(s)" in err
    assert states(fake) == {"demo-iris": "exited", "demo-web": "running",
                            "other-iris": "running"}
    assert set(fake.containers) == {cid, foreign, other}  # nothing removed or made
    # stopped already: exit 0, said so
    code, out, err = run(capsys, "stop", "--json")
    assert code == 0, err
    assert json.loads(out)["unchanged"] == ["iris"] and "already stopped" in err
    # plan shows the stopped instance as a start
    code, out, _ = run(capsys, "plan", "--detailed-exitcode")
    assert code == 2 and "~ container demo-iris" in out and "1 to start" in out


def test_stop_also_stops_the_instances_running_warm_spares(capsys, fake, project_dir):
    """A spare is a whole running IRIS: `stop` frees what the project holds, spares too
    (the next sync drains a stopped spare and boots a new one)."""
    synced(capsys, fake)
    spare = fake.add("demo-iris-spare-1", ours("demo", "iris", **{L.ROLE: L.SPARE}))
    other = fake.add("other-iris-spare-1", ours("other", "iris", **{L.ROLE: L.SPARE}))
    code, out, err = run(capsys, "stop", "--json", "--progress", "plain")
    assert code == 0, err
    assert json.loads(out)["spares_stopped"] == ["demo-iris-spare-1"]
    assert "1 warm spare(s) stopped" in err
    assert states(fake)["demo-iris-spare-1"] == "exited"
    assert states(fake)["other-iris-spare-1"] == "running"
    assert {spare, other} <= set(fake.containers)  # stopped, not removed


def test_stop_of_a_project_without_containers_exits_0(capsys, fake, project_dir):
    code, _, err = run(capsys, "stop")
    assert code == 0, err
    assert "stopped 0 instance(s)" in err


# ------------------------------------------------------------------ start
def test_start_brings_the_same_container_back_and_waits_until_ready(capsys, fake, project_dir):
    synced(capsys, fake)
    [cid] = fake.containers
    assert run(capsys, "stop")[0] == 0
    code, out, err = run(capsys, "start", "--json", "--progress", "plain")
    assert code == 0, err
    assert json.loads(out) == {"project": "demo", "stopped": [], "started": ["iris"],
                               "ready": ["iris"], "unchanged": []}
    assert "iris: starting demo-iris (was exited)" in err and "iris: ready (" in err
    assert "start: project demo: 1 instance(s) ready" in err
    assert list(fake.containers) == [cid] and states(fake) == {"demo-iris": "running"}
    code, out, err = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out + err
    # running already: nothing started, still waited on
    code, out, err = run(capsys, "start", "--json")
    assert code == 0 and json.loads(out)["unchanged"] == ["iris"]
    assert json.loads(out)["ready"] == ["iris"]


def test_start_exits_3_when_iris_is_not_ready_in_time(capsys, fake, project_dir):
    synced(capsys, fake)
    assert run(capsys, "stop")[0] == 0
    fake.iris_on_start = None  # the log never says "Enabling logons"
    code, out, err = run(capsys, "start", "--timeout", "1", "--json")
    assert code == 3, err
    assert "instance iris was not ready in time" in err and "fix: " in err
    assert json.loads(out)["exit_code"] == 3
    # --no-wait returns once started
    assert run(capsys, "stop")[0] == 0
    code, out, err = run(capsys, "start", "--no-wait", "--json")
    assert code == 0, err
    assert json.loads(out)["ready"] == [] and "1 instance(s) started" in err


def test_start_of_an_instance_without_a_container_is_an_error(capsys, fake, project_dir):
    synced(capsys, fake)
    code, out, err = run(capsys, "start", "nope", "--json")
    assert code == 1
    assert err.startswith("error: project demo has no container for instance nope\n"), err
    assert "why: the instances with a container are: iris" in err and "fix: " in err
    assert json.loads(out)["error"] == "project demo has no container for instance nope"
    assert fake.log and not [e for e in fake.log if e[0] in ("start", "stop")]


def test_start_of_a_project_without_containers_is_an_error(capsys, fake, project_dir):
    code, _, err = run(capsys, "start")
    assert code == 1
    assert "project demo has no containers to start" in err and "irisenv sync" in err


def test_start_refuses_a_container_an_interrupted_sync_never_started(capsys, fake,
                                                                     project_dir):
    fake.add("demo-iris", ours("demo", "iris"), state="created")
    code, _, err = run(capsys, "start")
    assert code == 1
    assert "was created but never started" in err and "`irisenv sync` makes it anew" in err
    assert states(fake) == {"demo-iris": "created"}


def test_lifecycle_verbs_with_project_need_no_config(capsys, fake, tmp_path, monkeypatch):
    """As `down --project`: not even a broken config in the working directory is read."""
    fake.iris_on_start = HEALTHY_IRIS
    fake.add("demo-iris", ours("demo", "iris"), state="exited")
    fake.add("demo-two", ours("demo", "two"), state="exited")
    other = fake.add("other-iris", ours("other", "iris"), state="exited")
    (tmp_path / "iris-devtester.toml").write_text("this is [not toml\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IRISENV_CONFIG", raising=False)
    code, _, err = run(capsys, "start", "--project", "demo", "two")
    assert code == 0, err
    assert states(fake) == {"demo-iris": "exited", "demo-two": "running",
                            "other-iris": "exited"}
    code, _, err = run(capsys, "restart", "--project", "demo")
    assert code == 0, err
    assert "restart: project demo: 2 instance(s) ready" in err
    assert states(fake) == {"demo-iris": "running", "demo-two": "running",
                            "other-iris": "exited"}
    assert fake.containers[other]["state"] == "exited"


def test_restart_stops_then_starts_each_container(capsys, fake, project_dir):
    synced(capsys, fake)
    [cid] = fake.containers
    fake.log.clear()
    code, out, err = run(capsys, "restart", "--json")
    assert code == 0, err
    assert json.loads(out) == {"project": "demo", "stopped": ["iris"], "started": ["iris"],
                               "ready": ["iris"], "unchanged": []}
    assert [e[0] for e in fake.log if e[0] in ("stop", "start")] == ["stop", "start"]
    assert list(fake.containers) == [cid]


@pytest.mark.parametrize("argv", [["stop", "--timeout", "5"], ["start", "--timeout", "soon"],
                                  ["restart", "--project"], ["ls", "extra"],
                                  ["sync", "--reuse", "sometimes"]])
def test_a_bad_argument_exits_64_before_touching_the_engine(capsys, fake, project_dir, argv):
    code, _, err = run(capsys, *argv)
    assert code == 64, err
    assert f"usage: irisenv {argv[0]}" in err
    assert fake.opened == [] and fake.log == []


# ------------------------------------------------------------------ ls
def test_ls_lists_every_project_from_labels_without_a_config(capsys, fake, tmp_path,
                                                             monkeypatch):
    fake.add("demo-iris", ours("demo", "iris", **{L.CONFIG_FILE: "/src/demo/iris-devtester.toml",
                                                  L.PROJECT_DIR: "/src/demo"}))
    fake.add("demo-cache", ours("demo", "cache"), state="exited")
    fake.add("old-iris", ours("old", "iris", **{L.PROJECT_DIR: "/src/old"}), state="exited")
    fake.add("someones-db", {"com.example.owner": "someone"})
    fake.add("irisenv-lock.demo", {L.MANAGED_BY: L.MANAGED_BY_VALUE,
                                   "io.irisenv.lock.project": "demo"}, state="created")
    (tmp_path / "iris-devtester.toml").write_text("this is [not toml\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "ls", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [(p["project"], p["state"], p["config"], p["project_dir"]) for p in doc["projects"]] \
        == [("demo", "mixed", "/src/demo/iris-devtester.toml", "/src/demo"),
            ("old", "exited", None, "/src/old")]
    demo = doc["projects"][0]["containers"]
    assert [(c["instance"], c["container"], c["state"]) for c in demo] == [
        ("cache", "demo-cache", "exited"), ("iris", "demo-iris", "running")]
    assert "memory" not in demo[0]
    assert [e for e in fake.log if e[0] == "memory_usage"] == []  # only with --stats
    code, out, err = run(capsys, "ls")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["PROJECT", "INSTANCE", "CONTAINER", "STATE", "PORT", "WEB",
                                "AGE", "CONFIG"]
    assert lines[1].split()[:4] == ["demo", "cache", "demo-cache", "exited"]
    assert lines[1].endswith("/src/demo/iris-devtester.toml")
    assert lines[3].split()[0] == "old" and lines[3].endswith("/src/old (checkout)")
    assert "someones-db" not in out and "lock" not in out
    # --stats: the running containers' memory
    code, out, err = run(capsys, "ls", "--stats", "--json")
    assert code == 0, err
    demo = json.loads(out)["projects"][0]
    assert [c["memory"] for c in demo["containers"]] == [None, 64 * 1024**2]
    assert demo["memory"] == 64 * 1024**2
    assert run(capsys, "ls", "--stats")[1].splitlines()[0].split()[7] == "MEMORY"


def test_ls_with_no_projects(capsys, fake, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "ls")
    assert code == 0 and out.startswith("no irisenv projects on ")
    assert json.loads(run(capsys, "ls", "--json")[1])["projects"] == []


# ------------------------------------------------------------------ sync --reuse
def test_sync_reuse_overrides_the_configs_mode_for_one_run(capsys, fake, project_dir):
    synced(capsys, fake)
    [first] = fake.containers
    code, out, _ = run(capsys, "plan", "--reuse", "never")
    assert code == 0 and "--reuse never: a fresh container this run" in out
    code, _, err = run(capsys, "sync", "--reuse", "never", "--no-wait", "--json")
    assert code == 0, err
    [second] = fake.containers
    assert second != first
    code, out, _ = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out  # the config's own mode again: the new container matches
    # reuse = "never" in the config, matching this run: kept
    (project_dir / "iris-devtester.toml").write_text(CONFIG + 'reuse = "never"\n')
    code, out, _ = run(capsys, "plan", "--detailed-exitcode")
    assert code == 2 and 'reuse = "never": a fresh container every sync' in out
    code, _, err = run(capsys, "sync", "--reuse", "matching", "--no-wait")
    assert code == 0, err
    assert list(fake.containers) == [second]
    # drift kept by --reuse always, said with where it came from
    (project_dir / "iris-devtester.toml").write_text(CONFIG + 'memory = "3g"\n')
    code, out, _ = run(capsys, "plan", "--reuse", "always", "--detailed-exitcode")
    assert code == 0 and "drift kept (--reuse always): memory" in out, out
    code, out, err = run(capsys, "sync", "--reuse", "always", "--no-wait", "--json")
    assert code == 0 and list(fake.containers) == [second], err
