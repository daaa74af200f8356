"""Reuse modes (never / always / --recreate) and the readiness ladder's outcomes
(timeout -> exit 3, licence error -> fail fast with exit 1, --no-wait)."""
from __future__ import annotations

import signal
import subprocess
import time

import docker.errors
import pytest
from helpers import qlist

GiB = 1024**3


def test_reuse_never_gives_a_fresh_container_every_sync(project, client):
    project.configure(reuse="never")
    project.ok("sync")
    first = project.container("iris")
    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 2 and "-/+" in p.stdout and 'reuse = "never"' in p.stdout, p.stdout
    project.ok("sync")
    second = project.container("iris")  # exactly one, and a new one
    assert second.id != first.id and second.status == "running"
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(first.id)
    assert "^running, since" in qlist(second)


def test_reuse_always_keeps_a_drifted_container_until_recreate(project):
    project.configure(reuse="always")
    project.ok("sync")
    first = project.container("iris")
    project.ok("config", "set", "instances.iris.memory", "3g")

    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "drift kept" in p.stdout and "memory" in p.stdout
    s = project.ok("sync")
    assert "drift kept" in s.stderr and "memory" in s.stderr
    kept = project.container("iris")
    assert kept.id == first.id and kept.status == "running"
    assert kept.attrs["HostConfig"]["Memory"] == 2 * GiB

    p = project.run("plan", "--recreate", "--detailed-exitcode")
    assert p.returncode == 2 and "-/+" in p.stdout, p.stdout
    project.ok("sync", "--recreate")
    fresh = project.container("iris")
    assert fresh.id != first.id
    assert fresh.attrs["HostConfig"]["Memory"] == 3 * GiB


def test_boot_that_never_finishes_times_out_with_exit_3(project):
    project.configure(boot="never")
    t0 = time.monotonic()
    p = project.run("sync", "--timeout", "3")
    elapsed = time.monotonic() - t0
    assert p.returncode == 3, p.stdout + p.stderr
    assert "not ready" in p.stderr
    # the last log lines of the container are shown
    assert "Starting up (stand-in boot delay: never)" in p.stderr, p.stderr
    assert elapsed < 30, f"took {elapsed:.1f}s for a 3 s timeout"
    c = project.container("iris")
    assert c.status == "running" and "down, last used" in qlist(c)


def test_licence_error_fails_fast(project):
    project.configure(env={"STANDIN_LICENSE_ERROR": "1"})
    t0 = time.monotonic()
    p = project.run("sync", "--timeout", "60")
    elapsed = time.monotonic() - t0
    assert p.returncode == 1, p.stdout + p.stderr
    assert "licence" in p.stderr.lower() or "license" in p.stderr.lower()
    assert "Invalid Community Edition license" in p.stderr  # the log line itself is quoted
    assert "set instances.iris.cpus to 20 or fewer" in p.stderr  # the fix fits the line
    assert elapsed < 20, f"licence failure took {elapsed:.1f}s with --timeout 60 (not fail-fast)"


def test_no_wait_returns_before_ready(project):
    project.configure(boot="never")
    p = project.run("sync", "--no-wait", timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    c = project.container("iris")
    assert c.status == "running"
    # not booted: proof that sync did not wait for readiness
    assert "down, last used" in qlist(c)
    assert "Enabling logons" not in c.logs().decode()


def test_ctrl_c_during_the_wait_exits_130_promptly(project):
    project.configure(boot="never")
    proc = project.popen("sync", "--timeout", "60", "--progress", "plain")
    seen = []
    while True:  # until the readiness wait has begun
        line = proc.stderr.readline()
        seen.append(line)
        if "waiting for IRIS" in line or not line:
            break
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("sync ignored Ctrl-C for 20 s (its wait runs to --timeout)")
    elapsed = time.monotonic() - t0
    assert proc.returncode == 130, "".join(seen) + err
    assert "interrupted" in err
    assert elapsed < 10, f"Ctrl-C took {elapsed:.1f}s to stop sync"
    # the interrupted sync left its container as it was; down removes it
    assert project.container("iris").status == "running"
    project.ok("down")
    assert project.containers() == []
