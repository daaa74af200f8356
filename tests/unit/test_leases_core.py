"""The pool's lease table, decided by a pure core (irisenv/core/leases.py): which copy a
lease gets, when the pool grows or waits, what expires, what a changed template does."""
from __future__ import annotations

import json

import pytest

from irisenv.core import leases as core
from irisenv.core.leases import CLEAN, CREATING, DIRTY, KEPT, LEASED, RESETTING

T = "iris/APP"
ME = core.Holder(100, "here", "boot-1", 5000)
OTHER = core.Holder(200, "here", "boot-1", 6000)
NOW = 1_000_000.0


def name(template, n):
    return f"{template}_P{n}"


def pool(size=2, clean=(), init="h1", **states):
    """A table with copies 1..: the numbers in ``clean`` clean at NOW-100+number, the
    others as given by ``states`` ({number: Copy})."""
    copies = {name(T, n): core.Copy(T, n, CLEAN, init, NOW - 100 + n) for n in clean}
    copies.update({name(T, int(n[1:])): c for n, c in states.items()})
    return core.Table({T: core.Template(init, size)}, copies)


def test_a_lease_takes_the_copy_clean_longest_and_holds_it():
    table = pool(3, clean=(2, 1, 3))
    table, got = core.lease(table, T, ME, NOW, name)
    assert got == core.Leased(name(T, 1))
    c = table.copies[name(T, 1)]
    assert (c.state, c.holder, c.since) == (LEASED, ME, NOW)
    table, got = core.lease(table, T, OTHER, NOW, name)
    assert got == core.Leased(name(T, 2))


def test_a_lease_refuses_a_pool_sync_made_in_another_container():
    table = core.Table({T: core.Template("h1", 2, "cid-old")},
                       {name(T, 1): core.Copy(T, 1, CLEAN, "h1", NOW - 50)})
    after, got = core.lease(table, T, ME, NOW, name, "cid-new")
    assert got == core.Replaced("cid-old") and after == table  # nothing handed out
    assert core.lease(table, T, ME, NOW, name, "cid-old")[1] == core.Leased(name(T, 1))
    unknown = core.Table({T: core.Template("h1", 2)}, table.copies)  # a table of before
    assert core.lease(unknown, T, ME, NOW, name, "cid-new")[1] == core.Leased(name(T, 1))


def test_a_lease_never_takes_a_dirty_kept_resetting_or_stale_copy():
    table = pool(4, clean=(), p1=core.Copy(T, 1, DIRTY, "h1", NOW),
                 p2=core.Copy(T, 2, KEPT, "h1", NOW),
                 p3=core.Copy(T, 3, RESETTING, "h1", NOW, OTHER),
                 p4=core.Copy(T, 4, CLEAN, "h0", NOW))  # reset from an older template
    table, got = core.lease(table, T, ME, NOW, name)
    assert got == core.Wait({"clean": 1, "leased": 0, "dirty": 1, "resetting": 1, "kept": 1,
                             "creating": 0})


def test_without_a_clean_copy_the_pool_grows_to_max_then_waits():
    table = pool(2, clean=(1,))
    table, first = core.lease(table, T, ME, NOW, name)
    table, grow = core.lease(table, T, OTHER, NOW, name)
    assert grow == core.Grow(name(T, 2), 2)
    assert table.copies[name(T, 2)].state == CREATING
    table = core.grown(table, name(T, 2), OTHER, "h1", NOW)
    assert table.copies[name(T, 2)].state == LEASED
    table, third = core.lease(table, T, ME, NOW, name)
    assert isinstance(third, core.Wait) and third.counts["leased"] == 2


def test_a_grown_copy_takes_the_lowest_free_number():
    table = pool(3, clean=(), p2=core.Copy(T, 2, LEASED, "h1", NOW, OTHER))
    _, grow = core.lease(table, T, ME, NOW, name)
    assert grow == core.Grow(name(T, 1), 2)


def test_an_unknown_template_is_no_pool():
    assert core.lease(core.EMPTY, T, ME, NOW, name)[1] == core.NoPool()


def test_release_makes_the_copy_dirty_and_only_a_held_one():
    table, got = core.lease(pool(1, clean=(1,)), T, ME, NOW, name)
    table = core.release(table, got.copy, NOW + 1)
    assert (table.copies[got.copy].state, table.copies[got.copy].holder) == (DIRTY, None)
    with pytest.raises(ValueError, match="not leased"):
        core.release(table, got.copy, NOW + 2)  # twice
    with pytest.raises(ValueError, match="not leased"):
        core.release(table, "iris/NOPE_P1", NOW)


def test_keep_holds_a_copy_back_from_reset_until_released():
    table, got = core.lease(pool(1, clean=(1,)), T, ME, NOW, name)
    table = core.keep(table, got.copy, NOW)
    table, taken = core.claim_dirty(table, OTHER, NOW)
    assert taken == () and table.copies[got.copy].state == KEPT
    table = core.release(table, got.copy, NOW)
    assert core.claim_dirty(table, OTHER, NOW)[1] == (got.copy,)


def test_reset_cycle_dirty_resetting_clean_with_the_masters_hash():
    table = pool(2, clean=(), p1=core.Copy(T, 1, DIRTY, "h0", NOW))
    table, taken = core.claim_dirty(table, OTHER, NOW)
    assert taken == (name(T, 1),) and table.copies[name(T, 1)].state == RESETTING
    with pytest.raises(ValueError, match="not resetting by this process"):
        core.reset_done(table, name(T, 1), ME, "h1", NOW)
    done = core.reset_done(table, name(T, 1), OTHER, "h1", NOW)
    assert (done.copies[name(T, 1)].state, done.copies[name(T, 1)].init) == (CLEAN, "h1")
    failed = core.reset_failed(table, name(T, 1), OTHER, "dismount failed", NOW)
    assert (failed.copies[name(T, 1)].state, failed.copies[name(T, 1)].error) == (
        DIRTY, "dismount failed")


# ------------------------------------------------------------------ expiry
def test_a_dead_holder_on_this_host_expires_at_once_a_live_one_never():
    table = pool(2, clean=(), p1=core.Copy(T, 1, LEASED, "h1", NOW, ME),
                 p2=core.Copy(T, 2, LEASED, "h1", NOW - 10 * core.LEASE_TTL, OTHER))
    table, expired = core.expire(table, NOW, lambda h: h.pid != ME.pid)
    assert expired == (name(T, 1),)
    assert table.copies[name(T, 1)].state == DIRTY
    assert table.copies[name(T, 2)].state == LEASED  # alive, however long it holds


def test_a_holder_that_cannot_be_asked_expires_after_the_ttl():
    table = pool(2, clean=(), p1=core.Copy(T, 1, LEASED, "h1", NOW - core.LEASE_TTL - 1, ME),
                 p2=core.Copy(T, 2, RESETTING, "h1", NOW - 60, OTHER))
    table, expired = core.expire(table, NOW, lambda h: None)
    assert expired == (name(T, 1),)
    assert table.copies[name(T, 2)].state == RESETTING


def test_a_kept_copy_expires_after_a_day():
    table = pool(1, clean=(), p1=core.Copy(T, 1, KEPT, "h1", NOW - core.KEEP_TTL - 1))
    assert core.expire(table, NOW, lambda h: True)[1] == (name(T, 1),)


# ------------------------------------------------------------------ what sync knows
def test_sync_records_the_template_and_marks_unknown_and_stale_copies_dirty():
    table = pool(2, clean=(1,), init="h0", p2=core.Copy(T, 2, LEASED, "h0", NOW, ME))
    existing = {name(T, 1): (1, "h0"), name(T, 2): (2, "h0"), name(T, 3): (3, "h1"),
                name(T, 4): (4, "h0")}
    table = core.synced(table, T, "h1", 4, existing, NOW)
    states = {k: c.state for k, c in table.of(T).items()}
    assert states == {name(T, 1): DIRTY,  # clean from the old template: stale
                      name(T, 2): LEASED,  # keeps working until released
                      name(T, 3): DIRTY,  # unknown to the table: maybe in use, reset first
                      name(T, 4): DIRTY}  # unknown, from the old template
    assert table.templates[T] == core.Template("h1", 4)


def test_sync_forgets_copies_that_no_longer_exist_unless_held():
    table = pool(2, clean=(1,), p2=core.Copy(T, 2, LEASED, "h1", NOW, ME))
    table = core.synced(table, T, "h1", 2, {}, NOW)
    assert set(table.of(T)) == {name(T, 2)}


def test_a_released_copy_of_a_forgotten_pool_is_dropped_from_the_table():
    table = core.forget(pool(2, clean=(1,), p2=core.Copy(T, 2, LEASED, "h1", NOW, ME)), T)
    assert set(table.copies) == {name(T, 2)} and T not in table.templates
    assert core.release(table, name(T, 2), NOW).copies == {}


# ------------------------------------------------------------------ the file
def test_the_file_round_trips():
    table, _ = core.lease(pool(2, clean=(1, 2)), T, ME, NOW, name)
    assert core.load(core.dump(table)) == table


@pytest.mark.parametrize("text", [None, "", "{", "[]", '{"version": 99}',
                                  '{"version": 1, "copies": 3}'])
def test_a_damaged_or_foreign_file_reads_as_empty(text):
    assert core.load(text) == core.EMPTY


def test_malformed_entries_are_skipped():
    good = core.Copy(T, 1, CLEAN, "h1", NOW).json()
    data = {"version": 1, "templates": {T: {"init": "h1", "max": 2}, "x": {"max": "2"}},
            "copies": {"a": good, "b": {**good, "state": "weird"},
                       "c": {**good, "state": LEASED},  # held, with no holder
                       "d": {**good, "number": True}}}
    table = core.load(json.dumps(data))
    assert set(table.copies) == {"a"} and set(table.templates) == {T}


def test_held_names_the_copies_a_sync_must_not_drop():
    table = pool(4, clean=(1,), p2=core.Copy(T, 2, LEASED, "h1", NOW, ME),
                 p3=core.Copy(T, 3, KEPT, "h1", NOW), p4=core.Copy(T, 4, CREATING, "", NOW, ME))
    table = table.with_copy("other/APP_P1", core.Copy("other/APP", 1, LEASED, "h1", NOW, ME))
    assert core.held(table, "iris") == {"APP_P2", "APP_P3", "APP_P4"}


def test_counts_read_as_text():
    assert core.describe_counts({"clean": 2, "leased": 0, "dirty": 1}) == "2 clean, 1 dirty"
    assert core.describe_counts({"clean": 0}) == "no copies"


def test_a_reset_from_a_master_the_template_left_meanwhile_ends_dirty():
    table = pool(1, clean=(), p1=core.Copy(T, 1, DIRTY, "h0", NOW))
    table, _ = core.claim_dirty(table, OTHER, NOW)
    table = core.synced(table, T, "h2", 1, {name(T, 1): (1, "h0")}, NOW)  # template changed
    table = core.reset_done(table, name(T, 1), OTHER, "h1", NOW)
    assert table.copies[name(T, 1)].state == DIRTY


def test_claim_skips_copies_asked_and_copies_of_unknown_pools():
    table = pool(2, clean=(), p1=core.Copy(T, 1, DIRTY, "h1", NOW),
                 p2=core.Copy(T, 2, DIRTY, "h1", NOW))
    table = table.with_copy("iris/GONE_P1", core.Copy("iris/GONE", 1, DIRTY, "h1", NOW))
    assert core.claim_dirty(table, ME, NOW, skip=frozenset({name(T, 1)}))[1] == (name(T, 2),)
