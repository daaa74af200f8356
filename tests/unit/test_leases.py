"""The lease table on disk (irisenv/leases.py) across real processes, without Docker: the
`state_dir` fixture (tests/conftest.py) points IRISENV_STATE_DIR at a fresh directory,
which the child processes inherit."""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from irisenv import leases
from irisenv.core import leases as core
from irisenv.errors import IrisenvError

T = "iris/APP"
PROJECT = "demo"


def table(size=4, clean=(1, 2), init="h1") -> leases.LeaseTable:
    """A pool whose copies ``clean`` exist (sync saw them: dirty) and were reset (clean)."""
    t = leases.LeaseTable(None, PROJECT)
    t.synced(T, init, size, {leases.copy_key(T, n): (n, init) for n in clean})
    for copy in t.claim_dirty():
        t.reset_done(copy, init)
    return t


# ------------------------------------------------------------------ concurrency
def _worker(marks: str, rounds: int, out) -> None:
    try:
        out.put(_rounds(marks, rounds))
    except BaseException as exc:  # reported, so the test fails at once
        out.put(repr(exc))


def _rounds(marks: str, rounds: int) -> tuple:
    """Lease, hold (a marker file only the holder may create), release, reset what is
    dirty; report how often a copy was found held by another process."""
    t = leases.LeaseTable(None, PROJECT)
    shared = taken = 0
    for i in range(rounds):
        got = t.lease(T, timeout=120)
        if isinstance(got, core.Grow):
            t.grown(got.copy, "h1")
        mark = os.path.join(marks, got.copy.replace("/", "_"))
        try:
            fd = os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.close(fd)
        except FileExistsError:
            shared += 1
            mark = None
        taken += 1
        time.sleep(0.001 * (i % 3))
        if mark:
            os.unlink(mark)
        t.release(got.copy)
        for copy in t.claim_dirty():
            t.reset_done(copy, "h1")
    return shared, taken


def test_eight_processes_leasing_at_once_never_share_a_copy(tmp_path):
    t = table(size=4, clean=(1, 2))  # two ready, growing to four: both paths are taken
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    rounds = 25
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), rounds, out)) for _ in range(8)]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [r for r in results if not isinstance(r, tuple)] == []
    assert [p.exitcode for p in procs] == [0] * 8
    assert sum(s for s, _ in results) == 0, "a copy was held by two processes at once"
    assert sum(n for _, n in results) == 8 * rounds
    final = t.read()
    assert set(final.of(T)) == {leases.copy_key(T, n) for n in range(1, 5)}  # grew to max
    assert t.counts(T)["leased"] == t.counts(T)["creating"] == 0


# ------------------------------------------------------------------ crashes
HOLDER = textwrap.dedent("""
    import time
    from irisenv import leases
    got = leases.LeaseTable(None, "demo").lease("iris/APP", timeout=30)
    print(got.copy, flush=True)
    time.sleep(300)
""")


def test_a_killed_holders_copy_expires_dirty_and_returns_after_a_reset():
    t = table(size=1, clean=(1,))
    child = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True,
                             env=os.environ.copy())
    try:
        copy = child.stdout.readline().strip()
        assert copy == leases.copy_key(T, 1)
        busy = t.try_lease(T)
        assert isinstance(busy, core.Wait) and busy.counts["leased"] == 1  # alive: held
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    after = t.try_lease(T)
    assert isinstance(after, core.Wait)  # never the dead holder's dirty copy
    assert after.counts["dirty"] == 1 and after.counts["leased"] == 0
    assert t.claim_dirty() == (copy,)
    t.reset_done(copy, "h1")
    assert t.try_lease(T) == core.Leased(copy)


def test_alive_tells_this_process_a_dead_one_a_reused_pid_and_another_host():
    me = leases.holder()
    assert leases.alive(me) is True
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = dataclasses.replace(me, pid=int(done.stdout))
    assert leases.alive(dead) is False  # (were the pid reused, its start time differs)
    if me.start:  # /proc present: the start time tells a reused pid from the holder
        assert leases.alive(dataclasses.replace(me, start=me.start + 1)) is False
    assert leases.alive(dataclasses.replace(me, host=me.host + "-elsewhere")) is None
    assert leases.alive(dataclasses.replace(me, boot="another-boot")) is None


# ------------------------------------------------------------------ waiting
def test_a_lease_waits_for_a_reset_says_so_once_and_then_gets_the_copy():
    t = table(size=1, clean=(1,))
    first = t.lease(T, timeout=5)
    heard = []

    def release_later():
        time.sleep(0.2)
        t.release(first.copy)
        for copy in t.claim_dirty():
            t.reset_done(copy, "h1")

    thread = threading.Thread(target=release_later)
    thread.start()
    try:
        second = t.lease(T, timeout=60, on_wait=heard.append,
                         who=dataclasses.replace(leases.holder(), start=0))
    finally:
        thread.join()
    assert second == core.Leased(first.copy)
    assert len(heard) == 1 and heard[0]["leased"] == 1


def test_a_lease_that_waits_too_long_names_the_pools_state():
    t = table(size=1, clean=(1,))
    t.lease(T, timeout=5)
    with pytest.raises(IrisenvError) as err:
        t.lease(T, timeout=0)
    assert "no clean copy of namespace APP" in err.value.what
    assert "1 leased" in err.value.why


def test_a_lease_of_a_pool_sync_did_not_make_says_to_sync():
    with pytest.raises(IrisenvError) as err:
        leases.LeaseTable(None, PROJECT).lease(T, timeout=5)
    assert "irisenv sync" in err.value.fix


def test_the_table_lives_in_the_state_dir_and_leasing_imports_no_docker(state_dir):
    t = table()
    assert t.path.parent == state_dir / "pools" and t.path.exists()
    code = ("import sys; from irisenv import leases; "
            "leases.LeaseTable(None, 'demo').try_lease('iris/APP'); "
            "print(sorted(m for m in ('docker', 'iris', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=os.environ.copy())
    assert out.stdout.strip() == "[]"


def test_releasing_a_copy_twice_is_an_irisenv_error_naming_it():
    t = table(size=1, clean=(1,))
    got = t.lease(T, timeout=5)
    t.release(got.copy)
    with pytest.raises(IrisenvError) as err:
        t.release(got.copy)
    assert "iris/APP_P1 is not leased (it is dirty)" in err.value.what
