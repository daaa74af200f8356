"""Missing images offline, the enterprise licence key copied in before start, and doctor."""
from __future__ import annotations

import json
import socket
import time

from helpers import STANDIN_IMAGE, describe, instance_toml


def test_a_missing_image_that_cannot_be_pulled_fails_fast_and_says_how_to_fix(project):
    # localhost:1 is a registry nobody serves: the pull fails at once, as offline.
    project.write(instance_toml("iris").replace(f'image = "{STANDIN_IMAGE}"',
                                                'image = "localhost:1/irisenv/missing:v1"'))
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2 and "+ image localhost:1/irisenv/missing:v1" in plan.stdout
    t0 = time.monotonic()
    proc = project.run("sync", "--timeout", "30")
    assert proc.returncode == 1, describe(proc)
    assert time.monotonic() - t0 < 25
    assert "could not be pulled" in proc.stderr and "fix:" in proc.stderr
    assert "docker load" in proc.stderr and "Traceback" not in proc.stderr
    assert project.containers() == []


def test_licence_key_is_copied_in_before_start_and_a_new_key_replaces(project):
    key = project.path / "iris.key"
    key.write_text("[ConfigFile]\nFileType=License 5.0\n; standin key v1\n")
    project.configure(boot="0", edition="enterprise", license_key="iris.key")
    project.ok("sync")
    c = project.container()
    assert "--key" in c.attrs["Config"]["Cmd"]
    mounts = c.attrs.get("Mounts") or []
    assert not any("iris.key" in (m.get("Source") or "") for m in mounts)  # never bind-mounted
    ls = c.exec_run(["ls", "-ln", "/home/irisowner/irisenv/iris.key"]).output.decode()
    assert ls.split()[2:4] == ["51773", "51773"], ls  # owned by irisowner, readable by IRIS
    assert ls.startswith("-rw-------"), ls  # and by no one else
    copied = c.exec_run(["cat", "/home/irisowner/irisenv/iris.key"]).output.decode()
    assert copied == key.read_text()
    # the stand-in's iris-main copies --key to mgr/ as the real one does
    # (docs/learnings/container.md, the iris-main flags)
    assert c.exec_run(["cat", "/usr/irissys/mgr/iris.key"]).output.decode() == key.read_text()
    old_id = c.id
    key.write_text("[ConfigFile]\nFileType=License 5.0\n; standin key v2\n")
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2 and "-/+" in plan.stdout and "license_sha256" in plan.stdout
    project.ok("sync")
    assert project.container().id != old_id


def test_doctor_reports_ok_then_a_taken_port_as_a_failure(project):
    project.configure(boot="0")
    proc = project.run("doctor", "--json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0, describe(proc)
    checks = {c["check"]: c for c in doc["checks"]}
    assert checks["engine"]["status"] == "ok" and checks["iris: image"]["status"] == "ok"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        project.configure(boot="0", ports={"superserver": port})
        proc = project.run("doctor")
        assert proc.returncode == 1, describe(proc)
        assert f"port {port}" in proc.stdout and "FAIL" in proc.stdout


def test_doctor_reports_an_image_reference_docker_refuses_as_a_failing_check(project):
    """Docker refuses "Upper-Case:tag" itself: doctor shows it as a FAIL row with the fix,
    and still runs its other checks (not one error that replaces the whole report)."""
    project.write(instance_toml("iris").replace(f'image = "{STANDIN_IMAGE}"',
                                                'image = "Irisenv-Standin:latest"'))
    proc = project.run("doctor", "--json")
    assert proc.returncode == 1, describe(proc)
    checks = {c["check"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["iris: image"]["status"] == "fail"
    assert "lower-case" in checks["iris: image"]["detail"]
    assert checks["engine"]["status"] == "ok" and "driver" in checks
