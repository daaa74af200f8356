"""The orchestrator (irisenv/phases.py) when the engine changes under a sync: a conflict on
create ends the instance's steps, and the sync observes and plans again; what it finds under
the name is judged by the same pure plan as any other container. A fake engine, the real
executor, the real reconcile(); no Docker."""
from __future__ import annotations

from types import SimpleNamespace

from contextlib import nullcontext

import pytest
from fake_engine import Events, IMG, IMG_ID, FakeEngine  # tests/unit is on sys.path

from irisenv import phases as sync_mod
from irisenv.config.model import Config, Instance
from irisenv.core import desired as D
from irisenv.core import labels as L
from irisenv.core.observed import Observed
from irisenv.core.plan import Options, reconcile
from irisenv.engine import retry
from irisenv.errors import IrisenvError


def want(name="iris", project="demo", **kw) -> D.DesiredContainer:
    return D.desired_container(Config(project=project, instances={}),
                               Instance(name=name, image=IMG, **kw))


class StubProject:
    """What sync() uses of a Project: its engine, lock, passwords and plan(). ``before`` runs
    once, after plan number ``after``: someone else changes the engine. By default after
    the second plan, the one a sync with changes makes under the engine-side lock and
    executes: someone who does not take that lock (`docker run` by hand) changes it between
    the plan and its execution."""

    def __init__(self, eng: FakeEngine, d, before=None, after: int = 2):
        self.fake, self.d, self.before, self.plans, self.after = eng, d, before, 0, after
        self.engine = retry.with_retries(eng)
        self.name = d.project
        self.config = SimpleNamespace(instances={d.instance: SimpleNamespace(reuse=d.reuse)})

    def lock(self, verb, timeout, reporter=None):
        return nullcontext()

    def passwords(self):
        return {}

    def refused(self, exc):
        return exc

    def plan(self, options, lease=None):  # no port registry here: "auto" is Docker's
        ours = tuple(self.fake.observed(cid) for cid, c in self.fake.containers.items()
                     if c["name"] == self.d.name and L.is_ours(c["labels"])
                     and c["labels"].get(L.PROJECT) == self.name)
        foreign = {c["name"]: self.fake.observed(cid) for cid, c in self.fake.containers.items()
                   if c["name"] == self.d.name and not ours}
        plan = reconcile([self.d], Observed(project=self.name, containers=ours,
                                            image_ids={IMG: IMG_ID}, foreign_by_name=foreign),
                         options)
        self.plans += 1
        if self.plans == self.after and self.before is not None:
            self.before()
        return plan


def run(project, reporter=None):
    return sync_mod.sync(project, Options(wait=False), timeout=5, reporter=reporter or Events(),
                         lock_timeout=5)


def test_a_twin_made_meanwhile_is_judged_by_a_new_plan_and_used_as_it_is():
    eng = FakeEngine()
    d = want()
    twin = []
    project = StubProject(eng, d, before=lambda: twin.append(eng.add(d.name, d.labels)))
    events = Events()
    outcome = run(project, events)
    assert outcome.plans == 2 and project.plans == 3  # the first, under the lock, after
    assert list(eng.containers) == twin and eng.containers[twin[0]]["state"] == "running"
    assert [e for e in eng.log if e[0] in ("remove", "stop", "start")] == []
    assert any(k == "replan" and "conflict" in m for k, m in events.seen)


def test_what_another_machine_made_before_the_lock_was_taken_is_seen_by_the_plan_under_it():
    """The first plan only tells whether there is anything to change: the plan executed is
    the one made under the engine-side lock, so a container another machine made meanwhile
    (which it did holding the lock) is used as it is, with no create and no conflict."""
    eng = FakeEngine()
    d = want()
    twin = []
    project = StubProject(eng, d, before=lambda: twin.append(eng.add(d.name, d.labels)),
                          after=1)
    events = Events()
    outcome = run(project, events)
    assert outcome.plans == 1 and project.plans == 2
    assert list(eng.containers) == twin
    assert eng.calls("create") == [] and not any(k == "replan" for k, _ in events.seen)
    assert outcome.plan.changes == []  # what this sync set out to do: nothing, as it found
    assert [c[0] for c in eng.log if "lock" in c[0]] == ["create_lock", "remove_lock"]


def test_a_no_op_takes_no_engine_lock():
    eng = FakeEngine()
    d = want()
    eng.add(d.name, d.labels)
    run(StubProject(eng, d))
    assert [c for c in eng.log if "lock" in c[0]] == []


def test_a_never_started_twin_is_made_anew_like_any_interrupted_create():
    eng = FakeEngine()
    d = want()
    twin = []
    project = StubProject(eng, d, before=lambda: twin.append(
        eng.add(d.name, d.labels, state="created")))
    run(project)
    [(cid, c)] = eng.containers.items()
    assert cid != twin[0] and c["state"] == "running" and c["labels"] == d.labels


def test_a_stale_container_of_ours_made_meanwhile_is_replaced():
    eng = FakeEngine()
    d = want()
    stale = []
    project = StubProject(eng, d, before=lambda: stale.append(
        eng.add(d.name, want(memory=1024**3).labels)))
    run(project)
    [(cid, c)] = eng.containers.items()
    assert cid != stale[0] and c["labels"][L.CONFIG_HASH] == d.hash


def test_a_foreign_container_made_meanwhile_is_refused_and_untouched():
    eng = FakeEngine()
    d = want()
    foreign = []
    project = StubProject(eng, d, before=lambda: foreign.append(
        eng.add(d.name, {"com.example": "theirs"})))
    with pytest.raises(IrisenvError) as err:
        run(project)
    assert "not created by irisenv" in err.value.what
    assert list(eng.containers) == foreign
    assert not [e for e in eng.log if e[0] in ("start", "stop", "remove", "rename")]


def test_another_projects_container_of_the_same_name_is_refused():
    """Project "demo" instance "a-b" and project "demo-a" instance "b" both map to the
    container name demo-a-b: never adopt it, never remove it, even with the same spec."""
    eng = FakeEngine()
    d = want("a-b", project="demo")
    other_d = want("b", project="demo-a")
    assert other_d.name == d.name and other_d.hash == d.hash
    other = []
    project = StubProject(eng, d, before=lambda: other.append(
        eng.add(other_d.name, other_d.labels, state="exited")))
    with pytest.raises(IrisenvError) as err:
        run(project)
    assert "another irisenv project" in err.value.what or "taken by irisenv project" in err.value.what
    assert eng.containers[other[0]]["state"] == "exited"


def test_a_conflict_every_time_gives_up_after_a_bounded_number_of_plans(monkeypatch):
    from irisenv.errors import ConflictError

    eng = FakeEngine()
    d = want()
    eng.fail("create", *[ConflictError("name in use", "Conflict", "retry")
                         for _ in range(sync_mod.PLANS * 2)])
    project = StubProject(eng, d)
    with pytest.raises(ConflictError):
        run(project)
    assert project.plans == sync_mod.PLANS + 1  # the first attempt plans again under the lock
