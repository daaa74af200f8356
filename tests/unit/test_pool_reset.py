"""The pool's resetter (irisenv/pool_reset.py) around a stand-in reset function: what it
claims, what it marks clean or dirty, and that only one runs at a time. No Docker."""
from __future__ import annotations

import pytest

from irisenv import leases, pool_reset
from irisenv.core import leases as core
from irisenv.lock import try_file_lock
from irisenv.pool_reset import drain

T = "iris/APP"


def key(n):
    return leases.copy_key(T, n)


@pytest.fixture
def table():
    """A pool of three copies that sync found (all dirty), template hash h1."""
    t = leases.LeaseTable(None, "demo")
    t.synced(T, "h1", 3, {key(n): (n, "h0") for n in (1, 2, 3)})
    return t


def test_every_dirty_copy_is_reset_from_the_current_master_and_clean(table):
    calls = []

    def reset(jobs):
        calls.append(jobs)
        return {copy: "" for copy, _, _ in jobs}

    run = drain(table, reset)
    assert run.ran and sorted(run.reset) == [key(1), key(2), key(3)] and not run.failed
    assert calls == [[(key(n), T, "h1") for n in (1, 2, 3)]]  # one batch
    assert table.counts(T)["clean"] == 3
    assert all(c.init == "h1" for c in table.read().copies.values())


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch):
    monkeypatch.setattr(pool_reset, "RETRY_PAUSE", 0.0)


def test_a_failed_copy_is_tried_once_more_then_left_dirty_with_its_error(table):
    calls = []

    def reset(jobs):
        calls.append([copy for copy, _, _ in jobs])
        return {copy: ("dismount failed" if copy == key(2) else "") for copy, _, _ in jobs}

    run = drain(table, reset)
    assert run.failed == {key(2): "dismount failed"}
    assert calls == [[key(1), key(2), key(3)], [key(2)]]  # once more, then no longer
    c = table.read().copies[key(2)]
    assert (c.state, c.error) == (core.DIRTY, "dismount failed")
    assert table.counts(T)["clean"] == 2


def test_a_copy_whose_reset_fails_once_is_reset_by_the_same_run(table):
    """A reset that fails for a passing reason (an exec under load) is not left for the
    next release: after the last release of a test run there is none, and the copy would
    stay dirty (a CI run waited 60 s for it in tests/docker/test_pool_leases.py)."""
    failures = {key(2): 1}

    def reset(jobs):
        out = {}
        for copy, _, _ in jobs:
            out[copy] = "iris session exited 0 without the success sentinel" \
                if failures.get(copy) else ""
            failures[copy] = 0
        return out

    run = drain(table, reset)
    assert run.failed == {} and sorted(run.reset) == [key(1), key(2), key(3)]
    assert table.counts(T)["clean"] == 3 and not table.read().copies[key(2)].error


def test_a_reset_that_raises_fails_its_whole_batch(table):
    def reset(jobs):
        raise RuntimeError("exec failed")

    run = drain(table, reset)
    assert sorted(run.failed) == [key(1), key(2), key(3)]
    assert run.failed[key(1)] == "RuntimeError: exec failed"
    assert table.counts(T)["dirty"] == 3 and table.counts(T)["resetting"] == 0


def test_a_copy_released_while_the_resetter_works_is_reset_too(table):
    for copy in table.claim_dirty():  # all clean first
        table.reset_done(copy, "h1")
    got = table.lease(T, timeout=5)
    other = table.lease(T, timeout=5)
    table.release(got.copy)
    batches = []

    def reset(jobs):
        batches.append([copy for copy, _, _ in jobs])
        if len(batches) == 1:
            table.release(other.copy)  # released meanwhile
        return {copy: "" for copy, _, _ in jobs}

    run = drain(table, reset)
    assert batches == [[got.copy], [other.copy]]
    assert sorted(run.reset) == sorted([got.copy, other.copy])


def test_while_another_resetter_runs_the_work_is_left_to_it(table):
    def reset(jobs):
        raise AssertionError("must not run")

    with try_file_lock(table.path.with_suffix(".reset.lock")) as mine:
        assert mine
        run = drain(table, reset)
    assert not run.ran and table.counts(T)["dirty"] == 3


def test_a_lingering_resetter_serves_a_copy_released_after_its_last_batch(table):
    """The background resetter stays a moment after its last batch: a copy released then is
    reset by the same run (no second process start), with the reset lock held throughout."""
    import threading
    import time

    for copy in table.claim_dirty():  # all clean first
        table.reset_done(copy, "h1")
    got = table.lease(T, timeout=5)
    later = table.lease(T, timeout=5)
    table.release(got.copy)
    batches = []

    def reset(jobs):
        batches.append([copy for copy, _, _ in jobs])
        return {copy: "" for copy, _, _ in jobs}

    def release_later():
        time.sleep(0.3)  # after the first batch is done
        with try_file_lock(table.path.with_suffix(".reset.lock")) as free:
            held.append(not free)  # a release here would not start a second resetter
        table.release(later.copy)

    held: list = []
    t = threading.Thread(target=release_later)
    t.start()
    run = drain(table, reset, linger=1.5)
    t.join()
    assert batches == [[got.copy], [later.copy]] and held == [True]
    assert sorted(run.reset) == sorted([got.copy, later.copy])

