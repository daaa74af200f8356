"""The project lock per (engine, project), kept in the per-user state directory (the
`state_dir` fixture of tests/conftest.py points IRISENV_STATE_DIR at a fresh one, which the
children inherit). The lock is exercised across real processes (a `python -c` child holds
it); the endpoint normalisation that keys it is a pure function, tested by table."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from irisenv import lock as state
from irisenv.lock import normalize_endpoint
from irisenv.errors import IrisenvError

ENDPOINT = "unix:///var/run/docker.sock"

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from irisenv.lock import project_lock
    release = Path(sys.argv[2])
    with project_lock(sys.argv[3], sys.argv[4], "sync", timeout=30):
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

    with state.project_lock(ENDPOINT, "demo", "plan", timeout=30, on_wait=on_wait):
        got.set()
        assert proc.poll() == 0  # the holder had finished before we got in
    assert len(waits) == 1
    assert waits[0].startswith(f"pid {proc.pid} (sync, for ")


def test_lock_timeout_names_the_lock_and_the_holder(tmp_path, holder, state_dir):
    proc, release = holder()
    try:
        with pytest.raises(IrisenvError) as info:
            with state.project_lock(ENDPOINT, "demo", "sync", timeout=0.3):
                pytest.fail("got a lock that another process holds")
        err = info.value
        assert "another irisenv is still working on project demo" in err.what
        assert str(state_dir / "locks" / "demo.") in err.why
        assert f"pid {proc.pid} (sync" in err.why
        assert err.fix
    finally:
        release()


def test_locks_of_other_projects_and_engines_are_independent(tmp_path, holder):
    _, release = holder("demo")
    try:
        with state.project_lock(ENDPOINT, "other", "sync", timeout=0.5):
            pass
        with state.project_lock("tcp://remote:2376", "demo", "sync", timeout=0.5):
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
            with state.project_lock(ENDPOINT, "demo", f"t{n}", timeout=30):
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
        with state.project_lock(ENDPOINT, "demo", "sync", timeout=1):
            raise RuntimeError("boom")
    with state.project_lock(ENDPOINT, "demo", "sync", timeout=0.2):
        pass


def test_a_killed_holder_releases_the_lock(tmp_path, holder):
    proc, _ = holder()
    proc.kill()
    proc.wait()
    with state.project_lock(ENDPOINT, "demo", "sync", timeout=5):
        pass




# ---------------------------------------------------------------- where the lock lives
def test_the_lock_is_shared_by_every_directory_and_kept_out_of_them(tmp_path, state_dir):
    """Two checkouts of one project: the holder runs in one, we wait in the other; and
    neither directory gets a file (the lock is in the per-user state directory)."""
    one, two = tmp_path / "checkout-1", tmp_path / "checkout-2"
    one.mkdir()
    two.mkdir()
    release = tmp_path / "release"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, "-", str(release), ENDPOINT, "demo"],
                            cwd=one, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "LOCKED"
        os.chdir(two)
        try:
            with pytest.raises(IrisenvError):
                with state.project_lock(ENDPOINT, "demo", "sync", timeout=0.3):
                    pytest.fail("two checkouts of one project held the lock at once")
        finally:
            os.chdir(tmp_path)
    finally:
        release.touch()
        assert proc.wait(timeout=30) == 0
    assert list(one.iterdir()) == [] and list(two.iterdir()) == []
    assert sorted(p.suffix for p in (state_dir / "locks").iterdir()) == [".lock", ".owner"]


def test_two_spellings_of_one_engine_share_the_lock(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "docker.sock").touch()
    (tmp_path / "alias").symlink_to(real)
    spellings = [f"unix://{real}/docker.sock", f"unix://{tmp_path}/alias/docker.sock/",
                 f"UNIX://{real}//docker.sock"]
    release = tmp_path / "release"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, "-", str(release), spellings[0],
                             "demo"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "LOCKED"
        for other in spellings[1:]:
            with pytest.raises(IrisenvError):
                with state.project_lock(other, "demo", "sync", timeout=0.2):
                    pytest.fail(f"{other} and {spellings[0]} got two locks")
    finally:
        release.touch()
        assert proc.wait(timeout=30) == 0


def test_owner_file_says_who_holds_the_lock(state_dir):
    with state.project_lock(ENDPOINT, "demo", "down", timeout=1):
        owners = list((state_dir / "locks").glob("*.owner"))
        assert len(owners) == 1
        info = json.loads(owners[0].read_text())
        assert info["pid"] == os.getpid() and info["verb"] == "down"
        assert set(info) == {"pid", "verb", "host", "since"}
        assert owners[0].stat().st_mode & 0o777 == 0o600
    assert (state_dir / "locks").stat().st_mode & 0o777 == 0o700


# ---------------------------------------------------------------- no link is followed
@pytest.mark.parametrize("which", ["owner", "lock"])
def test_a_symlink_at_the_lock_or_owner_path_is_refused_not_written_through(tmp_path, which):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock_path, owner_path = state.lock_paths(ENDPOINT, "demo")
    (owner_path if which == "owner" else lock_path).symlink_to(victim)
    with pytest.raises(IrisenvError) as info:
        with state.project_lock(ENDPOINT, "demo", "sync", timeout=1):
            pytest.fail("took the lock through a planted symlink")
    assert "symbolic link" in info.value.what and info.value.fix
    assert victim.read_text() == "precious\n"


def test_a_symlinked_locks_directory_is_refused(tmp_path, state_dir):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (state_dir / "locks").symlink_to(elsewhere)
    with pytest.raises(IrisenvError) as info:
        with state.project_lock(ENDPOINT, "demo", "sync", timeout=1):
            pytest.fail("used a symlinked locks/ directory")
    assert "symbolic link" in info.value.what
    assert list(elsewhere.iterdir()) == []


def test_an_unusable_state_directory_names_the_variable_that_fixes_it(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("IRISENV_STATE_DIR", str(blocker / "state"))
    with pytest.raises(IrisenvError) as info:
        with state.project_lock(ENDPOINT, "demo", "sync", timeout=1):
            pass
    err = info.value
    assert str(blocker / "state") in err.what
    assert "IRISENV_STATE_DIR" in err.fix


# ---------------------------------------------------------------- endpoint normalisation
def _same(path):
    return path


@pytest.mark.parametrize("a, b", [
    (None, "unix:///var/run/docker.sock"),
    ("", "unix:///var/run/docker.sock"),
    ("unix://", "unix:///var/run/docker.sock"),
    ("unix:///var/run/docker.sock/", "unix:///var/run/docker.sock"),
    ("unix://var/run/docker.sock", "unix:///var/run/docker.sock"),   # legacy spelling
    ("UNIX:///var/run//docker.sock", "unix:///var/run/docker.sock"),
    ("http+unix:///var/run/docker.sock", "unix:///var/run/docker.sock"),
    ("/var/run/docker.sock", "unix:///var/run/docker.sock"),
    ("tcp://HOST:2375", "tcp://host"),
    ("tcp://host:2375/", "tcp://host"),
    ("http://host", "tcp://host:2375"),
    ("TCP://Host.Example:2375", "http://host.example:2375/"),
    ("host:2375", "tcp://host"),
    ("https://host", "tcp://host:2376"),
    ("ssh://me@Host", "ssh://me@host:22"),
    ("tcp://[::1]", "tcp://[::1]:2375"),
    ("npipe:////./pipe/docker_engine", "NPIPE:////./PIPE/docker_engine/"),
])
def test_spellings_of_one_engine_normalise_alike(a, b):
    assert normalize_endpoint(a, resolve=_same) == normalize_endpoint(b, resolve=_same)


@pytest.mark.parametrize("a, b", [
    ("tcp://host:2375", "tcp://host:2376"),
    ("tcp://host", "tcp://other"),
    ("tcp://host", "ssh://host"),
    ("unix:///var/run/docker.sock", "unix:///run/user/1000/docker.sock"),
    ("ssh://me@host", "ssh://you@host"),
])
def test_different_engines_stay_apart(a, b):
    assert normalize_endpoint(a, resolve=_same) != normalize_endpoint(b, resolve=_same)


def test_normal_forms():
    assert normalize_endpoint("tcp://HOST", resolve=_same) == "tcp://host:2375"
    assert normalize_endpoint("tcp://HOST", tls=True, resolve=_same) == "tcp://host:2376"
    assert normalize_endpoint("tcp://host:9999", tls=True, resolve=_same) == "tcp://host:9999"
    assert normalize_endpoint(None, resolve=lambda p: p.replace("/var/run", "/run")) == \
        "unix:///run/docker.sock"


def test_the_socket_path_is_resolved(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert normalize_endpoint(f"unix://{tmp_path}/link/docker.sock") == \
        f"unix://{tmp_path}/real/docker.sock"


@pytest.mark.parametrize("env, tls", [
    ({}, False), ({"DOCKER_TLS_VERIFY": ""}, False), ({"DOCKER_TLS_VERIFY": "1"}, True),
    ({"DOCKER_CERT_PATH": "/certs"}, True), ({"DOCKER_CERT_PATH": ""}, False),
])
def test_tls_is_read_as_docker_py_reads_it(env, tls):
    assert state.tls_from_env(env) is tls
