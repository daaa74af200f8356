"""The engine-side lock (irisenv/enginelock.py) against the in-memory engine: two holders
never overlap, a waiter says who holds the lock, an expired lock is reclaimed (also one
whose holder's clock runs ahead), a create whose answer was lost is recognised as ours, an
object irisenv did not make is never touched; and which verbs take it (a sync with
changes, a down with something to remove; never a no-op)."""
from __future__ import annotations

import threading
import time

import pytest
from fake_engine import HEALTHY_IRIS, IMG_ID, FakeEngine  # tests/unit is on sys.path

from irisenv import enginelock as EL
from irisenv.config.load import parse_config
from irisenv.core import labels as L
from irisenv.core.plan import Options
from irisenv.engine import retry
from irisenv.errors import IrisenvError, TransientError
from irisenv.project import Project

IMAGE = "containers.intersystems.com/intersystems/iris-community:2025.1"


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    monkeypatch.setattr(retry, "RETRY_ATTEMPTS", 3)
    monkeypatch.setattr(retry, "RETRY_SECONDS", 5.0)
    monkeypatch.setattr(EL, "_POLL_FIRST", 0.01)
    monkeypatch.setattr(EL, "_POLL_MAX", 0.05)


class Events:
    def __init__(self):
        self.seen = []

    def event(self, kind, message, instance=None, **fields):
        self.seen.append((kind, message))


def held_labels(expires_in: float, lease: float = 60, holder: str = "sync, pid 1 on box-b"):
    return {L.MANAGED_BY: L.MANAGED_BY_VALUE, EL.PROJECT: "demo", EL.TOKEN: "theirs",
            EL.HOLDER: holder, EL.EXPIRES: f"{time.time() + expires_in:.0f}",
            EL.LEASE: f"{lease:.0f}"}


def test_two_holders_never_overlap_and_the_second_says_who_it_waits_for():
    fake = FakeEngine()
    engine = retry.with_retries(fake)
    inside, overlaps, order = [], [], []
    first_in = threading.Event()

    def machine(tag: str, events):
        with EL.hold(engine, "demo", "sync", lease=60, timeout=10, reporter=events):
            if inside:
                overlaps.append(tag)
            inside.append(tag)
            order.append(tag)
            first_in.set()
            time.sleep(0.2)
            inside.remove(tag)

    a_events, b_events = Events(), Events()
    a = threading.Thread(target=machine, args=("a", a_events))
    a.start()
    first_in.wait(5)
    machine("b", b_events)
    a.join()
    assert overlaps == [] and order == ["a", "b"]
    [(kind, message)] = b_events.seen
    assert kind == "lock" and "waiting for another irisenv" in message
    assert f"pid {__import__('os').getpid()}" in message and "lease ends in" in message
    assert fake.locks == {}  # both released


def test_the_lock_is_released_when_the_block_fails():
    fake = FakeEngine()
    with pytest.raises(RuntimeError):
        with EL.hold(fake, "demo", "sync", lease=60, timeout=1):
            assert list(fake.locks) == ["irisenv-lock.demo"]
            raise RuntimeError("boom")
    assert fake.locks == {}


def test_a_lock_past_its_lease_is_reclaimed_and_the_reclaim_is_said():
    fake = FakeEngine()
    old = fake.create_lock("irisenv-lock.demo", held_labels(expires_in=-5))
    events = Events()
    with EL.hold(fake, "demo", "sync", lease=60, timeout=5, reporter=events) as lock_id:
        assert lock_id != old and fake.locks["irisenv-lock.demo"].id == lock_id
    assert ("remove_lock", old) in fake.log
    assert any("reclaiming the engine lock irisenv-lock.demo of an expired lease" in m
               and "box-b" in m for _, m in events.seen)


def test_a_holder_whose_clock_runs_ahead_holds_no_longer_than_its_lease():
    ahead = held_labels(expires_in=3600, lease=60)  # its expiry is an hour away on our clock
    assert not EL.expired(ahead, watched=59)
    assert EL.expired(ahead, watched=61)  # watched for longer than its lease
    assert EL.expired(held_labels(expires_in=-1), watched=0)
    fake = FakeEngine()
    old = fake.create_lock("irisenv-lock.demo", held_labels(expires_in=3600, lease=1))
    events = Events()
    with EL.hold(fake, "demo", "sync", lease=60, timeout=10, reporter=events):
        pass
    assert ("remove_lock", old) in fake.log
    assert [k for k, _ in events.seen] == ["lock", "lock"]  # waiting, then reclaiming


def test_a_killed_holder_on_this_machine_is_reclaimed_at_once_and_a_live_one_is_not():
    import os
    import subprocess

    child = subprocess.Popen(["sleep", "60"])
    key = EL.process_key(child.pid)
    child.kill()
    child.wait()
    assert key is not None and EL.holder_gone({EL.PROCESS: key})
    fake = FakeEngine()
    old = fake.create_lock("irisenv-lock.demo", {**held_labels(expires_in=600),
                                                 EL.PROCESS: key})
    events = Events()
    with EL.hold(fake, "demo", "sync", lease=60, timeout=0.5, reporter=events):
        pass
    assert ("remove_lock", old) in fake.log
    assert any("of a process that is gone" in m for _, m in events.seen)
    live = {**held_labels(expires_in=600), EL.PROCESS: EL.process_key(os.getpid())}
    assert not EL.holder_gone(live)
    other_boot = {EL.PROCESS: "another-boot/1/" + key.split("/", 2)[2]}
    assert not EL.holder_gone(other_boot)  # another machine: only its lease tells


def test_a_live_holder_makes_a_waiter_fail_after_its_timeout_naming_it_and_the_way_out():
    fake = FakeEngine()
    fake.create_lock("irisenv-lock.demo", held_labels(expires_in=600))
    with pytest.raises(IrisenvError) as info:
        with EL.hold(fake, "demo", "sync", lease=60, timeout=0.2):
            pass
    err = info.value
    assert err.what == "another irisenv is still working on project demo on this engine"
    assert "sync, pid 1 on box-b" in err.why and "docker rm irisenv-lock.demo" in err.fix
    assert list(fake.locks) == ["irisenv-lock.demo"]  # untouched


def test_a_create_whose_answer_was_lost_is_recognised_as_ours():
    class LosesTheFirstAnswer(FakeEngine):
        lost = False

        def create_lock(self, name, labels):
            made = super().create_lock(name, labels)
            if not self.lost:
                self.lost = True
                raise TransientError("the engine did not answer", "connection reset")
            return made

    fake = LosesTheFirstAnswer()
    with EL.hold(retry.with_retries(fake), "demo", "sync", lease=60, timeout=2) as lock_id:
        assert fake.locks["irisenv-lock.demo"].id == lock_id
    assert fake.locks == {}


def test_an_object_irisenv_did_not_make_under_the_name_is_never_touched():
    fake = FakeEngine()
    fake.create_lock("irisenv-lock.demo", {"com.example": "mine"})
    with pytest.raises(IrisenvError) as info:
        with EL.hold(fake, "demo", "sync", lease=60, timeout=2):
            pass
    assert "was not made by irisenv" in info.value.what
    assert fake.calls("remove_lock") == []


# ------------------------------------------------------------------ who takes it
def project(fake) -> Project:
    text = f'[project]\nname = "demo"\n[instances.iris]\nimage = "{IMAGE}"\n'
    return Project(parse_config(text, None), engine=fake)


def lock_calls(fake) -> list:
    return [c[0] for c in fake.log if c[0].endswith("_lock")]


def test_a_sync_with_changes_holds_the_lock_around_apply_and_a_no_op_never_takes_it():
    fake = FakeEngine()
    fake.images[IMAGE] = IMG_ID
    fake.iris_on_start = dict(HEALTHY_IRIS)
    seen_during = []
    fake.hooks["create"] = lambda name: seen_during.append(dict(fake.locks))
    p = project(fake)
    p.sync(Options(), timeout=10)
    assert [list(locks) for locks in seen_during] == [["irisenv-lock.demo"]]
    assert lock_calls(fake) == ["create_lock", "remove_lock"] and fake.locks == {}
    holder = fake.calls("create_lock")
    assert holder == [("create_lock", "irisenv-lock.demo")]
    fake.log.clear()
    p.sync(Options(), timeout=10)  # converged: a no-op
    assert lock_calls(fake) == []


def test_a_sync_under_reuse_never_takes_the_lock_before_it_observes_once():
    """reuse = "never" always changes something: no plan is made before the lock, whose
    only use would be to find that out (one observe less on the path of a spare swap)."""
    fake = FakeEngine()
    fake.images[IMAGE] = IMG_ID
    fake.iris_on_start = dict(HEALTHY_IRIS)
    text = f'[project]\nname = "demo"\n[instances.iris]\nimage = "{IMAGE}"\nreuse = "never"\n'
    p = Project(parse_config(text, None), engine=fake)
    p.sync(Options(), timeout=10)
    fake.log.clear()
    p.sync(Options(), timeout=10)
    calls = [c[0] for c in fake.log]
    assert calls.index("create_lock") < calls.index("list_project")
    assert calls.count("list_project") == 1  # one plan, made under the lock
    assert len(fake.calls("create")) == 1  # and it replaced the container, as before


def test_a_sync_waits_for_another_machine_and_then_finds_its_work_done():
    """Machine A holds the lock and makes the container; machine B's sync, started
    meanwhile, waits, then plans again under the lock and finds nothing left to do."""
    from fake_engine import actual_of

    from irisenv.core.desired import desired_container
    from irisenv.core.runspec import run_spec

    fake = FakeEngine()
    fake.images[IMAGE] = IMG_ID
    p = project(fake)
    a_lock = fake.create_lock("irisenv-lock.demo", held_labels(expires_in=600))

    def machine_a():
        time.sleep(0.3)
        d = desired_container(p.config, p.config.instance())
        fake.add(d.name, d.labels, actual=actual_of(run_spec(d, d.name)), iris=HEALTHY_IRIS,
                 image=IMAGE)
        fake.remove_lock(a_lock)

    worker = threading.Thread(target=machine_a)
    worker.start()
    events = Events()
    outcome = p.sync(Options(), timeout=10, reporter=events, lock_timeout=10)
    worker.join()
    assert any(k == "lock" and "waiting" in m and "box-b" in m for k, m in events.seen)
    assert fake.calls("create") == [] and len(fake.containers) == 1
    assert outcome.plan.changes == [] and fake.locks == {}


def test_down_takes_the_lock_only_when_there_is_something_to_remove():
    fake = FakeEngine()
    p = project(fake)
    p.down()
    assert lock_calls(fake) == []
    fake.add("demo-iris", {L.MANAGED_BY: L.MANAGED_BY_VALUE, L.PROJECT: "demo",
                           L.INSTANCE: "iris"})
    p.down()
    assert lock_calls(fake) == ["create_lock", "remove_lock"] and not fake.containers
