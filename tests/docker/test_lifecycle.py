"""`stop`, `start`, `restart`, `ls` and `sync --reuse` against the stand-in, as a user
runs them: the container and its data are kept, `start` returns once IRIS is ready, and
nothing without irisenv's labels is listed or touched."""
from __future__ import annotations

import json
import subprocess

import docker.errors
from helpers import STANDIN_IMAGE, describe, instance_toml, qlist


def marker(container) -> str:
    code, out = container.exec_run(["cat", "/home/irisowner/s2-marker"])
    return out.decode().strip() if code == 0 else ""


def test_stop_keeps_the_data_and_start_and_restart_bring_it_back_ready(project):
    project.write(instance_toml("iris", boot="2") + "\n[instances.iris.namespaces.APP]\n")
    project.ok("sync", "--progress", "quiet")
    c = project.container()
    code, _ = c.exec_run(["sh", "-c", "echo kept > /home/irisowner/s2-marker"])
    assert code == 0

    proc = project.ok("stop", "--progress", "plain")
    assert f"stop: project {project.name}: stopped 1 instance(s)" in proc.stderr, describe(proc)
    c.reload()
    assert c.status == "exited" and project.container().id == c.id
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2 and "1 to start" in plan.stdout, describe(plan)

    proc = project.ok("start", "--json", "--progress", "quiet")
    assert json.loads(proc.stdout)["ready"] == ["iris"], describe(proc)
    c.reload()
    assert c.status == "running" and project.container().id == c.id
    assert qlist(c).split("^")[3].startswith("running")  # ready when start returned, not later
    assert marker(c) == "kept"
    [row] = json.loads(project.ok("status", "--json").stdout)["instances"]
    assert row["iris"] == "running" and row["iris_state"]["namespaces"] == {"APP": "present"}
    assert project.run("plan", "--detailed-exitcode").returncode == 0

    started = c.attrs["State"]["StartedAt"]
    proc = project.ok("restart", "--json", "--progress", "quiet")
    assert json.loads(proc.stdout)["stopped"] == ["iris"], describe(proc)
    c.reload()
    assert c.attrs["State"]["StartedAt"] != started and project.container().id == c.id
    assert qlist(c).split("^")[3].startswith("running") and marker(c) == "kept"


def test_start_that_is_not_ready_in_time_exits_3(project):
    project.configure(boot="never")
    project.ok("sync", "--no-wait", "--progress", "quiet")
    project.ok("stop", "--progress", "quiet")
    proc = project.run("start", "--timeout", "2")
    assert proc.returncode == 3, describe(proc)
    assert "instance iris was not ready in time" in proc.stderr


def test_ls_lists_projects_by_label_and_stop_touches_only_its_own(make_project, client,
                                                                   tmp_path):
    one, two = make_project(), make_project()
    one.write(instance_toml("iris"), instance_toml("cache"))
    for p in (one, two):
        p.ok("sync", "--progress", "quiet")
    # a look-alike: the project and instance labels, but not made by irisenv
    foreign = client.containers.run(STANDIN_IMAGE, detach=True, name=f"{one.name}-foreign",
                                    labels={"io.irisenv.project": one.name,
                                            "io.irisenv.instance": "iris"})
    try:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "iris-devtester.toml").write_text("this is [not toml\n")
        listed = one.run("ls", "--json", "--stats", timeout=60)  # from one's dir: no matter
        assert listed.returncode == 0, describe(listed)
        projects = {p["project"]: p for p in json.loads(listed.stdout)["projects"]}
        mine = {n: projects[n] for n in (one.name, two.name)}
        assert mine[one.name]["config"] == str(one.config_path)
        assert mine[two.name]["config"] == str(two.config_path)
        assert [(c["instance"], c["container"], c["state"]) for c in
                mine[one.name]["containers"]] == [("cache", f"{one.name}-cache", "running"),
                                                  ("iris", f"{one.name}-iris", "running")]
        assert all(isinstance(c["port"], int) and c["age_seconds"] >= 0
                   and c["memory"] > 0 for c in mine[one.name]["containers"])
        assert foreign.name not in listed.stdout

        # stop --project from a directory with a broken config: only that project's
        proc = subprocess.run(one.cli_args("stop", "--project", one.name), cwd=elsewhere,
                              capture_output=True, text=True, timeout=120, env=one.env)
        assert proc.returncode == 0, describe(proc)
        assert {c.name: c.status for c in one.containers()} == {  # by the project label
            f"{one.name}-iris": "exited", f"{one.name}-cache": "exited",
            foreign.name: "running"}
        assert two.container().status == "running"
        text = two.ok("ls").stdout
        row = next(line for line in text.splitlines() if line.startswith(one.name + " "))
        assert row.split()[3] == "exited" and row.endswith(str(one.config_path)), text
    finally:
        try:
            foreign.remove(force=True)
        except docker.errors.NotFound:
            pass


def test_sync_reuse_overrides_the_mode_for_one_run(project):
    project.ok("sync", "--progress", "quiet")
    first = project.container().id
    proc = project.ok("sync", "--reuse", "never", "--progress", "plain")
    assert "--reuse never: a fresh container this run" in proc.stderr, describe(proc)
    second = project.container().id
    assert second != first
    project.ok("sync", "--progress", "quiet")
    assert project.container().id == second
    project.configure(reuse="never")
    project.ok("sync", "--reuse", "matching", "--progress", "quiet")
    assert project.container().id == second
