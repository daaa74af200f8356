"""Leasing a pool copy for a caller (irisenv/pool_lease.py) on the in-memory engine: the
lease itself makes no engine call, a grown copy is created inside IRIS (a stand-in), a
release marks the copy dirty and starts one detached resetter, the resetter's jobs reach
the IRIS side per instance."""
from __future__ import annotations

import os
import subprocess

import pytest
from pool_helpers import T, IrisPool, project, synced  # tests/unit is on sys.path

from irisenv import leases, pool_lease
from irisenv.core import leases as core
from irisenv.errors import IrisenvError
from irisenv.lock import try_file_lock


@pytest.fixture
def started(monkeypatch):
    """The resetters start_resetter would start (their commands), none really started."""
    calls = []

    def popen(cmd, **kw):
        calls.append((cmd, kw))

    monkeypatch.setattr(subprocess, "Popen", popen)
    return calls


def test_a_lease_hands_out_the_clean_copy_and_asks_the_engine_nothing(fake):
    p = project(fake)
    t = synced(p)
    cid = p.container_id("iris")  # the caller knows it (irisenv.lease: its container list)
    before = len(fake.log)
    assert pool_lease.acquire(p, None, "app", timeout=1, container=cid) == "APP_P1"
    assert fake.log[before:] == []  # no Docker call, no IRIS session
    assert t.read().copies[leases.copy_key(T, 1)].state == core.LEASED


def test_a_lease_refuses_a_pool_made_in_another_container_and_says_to_sync(fake):
    p = project(fake)
    t = synced(p)
    recorded = p.container_id("iris")
    with pytest.raises(IrisenvError) as err:
        pool_lease.acquire(p, None, "APP", timeout=1, container="f" * 64)
    e = err.value
    assert "pool of namespace APP was made in another container" in e.what
    assert recorded[:12] in e.why and "f" * 12 in e.why and "irisenv sync" in e.fix
    assert t.read().counts(T)["clean"] == 2  # nothing handed out


def test_a_namespace_without_a_pool_is_refused_with_what_to_declare(fake):
    p = project(fake)
    synced(p)
    with pytest.raises(IrisenvError) as err:
        pool_lease.acquire(p, None, "OTHER", timeout=1)
    assert "OTHER of instance iris has no pool" in err.value.what
    assert "pools on: APP" in err.value.why and "pool = 4" in err.value.fix


def test_with_no_clean_copy_below_max_the_pool_grows_and_says_so(fake, monkeypatch):
    iris = IrisPool().install(monkeypatch)
    p = project(fake)
    t = synced(p)
    said = []
    got = [pool_lease.acquire(p, None, "APP", timeout=1, say=said.append) for _ in range(3)]
    assert got == ["APP_P1", "APP_P2", "APP_P3"]
    # only the grown one, from the master of the template's current init
    assert [c[1:] for c in iris.created] == [(leases.copy_key(T, 3), T, "h1")]
    assert iris.created[0][0] == p.container_id("iris")
    assert said == ["growing pool APP to 3 copies"]
    c = t.read().copies[leases.copy_key(T, 3)]
    assert (c.state, c.init) == (core.LEASED, "h1")  # from the master it was made of


def test_a_failed_growth_leaves_the_copy_dirty_for_the_resetter(fake, monkeypatch, started):
    iris = IrisPool().install(monkeypatch)
    iris.fail_create = IrisenvError("merge failed", "x", "y")
    p = project(fake)
    t = synced(p, clean=())
    with pytest.raises(IrisenvError, match="merge failed"):
        pool_lease.acquire(p, None, "APP", timeout=1)
    assert t.read().copies[leases.copy_key(T, 1)].state == core.DIRTY
    assert len(started) == 1  # the resetter creates it


def test_at_max_a_lease_waits_says_so_and_times_out_naming_the_copies(fake, monkeypatch):
    IrisPool().install(monkeypatch)
    p = project(fake)
    synced(p)
    for _ in range(3):
        pool_lease.acquire(p, None, "APP", timeout=1)
    said = []
    with pytest.raises(IrisenvError) as err:
        pool_lease.acquire(p, None, "APP", timeout=0.05, say=said.append)
    assert "no clean copy of namespace APP came free" in err.value.what
    assert "3 leased" in err.value.why
    assert said and said[0].startswith("no clean copy of APP (3 leased); waiting")


def test_release_marks_dirty_and_starts_one_detached_resetter(fake, started, tmp_path):
    p = project(fake, tmp_path / "iris-devtester.toml")
    t = synced(p)
    copy = pool_lease.acquire(p, None, "APP", timeout=1)
    pool_lease.release(p, None, copy)
    assert t.read().copies[leases.copy_key(T, 1)].state == core.DIRTY
    [(cmd, kw)] = started
    assert cmd[1:] == ["-m", "irisenv", "-c", str(tmp_path / "iris-devtester.toml"),
                       "pool", "reset"]
    assert kw["start_new_session"] is True and kw["cwd"] == str(tmp_path)


def test_no_second_resetter_is_started_while_one_holds_the_reset_lock(fake, started):
    p = project(fake)
    t = synced(p)
    copy = pool_lease.acquire(p, None, "APP", timeout=1)
    with try_file_lock(t.path.with_suffix(".reset.lock")) as mine:
        assert mine
        pool_lease.release(p, None, copy)
    assert started == []  # the running one looks again after letting its lock go
    assert t.read().copies[leases.copy_key(T, 1)].state == core.DIRTY


def test_keep_keeps_the_copy_out_of_the_reset_until_released(fake, started):
    p = project(fake)
    t = synced(p)
    copy = pool_lease.acquire(p, None, "APP", timeout=1)
    pool_lease.release(p, None, copy, keep=True)
    assert t.read().copies[leases.copy_key(T, 1)].state == core.KEPT and started == []
    pool_lease.release(p, None, copy.lower())
    assert t.read().copies[leases.copy_key(T, 1)].state == core.DIRTY and len(started) == 1


def test_the_resetter_resets_the_dirty_copies_in_one_call_and_records_failures(fake,
                                                                            monkeypatch):
    from irisenv import pool_reset

    monkeypatch.setattr(pool_reset, "RETRY_PAUSE", 0.0)
    iris = IrisPool().install(monkeypatch)
    iris.answers = {leases.copy_key(T, 2): "dismount failed"}
    p = project(fake)
    t = synced(p)
    for copy in ("APP_P1", "APP_P2"):
        pool_lease.acquire(p, None, "APP", timeout=1)
    for copy in ("APP_P1", "APP_P2"):
        leases.LeaseTable(p.engine.endpoint, p.name).release(leases.copy_key(T, int(copy[-1])))
    run = pool_lease.drain(p)
    assert iris.jobs == [[(leases.copy_key(T, 1), T, "h1"), (leases.copy_key(T, 2), T, "h1")],
                         [(leases.copy_key(T, 2), T, "h1")]]  # the failed one once more
    assert iris.reset[0][0] == p.container_id("iris")
    assert run.reset == [leases.copy_key(T, 1)]
    assert run.failed == {leases.copy_key(T, 2): "dismount failed"}
    copies = t.read().copies
    assert copies[leases.copy_key(T, 1)].state == core.CLEAN
    assert (copies[leases.copy_key(T, 2)].state, copies[leases.copy_key(T, 2)].error) == (
        core.DIRTY, "dismount failed")


def test_irisenv_lease_yields_the_copys_connection_and_hands_it_back(fake, started, monkeypatch):
    import irisenv
    from irisenv.engine import retry

    p = project(fake)
    t = synced(p)
    monkeypatch.setattr("irisenv.engine.open_engine",
                        lambda endpoint=None, *, default=None: retry.with_retries(fake))
    with irisenv.lease("APP", config=p.config) as conn:
        assert conn.namespace == "APP_P1" and conn.env()["IRIS_NAMESPACE"] == "APP_P1"
        assert conn.port == p.connection().port
        assert t.read().copies[leases.copy_key(T, 1)].state == core.LEASED
    assert t.read().copies[leases.copy_key(T, 1)].state == core.DIRTY and len(started) == 1


def test_irisenv_lease_refuses_the_pool_of_a_replaced_container(fake, started, monkeypatch):
    import irisenv
    from irisenv.engine import retry

    p = project(fake)
    t = synced(p)
    fake.remove(p.container_id("iris"))
    project(fake)  # replaced (e.g. by hand), not synced since
    monkeypatch.setattr("irisenv.engine.open_engine",
                        lambda endpoint=None, *, default=None: retry.with_retries(fake))
    with pytest.raises(IrisenvError, match="made in another container"):
        with irisenv.lease("APP", config=p.config):
            pytest.fail("a copy of the old container was handed out")
    assert t.read().counts(T)["clean"] == 2 and started == []


def test_a_lease_that_waits_on_a_dead_holders_copy_starts_the_resetter(fake, monkeypatch,
                                                                       started):
    IrisPool().install(monkeypatch)
    p = project(fake)
    t = synced(p)
    dead = leases.holder(os.getpid())
    dead = core.Holder(dead.pid, dead.host, dead.boot, dead.start + 1)  # a reused pid
    for _ in range(3):
        pool_lease.acquire(p, None, "APP", timeout=1, who=dead)
    before = len(started)  # (each of those leases found the previous ones abandoned)
    with pytest.raises(IrisenvError):
        pool_lease.acquire(p, None, "APP", timeout=0.05)
    assert t.read().counts(T)["dirty"] == 3  # expired by the lease, nobody resets them
    assert len(started) == before + 1


def test_a_lease_that_finds_a_dead_holders_copy_starts_the_resetter_at_once(fake, monkeypatch,
                                                                            started):
    """A crashed holder's copy is reset as soon as a lease notices it, even when that lease
    got a clean copy (it used to wait for the next release or sync)."""
    IrisPool().install(monkeypatch)
    p = project(fake)
    t = synced(p)
    dead = leases.holder(os.getpid())
    dead = core.Holder(dead.pid, dead.host, dead.boot, dead.start + 1)  # a reused pid
    pool_lease.acquire(p, None, "APP", timeout=1, who=dead)
    assert started == []
    assert pool_lease.acquire(p, None, "APP", timeout=1) == "APP_P2"
    assert t.read().counts(T)["dirty"] == 1 and len(started) == 1
