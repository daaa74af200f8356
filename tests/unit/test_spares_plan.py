"""Warm spares (docs/spares.md): the pure plan (which spare is promoted, which are drained,
how many are booted), its renderings, and the executor's promotion on the fake engine."""
from __future__ import annotations

from dataclasses import replace

import pytest
from fake_engine import FakeEngine  # tests/unit is on sys.path
from test_apply_faults import executor, observe
from test_reconcile import CID, IMG, IMG_ID, have, kinds, obs, want

from irisenv.core import labels as L
from irisenv.core.iris_plan import IrisDesired
from irisenv.core.plan import (ConvergeWhenReady, Create, CreateSpare, Options, Promote, Remove,
                               Replace, reconcile)
from irisenv.core.render import plan_json, plan_text
from irisenv.engine import retry

pytestmark = pytest.mark.usefixtures("fast_retries")

SPARE = "5a4e" + "0" * 60
SPARE2 = "5a4f" + "0" * 60


def never(spares=1, **kw):
    return want(reuse="never", spares=spares, **kw)


def spare(d, *, id=SPARE, slot=1, networks=(), **kw):
    """A spare as Docker lists it: the instance's labels plus the role, on no network."""
    c = have(d, id=id, name=L.spare_name(d.project, d.instance, slot), **kw)
    return replace(c, labels={**c.labels, L.ROLE: L.SPARE}, networks=networks)


def current(d, **kw):
    return replace(have(d, **kw), networks=("bridge",))


def steps(plan, cls):
    return [s for s in plan.steps if isinstance(s, cls)]


# ---------------------------------------------------------------- counted and booted
def test_a_first_sync_creates_the_instance_and_boots_the_spares_alongside():
    d = never(spares=2)
    plan = reconcile([d], obs())
    assert kinds(plan) == ["create", "wait", "spare", "spare"]
    assert [s.name for s in steps(plan, CreateSpare)] == ["demo-iris-spare-1", "demo-iris-spare-2"]
    assert plan.counts()["spare"] == 2 and plan.has_changes
    assert "no ready spare: a fresh container boots" in plan.notes[0]
    text = plan_text(plan)
    assert "  + spare demo-iris-spare-1" in text and "2 spare(s) to boot" in text
    assert [s["spare_name"] for s in plan_json(plan)["steps"] if s["action"] == "spare"] == [
        "demo-iris-spare-1", "demo-iris-spare-2"]


def test_a_booting_spare_is_counted_not_promoted_and_the_note_says_so():
    d = never()
    plan = reconcile([d], obs(current(d), spare(d), ready=(CID,)))  # the spare's IRIS: silent
    assert kinds(plan) == ["replace", "wait"]  # today's path; no second spare
    assert steps(plan, Replace)[0].container.id == CID
    assert plan.notes == ["iris: no ready spare (1 still booting): a fresh container boots, "
                          "as without spares"]


# ---------------------------------------------------------------- promotion
def test_a_ready_matching_spare_is_promoted_and_the_next_one_booted():
    d = never()
    plan = reconcile([d], obs(current(d), spare(d), ready=(CID, SPARE)))
    assert kinds(plan) == ["promote", "spare"]  # no readiness ladder: its IRIS answered
    p = plan.steps[0]
    assert isinstance(p, Promote) and p.spare.id == SPARE and p.old.id == CID
    assert 'reuse = "never"' in p.cause and "demo-iris-spare-1" in p.cause
    assert steps(plan, CreateSpare)[0].name == "demo-iris-spare-2"  # spare-1 is still taken
    assert plan.counts()["promote"] == 1 and plan.notes == []


def test_the_promoted_spare_gets_phase_two_as_a_fresh_container():
    d = never()
    iris = {"iris": IrisDesired(instance="iris", username="_SYSTEM", namespaces=("APP",),
                                callin=True)}
    plan = reconcile([d], obs(current(d), spare(d), ready=(CID, SPARE)), iris=iris)
    [cwr] = steps(plan, ConvergeWhenReady)
    assert cwr.fresh and cwr.alongside and cwr.desired is d


def test_without_a_container_a_ready_spare_is_promoted():
    """What a sync killed after removing the old container leaves: the spare is promoted."""
    d = never()
    plan = reconcile([d], obs(spare(d), ready=(SPARE,)))
    p = steps(plan, Promote)[0]
    assert p.old is None and p.cause.startswith("no container for this instance")
    assert not steps(plan, Create)


@pytest.mark.parametrize("why,kw,said", [
    ("another spec", dict(spec={"image": IMG, "memory": 4 * 1024**3}), "older spec (memory)"),
    ("another image", dict(image_id="sha256:" + "b" * 64), "older image"),
    ("stopped", dict(state="exited"), "the spare is exited"),
])
def test_a_spare_that_does_not_match_is_drained_never_promoted(why, kw, said):
    d = never()
    plan = reconcile([d], obs(current(d), spare(d, **kw), ready=(CID, SPARE)))
    assert not steps(plan, Promote), why
    assert steps(plan, Replace)
    [drain] = [s for s in steps(plan, Remove) if s.spare]
    assert drain.container.id == SPARE and said in drain.reason
    assert len(steps(plan, CreateSpare)) == 1  # rebuilt with the current spec
    assert "  - spare demo-iris-spare-1" in plan_text(plan)


def test_a_changed_spec_drains_every_spare_and_rebuilds_them():
    old = never(spares=2)
    d = never(spares=2, memory=4 * 1024**3)
    seen = obs(current(old), spare(old), spare(old, id=SPARE2, slot=2), ready=(CID, SPARE, SPARE2))
    plan = reconcile([d], seen)
    assert not steps(plan, Promote)
    assert {s.container.id for s in steps(plan, Remove)} == {SPARE, SPARE2}
    assert len(steps(plan, CreateSpare)) == 2
    # the new spares' names avoid those still held by the drained ones (removed meanwhile)
    assert {s.name for s in steps(plan, CreateSpare)} == {"demo-iris-spare-3", "demo-iris-spare-4"}


def test_spares_lowered_drains_the_extra_ones_keeping_a_ready_one():
    d = never(spares=1)
    seen = obs(current(d), spare(d), spare(d, id=SPARE2, slot=2), ready=(CID, SPARE2))
    plan = reconcile([d], seen)
    assert steps(plan, Promote)[0].spare.id == SPARE2
    # one left besides the promoted one, as spares = 1 asks: nothing more booted or drained
    assert not steps(plan, CreateSpare) and not steps(plan, Remove)


def test_spares_zero_drains_them_all():
    d = want(reuse="never")
    plan = reconcile([d], obs(current(d), spare(d), ready=(CID, SPARE)))
    assert [s.reason for s in steps(plan, Remove)] == ["spares = 0"]
    assert not steps(plan, Promote) and not steps(plan, CreateSpare)
    assert plan.notes == []  # no spares wanted: no note about their absence


def test_an_interrupted_promotion_is_replaced_by_another_ready_spare():
    """Killed after the rename, before the attach: the instance's name on a spare that
    publishes nothing."""
    d = never()
    stuck = replace(spare(d, id=CID), name=d.name)
    plan = reconcile([d], obs(stuck, spare(d, id=SPARE2, slot=2), ready=(CID, SPARE2)))
    p = steps(plan, Promote)[0]
    assert p.old.id == CID and p.spare.id == SPARE2


def test_an_interrupted_promotion_says_why_it_is_replaced():
    d = never()
    stuck = replace(spare(d, id=CID), name=d.name)
    plan = reconcile([d], obs(stuck, ready=(CID,)))
    assert "a spare's promotion was interrupted" in " ".join(steps(plan, Replace)[0].reasons)


def test_a_spare_made_for_other_leased_ports_is_drained():
    """Docker cannot change a container's port bindings: a spare made before the lease
    changed (its port was taken meanwhile) would publish the old port."""
    before = replace(never(), host_ports={"superserver": 41972, "web": 41973})
    d = replace(never(), host_ports={"superserver": 41980, "web": 41973})
    plan = reconcile([d], obs(current(before), spare(before), ready=(CID, SPARE)))
    assert not steps(plan, Promote)
    assert "other host ports" in steps(plan, Remove)[0].reason
    plan = reconcile([before], obs(current(before), spare(before), ready=(CID, SPARE)))
    assert steps(plan, Promote)


def test_a_spare_attached_to_a_network_is_never_promoted():
    d = never()
    plan = reconcile([d], obs(current(d), spare(d, networks=("bridge",)), ready=(CID, SPARE)))
    assert not steps(plan, Promote)
    assert "attached to a network" in steps(plan, Remove)[0].reason


# ---------------------------------------------------------------- orphans
def test_a_spare_of_an_undeclared_instance_is_drained_other_orphans_are_kept():
    gone = never(name="old")
    d = never()
    orphan = replace(have(gone, id="0" * 63 + "1"), networks=("bridge",))
    plan = reconcile([d], obs(current(d), spare(gone), orphan, ready=(CID,)))
    removed = steps(plan, Remove)
    assert [r.container.id for r in removed] == [SPARE]
    assert "spare of instance 'old' is no longer in the config" in removed[0].reason
    assert any("orphan container demo-old" in n for n in plan.notes)
    plan = reconcile([d], obs(current(d), spare(gone), orphan, ready=(CID,)),
                     Options(remove_orphans=True))
    assert {r.container.id for r in steps(plan, Remove)} == {SPARE, "0" * 63 + "1"}


# ---------------------------------------------------------------- the executor
def test_the_executor_boots_a_spare_detached_and_promotes_it_with_the_instances_ports():
    fake = FakeEngine()
    fake.iris_on_start = {}
    ex, waiter = executor(fake)
    d = replace(never(), host_ports={"superserver": 41972, "web": 41973})
    ex.run(reconcile([d], observe(fake)))  # first sync: the instance and a spare
    [inst] = fake.by_name(d.name)
    [sp] = fake.by_name("demo-iris-spare-1")
    assert fake.containers[sp]["labels"][L.ROLE] == L.SPARE
    assert fake.containers[sp]["state"] == "running" and fake.containers[sp]["ports"] == {}
    assert fake.containers[inst]["ports"] == {1972: 41972, 52773: 41973}
    assert (d.instance, sp) not in waiter.seen  # its boot is not waited for

    plan = reconcile([d], observe(fake, ready=(inst, sp)))
    result = ex.run(plan)
    assert inst not in fake.containers  # the old one is gone
    assert fake.by_name(d.name) == [sp] and result.ready == {d.instance: sp}
    assert fake.containers[sp]["ports"] == {1972: 41972, 52773: 41973}  # the same ports
    names = [c[2] for c in fake.calls("rename")]
    assert names == [d.name]
    # rename before attach, old removed before both: a crash between leaves a known state
    order = [c[0] for c in fake.log if c[0] in ("remove", "rename", "attach")]
    assert order == ["remove", "rename", "attach"]
    [new_spare] = fake.by_name("demo-iris-spare-2")
    assert fake.containers[new_spare]["ports"] == {}


def test_a_spare_that_fails_to_start_is_removed_and_warned_about_the_instance_is_ready():
    from fake_engine import Events

    from irisenv.errors import IrisenvError

    fake = FakeEngine()
    fake.iris_on_start = {}
    ex, _ = executor(fake)
    ex.report = Events()
    d = never()

    def start(cid):
        if fake.containers[cid]["name"].endswith("-spare-1"):
            raise IrisenvError("cannot start the spare", "the engine said no")

    fake.hooks["start"] = start
    result = ex.run(reconcile([d], observe(fake)))
    assert result.errors == {} and list(result.ready) == [d.instance]
    assert fake.by_name("demo-iris-spare-1") == []  # nothing half-made left
    [warning] = ex.report.said("warning")
    assert "spare demo-iris-spare-1 could not be made" in warning and "next sync" in warning


def test_down_removes_spares_without_a_graceful_stop_and_stops_the_instance():
    from irisenv.down import remove_project

    fake = FakeEngine()
    d = never()
    inst = fake.add(d.name, d.labels)
    sp = fake.add("demo-iris-spare-1", {**d.labels, L.ROLE: L.SPARE}, networks=())
    promoted = fake.add("demo-db", {**never(name="db").labels, L.ROLE: L.SPARE})
    removed = remove_project(retry.with_retries(fake), "demo", volumes=False)
    assert sorted(removed["containers"]) == ["demo-db", "demo-iris", "demo-iris-spare-1"]
    stopped = {c[1] for c in fake.calls("stop")}
    assert stopped == {inst, promoted}  # a promoted spare is the instance: stopped gracefully
    assert sp not in stopped and not fake.containers
