"""The project's .irisenv/ directory: the lock per (engine, project) and the ready cache.
The lock is exercised across real processes (a `python -c` child holds it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from irisenv import state
from irisenv.errors import IrisenvError

ENDPOINT = "unix:///var/run/docker.sock"

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from irisenv.state import project_lock
    base, release = Path(sys.argv[1]), Path(sys.argv[2])
    with project_lock(base, sys.argv[3], sys.argv[4], "sync", timeout=30):
        print("LOCKED", flush=True)
        for _ in range(3000):           # until the test says so (at most ~30 s)
            if release.exists():
                break
            time.sleep(0.01)
    print("RELEASED", flush=True)
""")


@pytest.fixture
def holder(tmp_path):
    """Start a child process holding the lock for (ENDPOINT, "demo"); yield a release()."""
    procs = []

    def start(project="demo"):
        release = tmp_path / f"release-{project}"
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), str(release),
                                 ENDPOINT, project], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "LOCKED"

        def release_it():
            release.touch()
            assert proc.stdout.readline().strip() == "RELEASED"
            assert proc.wait(timeout=30) == 0

        return proc, release_it

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_lock_serializes_processes_and_names_the_holder(tmp_path, holder):
    proc, release = holder()
    waits = []
    got = threading.Event()

    def on_wait(who):
        waits.append(who)
        release()  # let the holder go only once we are known to be waiting

    with state.project_lock(tmp_path, ENDPOINT, "demo", "plan", timeout=30, on_wait=on_wait):
        got.set()
        assert proc.poll() == 0  # the holder had finished before we got in
    assert len(waits) == 1
    assert waits[0].startswith(f"pid {proc.pid} (sync, for ")


def test_lock_timeout_names_the_lock_and_the_holder(tmp_path, holder):
    proc, release = holder()
    try:
        with pytest.raises(IrisenvError) as info:
            with state.project_lock(tmp_path, ENDPOINT, "demo", "sync", timeout=0.3):
                pytest.fail("got a lock that another process holds")
        err = info.value
        assert "another irisenv is still working on project demo" in err.what
        assert str(tmp_path / ".irisenv" / "lock-") in err.why
        assert f"pid {proc.pid} (sync" in err.why
        assert err.fix
    finally:
        release()


def test_locks_of_other_projects_and_engines_are_independent(tmp_path, holder):
    _, release = holder("demo")
    try:
        with state.project_lock(tmp_path, ENDPOINT, "other", "sync", timeout=0.5):
            pass
        with state.project_lock(tmp_path, "tcp://remote:2376", "demo", "sync", timeout=0.5):
            pass
    finally:
        release()


def test_lock_serializes_threads(tmp_path):
    inside = []
    overlap = []
    barrier = threading.Barrier(2, timeout=10)

    def worker(n):
        barrier.wait()
        for _ in range(20):
            with state.project_lock(tmp_path, ENDPOINT, "demo", f"t{n}", timeout=30):
                inside.append(n)
                if len(inside) > 1:
                    overlap.append(list(inside))
                inside.remove(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert overlap == []


def test_lock_is_released_on_error(tmp_path):
    with pytest.raises(RuntimeError):
        with state.project_lock(tmp_path, ENDPOINT, "demo", "sync", timeout=1):
            raise RuntimeError("boom")
    with state.project_lock(tmp_path, ENDPOINT, "demo", "sync", timeout=0.2):
        pass


def test_a_killed_holder_releases_the_lock(tmp_path, holder):
    proc, _ = holder()
    proc.kill()
    proc.wait()
    with state.project_lock(tmp_path, ENDPOINT, "demo", "sync", timeout=5):
        pass


# ---------------------------------------------------------------- .irisenv/
def test_state_dir_is_ignored_by_git_and_tagged_as_cache(tmp_path):
    d = state.state_dir(tmp_path)
    assert d == tmp_path / ".irisenv" and d.is_dir()
    ignore = (d / ".gitignore").read_text().splitlines()
    assert "*" in ignore
    tag = (d / "CACHEDIR.TAG").read_bytes()
    # https://bford.info/cachedir/: the first 43 bytes are exactly this
    assert tag.startswith(b"Signature: 8a477f597d28d172789f06886806bc55")


def test_state_dir_keeps_existing_files(tmp_path):
    d = tmp_path / ".irisenv"
    d.mkdir()
    (d / ".gitignore").write_text("custom\n")
    state.state_dir(tmp_path)
    assert (d / ".gitignore").read_text() == "custom\n"
    assert (d / "CACHEDIR.TAG").exists()


def test_state_dir_is_idempotent(tmp_path):
    a = state.state_dir(tmp_path)
    b = state.state_dir(tmp_path)
    assert a == b and sorted(p.name for p in a.iterdir()) == [".gitignore", "CACHEDIR.TAG"]


