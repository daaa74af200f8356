"""The pure IRIS-level diff: what sync changes inside IRIS, and what it must never touch."""
import pytest

from irisenv.core.iris_plan import (TEMP_TTL, ClearSystemChange, CreateNamespace, DropNamespace,
                                    EnsureUser, IrisDesired, IrisObserved, SetCallIn,
                                    diff, kept_namespaces, record_changes)
from irisenv.core.iris_record import (DECLARED, POOL, TEST_RUN, NamespaceRecord, RecordChanges)

NOW = 1_800_000_000.0


def declared(*names) -> dict:
    return {n: NamespaceRecord(DECLARED, 1_700_000_000, "sync") for n in names}


def run_records(**created) -> dict:
    return {n: NamespaceRecord(TEST_RUN, t, "run1") for n, t in created.items()}


def want(namespaces=("APP", "TEST"), user="_SYSTEM", callin=True, storage="ephemeral"):
    return IrisDesired("iris", user, tuple(namespaces), callin, storage)


def seen(**kw):
    base = dict(namespaces={"APP": True, "TEST": True}, callin=True, user_exists=True,
                user_change_required=False, user_enabled=True, password_ok=True,
                system_change_required=False, records=declared("APP", "TEST"), observed_at=NOW)
    base.update(kw)
    return IrisObserved(**base)


def test_converged_state_has_no_actions():
    assert diff(want(), seen()) == ()


def test_missing_declared_namespace_is_created():
    assert diff(want(), seen(namespaces={"APP": True, "TEST": False})) == (CreateNamespace("TEST"),)


def test_owned_undeclared_namespace_is_dropped_but_a_hand_made_one_never():
    o = seen(namespaces={"APP": True, "OLD": True, "HAND": True}, records=declared("APP", "OLD"))
    acts = diff(want(namespaces=("APP",)), o)
    assert acts == (DropNamespace("OLD"),)
    assert record_changes(o, acts) == RecordChanges(kills=("OLD",))  # only OLD's node goes


def test_owned_namespace_already_gone_is_not_dropped_again():
    o = seen(namespaces={"APP": True, "OLD": False}, records=declared("APP", "OLD"))
    assert diff(want(namespaces=("APP",)), o) == ()


def test_test_run_namespaces_survive_a_sync_until_abandoned():
    recs = declared("APP", "TEST")
    fresh = seen(records={**recs, **run_records(TGW0ABC=int(NOW) - 60)},
                 namespaces={"APP": True, "TEST": True, "TGW0ABC": True})
    assert diff(want(), fresh) == ()  # a run may be using it right now
    stale = seen(records={**recs, **run_records(TGW0ABC=int(NOW - TEMP_TTL - 1))},
                 namespaces={"APP": True, "TEST": True, "TGW0ABC": True})
    acts = diff(want(), stale)
    assert acts == (DropNamespace("TGW0ABC", leftover=True),)
    assert record_changes(stale, acts) == RecordChanges(kills=("TGW0ABC",))


def test_callin_and_user_states():
    acts = diff(want(user="tester", callin=False),
                seen(callin=True, user_exists=False, system_change_required=True))
    assert SetCallIn(False, True) in acts
    assert EnsureUser("tester", ("absent",)) in acts
    assert ClearSystemChange() in acts
    acts = diff(want(), seen(password_ok=False, user_change_required=True, user_enabled=False))
    assert acts == (EnsureUser("_SYSTEM", ("password does not match the config",
                                           "password change required", "disabled")),)


def test_unknown_password_state_is_not_taken_as_verified():
    assert diff(want(), seen(password_ok=None)) == (
        EnsureUser("_SYSTEM", ("password does not match the config",)),)


def test_a_test_run_record_without_a_creation_time_is_never_taken_as_abandoned():
    o = seen(records={**declared("APP", "TEST"), **run_records(TGW0ABC=0)},
             namespaces={"APP": True, "TEST": True, "TGW0ABC": True})
    assert diff(want(), o) == ()


@pytest.mark.parametrize("kind", [POOL, "from-a-newer-irisenv"])
def test_other_record_kinds_are_left_alone(kind):
    """Pool copies (nothing writes them yet) and kinds a newer irisenv writes: never dropped
    by a sync, whatever their age."""
    o = seen(records={**declared("APP", "TEST"), "OTHER": NamespaceRecord(kind, 1, "x")},
             namespaces={"APP": True, "TEST": True, "OTHER": True})
    assert diff(want(), o) == ()


# ------------------------------------------------------------------ durable storage
def test_undeclared_namespace_on_a_volume_is_kept_without_the_opt_in():
    """Dropping deletes the databases: on durable storage that needs --drop-namespaces."""
    o = seen(namespaces={"APP": True, "OLD": True}, records=declared("APP", "OLD"))
    d = want(namespaces=("APP",), storage="volume")
    assert diff(d, o) == ()
    assert kept_namespaces(d, o) == ("OLD",)
    assert not record_changes(o, diff(d, o))  # still ours, still there: the record stays
    assert diff(d, o, drop_durable=True) == (DropNamespace("OLD"),)
    assert kept_namespaces(d, o, drop_durable=True) == ()


@pytest.mark.parametrize("storage", ["ephemeral", "tmpfs"])
def test_undeclared_namespace_on_throwaway_storage_is_dropped(storage):
    o = seen(namespaces={"APP": True, "OLD": True}, records=declared("APP", "OLD"))
    d = want(namespaces=("APP",), storage=storage)
    assert diff(d, o) == (DropNamespace("OLD"),)
    assert kept_namespaces(d, o) == ()


def test_abandoned_test_run_namespace_on_a_volume_is_still_dropped():
    """Test-run namespaces are scratch, never declared data: no opt-in needed."""
    o = seen(records={**declared("APP", "TEST"), **run_records(TGW0ABC=int(NOW - TEMP_TTL - 1))},
             namespaces={"APP": True, "TEST": True, "TGW0ABC": True})
    d = want(storage="volume")
    assert diff(d, o) == (DropNamespace("TGW0ABC", leftover=True),)
    assert kept_namespaces(d, o) == ()
def test_a_system_password_change_that_did_not_hold_is_not_planned_again():
    """irisenv records in IRIS when clearing _SYSTEM's flag did not hold; the plan then
    notes it instead of proposing the same merge on every sync."""
    o = seen(system_change_required=True, system_change_sticky=True)
    assert diff(want(user="tester"), o) == ()
    assert diff(want(user="tester"), seen(system_change_required=True)) == (ClearSystemChange(),)


def test_the_plan_notes_a_sticky_system_password_change():
    from irisenv.config.model import Config, Instance
    from irisenv.core.desired import desired_container
    from irisenv.core.observed import Observed, ObservedContainer
    from irisenv.core.plan import reconcile

    d = desired_container(Config(project="demo", instances={}), Instance(name="iris", image="x"))
    c = ObservedContainer(id="c" * 64, name=d.name, state="running", labels=d.labels,
                          image_id="sha256:1")
    o = seen(namespaces={}, records={}, system_change_required=True,
             system_change_sticky=True)
    plan = reconcile([d], Observed("demo", (c,), {"x": "sha256:1"}, iris={c.id: o}),
                     iris={"iris": IrisDesired("iris", "tester", (), True)})
    assert plan.steps == []
    [note] = plan.notes
    assert note.startswith("iris: user _SYSTEM still requires a password change")
    assert "Tests connect as tester" in note
