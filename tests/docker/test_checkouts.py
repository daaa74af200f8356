"""Where irisenv keeps its own files, against a real engine: nowhere in the checkout.

The project lock is one per (engine, project) in the per-user state directory, so two
checkouts of one project (clones, worktrees, CI build directories) and `down --project`
from anywhere serialize; a read-only checkout works; `down --project` needs no config.
Every test here shares one state directory between its directories (tests/conftest.py's
`state_dir`, a fresh one per test), as one user's processes do.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import pytest
from helpers import DockerProject, describe, instance_toml, wait_for


def _clone(project, directory) -> DockerProject:
    """A second checkout of ``project``: another directory, the same config."""
    other = DockerProject(directory, project.client)
    other.name = project.name
    shutil.copy(project.config_path, other.config_path)
    return other


def _files(directory) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def _events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_eight_syncs_from_two_checkouts_share_one_lock(project, tmp_path_factory):
    project.write(instance_toml("iris", boot="1"), instance_toml("db", boot="1"))
    clone = _clone(project, tmp_path_factory.mktemp("clone"))
    procs = [(project, clone)[i % 2].popen("sync", "--progress", "plain") for i in range(8)]
    results = []
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        results.append((proc.returncode, err))
    bad = [f"exit {code}\n{err}" for code, err in results if code != 0]
    assert not bad, "\n---\n".join(bad)
    by_instance = project.by_instance()
    assert sorted(by_instance) == ["db", "iris"]
    for inst, found in by_instance.items():
        assert [(c.name, c.status) for c in found] == [(f"{project.name}-{inst}", "running")]
    leftovers = project.client.containers.list(all=True, filters={"name": f"^/{project.name}-"})
    assert len(leftovers) == 2, [c.name for c in leftovers]
    # they serialized across the two directories: each container was created once
    assert sum(err.count("created and started") for _, err in results) == 2, results
    for checkout in (project, clone):
        assert _files(checkout.path) == ["iris-devtester.toml"]


def test_down_project_from_elsewhere_waits_for_a_running_sync(project, tmp_path_factory):
    """The sync is frozen (SIGSTOP) while it holds the lock, so the down, started from a
    directory without any config, must be seen waiting; once the sync goes on, it ends
    ready, and only then does the down remove the container."""
    project.configure(boot="1")
    sync = project.popen("sync", "--progress", "json")
    sync_lines = []

    def sync_has_the_lock():
        line = sync.stderr.readline()
        sync_lines.append(line)
        return not line or '"event": "created"' in line

    wait_for(sync_has_the_lock, timeout=60, step=0, what="the sync to create its container")
    assert sync_lines[-1], "".join(sync_lines)
    os.kill(sync.pid, signal.SIGSTOP)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    try:
        down = subprocess.Popen(project.cli_args("down", "--project", project.name,
                                                 "--json", "--progress", "json"),
                                cwd=elsewhere, env=project.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        down_lines = []

        def down_waits():
            line = down.stderr.readline()
            down_lines.append(line)
            return not line or '"event": "lock"' in line

        wait_for(down_waits, timeout=60, step=0, what="the down to wait for the lock")
        assert down_lines[-1], "the down ended without waiting:\n" + "".join(down_lines)
        assert project.container().status == "running"  # the down has not touched it
    finally:
        os.kill(sync.pid, signal.SIGCONT)
    _, sync_rest = sync.communicate(timeout=120)
    down_out, down_rest = down.communicate(timeout=120)
    sync_err = "".join(sync_lines) + sync_rest
    down_err = "".join(down_lines) + down_rest
    assert sync.returncode == 0, sync_err
    assert down.returncode == 0, down_out + down_err
    sync_events, down_events = _events(sync_err), _events(down_err)
    assert any(e["event"] == "ready" for e in sync_events), sync_err
    removes = [e["time"] for e in down_events if e["event"] == "remove"]
    assert removes and min(removes) >= max(e["time"] for e in sync_events), (sync_err, down_err)
    assert json.loads(down_out)["containers"] == [f"{project.name}-iris"]
    assert project.containers() == []
    assert _files(elsewhere) == []


def test_down_project_next_to_a_broken_config(project, tmp_path_factory):
    """docs/cli.md: `down --project NAME` works with a broken config next to it (and with
    $IRISENV_CONFIG naming a broken file): it reads no config at all."""
    project.ok("sync")
    broken = tmp_path_factory.mktemp("broken")
    (broken / "iris-devtester.toml").write_text("[project\nname = \n", encoding="utf-8")
    for env in ({}, {"IRISENV_CONFIG": str(broken / "iris-devtester.toml")}):
        p = subprocess.run(project.cli_args("down", "--project", project.name, "--json"),
                           cwd=broken, env={**project.env, **env}, capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, describe(p)
        assert json.loads(p.stdout)["project"] == project.name
        assert project.containers() == []
        project.ok("sync")
    assert _files(broken) == ["iris-devtester.toml"]


# ---------------------------------------------------------------- a read-only checkout
_RO_MOUNT = ('mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"')


@pytest.fixture
def read_only(project):
    """A command prefix under which the project directory cannot be written. Not root:
    chmod 0555 (and 0444 on the config). Root ignores modes, so as root the directory is
    bind-mounted read-only in a private mount namespace (`unshare -m`); where that is not
    allowed, the test fails (it would prove nothing). The test proves the prefix works
    before relying on it."""
    path = project.path
    if os.geteuid() != 0:
        project.config_path.chmod(0o444)
        path.chmod(0o555)
        yield []
        path.chmod(0o755)
        project.config_path.chmod(0o644)
        return
    prefix = ["unshare", "-m", "sh", "-c", _RO_MOUNT, str(path)]
    if shutil.which("unshare") is None or subprocess.run(
            prefix + ["true"], capture_output=True).returncode != 0:
        pytest.fail("running as root and cannot mount the checkout read-only (unshare -m): "
                    "run the tests as a non-root user, or where unshare -m is allowed",
                    pytrace=False)
    yield prefix


def test_sync_and_down_from_a_read_only_checkout(project, read_only, state_dir):
    probe = subprocess.run(read_only + ["touch", str(project.path / "probe")],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and not (project.path / "probe").exists(), \
        "the test set-up does not make the checkout read-only"
    before = _files(project.path)

    def cli(*args):
        return subprocess.run(read_only + project.cli_args(*args), cwd=project.path,
                              env=project.env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    for args in (("sync", "--progress", "plain"), ("down",), ("sync",),
                 ("down", "--project", project.name)):
        p = cli(*args)
        assert p.returncode == 0, describe(p)
        assert "internal error" not in p.stderr
        assert len(project.containers()) == (1 if args[0] == "sync" else 0), args
    assert _files(project.path) == before
    assert list((state_dir / "locks").glob("*.lock")), "the lock lives in the state directory"
