"""The executor against a fake engine with fault injection: retries of transient faults
(bounded), clean-up after terminal ones, 409 handling, replace order, parallelism.

The fake (fake_engine.py) keeps an in-memory container table and a call log; faults are
queued per method. It sits behind the real retry layer. Timing is never asserted: concurrency is proven with a barrier."""
from __future__ import annotations

import threading
import time

import pytest
from fake_engine import IMG, IMG_ID, FakeEngine  # tests/unit is on sys.path

from irisenv import apply
from irisenv.apply import Executor
from irisenv.config.model import Config, Instance, Ports
from irisenv.core import desired as D
from irisenv.core import labels as L
from irisenv.core.iris_plan import IrisObserved
from irisenv.core.observed import Observed
from irisenv.core.plan import Options, Replace, reconcile
from irisenv.engine import retry
from irisenv.errors import ConflictError, IrisenvError, PortInUseError, TransientError
from irisenv.iris.readiness import Readiness
from irisenv.report import QuietReporter

pytestmark = pytest.mark.usefixtures("fast_retries")


def want(name="iris", project="demo", **kw) -> D.DesiredContainer:
    return D.desired_container(Config(project=project, instances={}),
                               Instance(name=name, image=IMG, **kw))


class FakeWait:
    def __init__(self, engine, fake):
        self.engine, self.fake = engine, fake
        self.seen: list = []

    def __call__(self, engine, cid, timeout, *, instance="", image="", session_probe=True):
        assert engine is self.engine
        c = self.fake.containers.get(cid)
        assert c is not None and c["state"] == "running", f"waited on {cid} in state {c}"
        self.seen.append((instance, cid))
        return Readiness(monitor="ok", version="2025.1")


def executor(fake, **kw):
    """The executor on the fake engine behind the retry layer, as open_engine() gives it."""
    engine = retry.with_retries(fake)
    waiter = FakeWait(engine, fake)
    return Executor(engine, QuietReporter(), wait_ready=waiter, **kw), waiter


def observe(engine, project="demo", ready=()) -> Observed:
    ours = tuple(engine.observed(cid) for cid, c in engine.containers.items()
                 if L.is_ours(c["labels"]) and c["labels"].get(L.PROJECT) == project)
    return Observed(project=project, containers=ours, image_ids={IMG: IMG_ID},
                    iris={cid: IrisObserved() for cid in ready})


def only_container(engine, name="demo-iris") -> dict:
    assert len(engine.containers) == 1, engine.containers
    [(cid, c)] = engine.containers.items()
    assert c["name"] == name
    return {"id": cid, **c}


# ---------------------------------------------------------------- happy path
def test_create_from_scratch():
    eng = FakeEngine()
    d = want()
    ex, waiter = executor(eng)
    result = ex.run(reconcile([d], observe(eng)))
    c = only_container(eng)
    assert c["state"] == "running" and c["labels"] == d.labels
    assert result.errors == {} and result.ready == {"iris": c["id"]}
    assert [e[0] for e in eng.log] == ["create", "put_files", "start"]
    assert waiter.seen == [("iris", c["id"])]


def test_pull_runs_before_anything_else():
    eng = FakeEngine()
    plan = reconcile([want("a"), want("b")],
                     Observed(project="demo", image_ids={IMG: None}))
    ex, _ = executor(eng)
    result = ex.run(plan)
    assert eng.log[0] == ("pull", IMG) and len(eng.calls("pull")) == 1
    assert set(result.ready) == {"a", "b"}


def test_volume_storage_creates_the_volume_first():
    eng = FakeEngine()
    ex, _ = executor(eng)
    ex.run(reconcile([want(storage="volume")], observe(eng)))
    assert eng.log[0] == ("create_volume", "demo-iris-data")
    assert eng.volume_names == {"demo-iris-data"}


def test_start_a_stopped_container_keeps_its_id():
    eng = FakeEngine()
    d = want()
    cid = eng.add(d.name, d.labels, state="exited")
    ex, waiter = executor(eng)
    result = ex.run(reconcile([d], observe(eng)))
    assert result.ready == {"iris": cid} and eng.containers[cid]["state"] == "running"
    assert eng.calls("create") == []


def test_paused_container_is_unpaused_not_started():
    eng = FakeEngine()
    d = want()
    cid = eng.add(d.name, d.labels, state="paused")
    ex, _ = executor(eng)
    assert ex.run(reconcile([d], observe(eng))).errors == {}
    assert eng.calls("unpause") == [("unpause", cid)] and eng.calls("start") == []


def test_wait_only_uses_the_current_container():
    eng = FakeEngine()
    d = want()
    cid = eng.add(d.name, d.labels)
    ex, waiter = executor(eng)
    result = ex.run(reconcile([d], observe(eng)))
    assert result.ready == {"iris": cid} and waiter.seen == [("iris", cid)]
    assert not eng.calls("create") and not eng.calls("start")


# ---------------------------------------------------------------- transient faults
def test_transient_errors_on_create_and_start_are_retried():
    eng = FakeEngine()
    eng.fail("create", TransientError("engine blinked", "502"))
    eng.fail("start", TransientError("engine blinked", "503"), TransientError("again", "503"))
    ex, _ = executor(eng)
    result = ex.run(reconcile([want()], observe(eng)))
    assert result.errors == {}
    c = only_container(eng)
    assert c["state"] == "running"
    assert len(eng.calls("create")) == 2 and len(eng.calls("start")) == 3


def test_a_permanently_transient_fault_gives_up_after_bounded_attempts():
    eng = FakeEngine()
    eng.fail("create", *[TransientError("engine down", "connection refused")] * 50)
    ex, _ = executor(eng)
    result = ex.run(reconcile([want()], observe(eng)))
    assert len(eng.calls("create")) == retry.RETRY_ATTEMPTS == 3
    assert isinstance(result.errors["iris"], TransientError)
    assert result.errors["iris"].what == "engine down"
    assert result.ready == {} and eng.containers == {}


def test_a_permanently_failing_start_leaves_nothing_behind():
    eng = FakeEngine()
    eng.fail("start", *[TransientError("engine down", "x")] * 50)
    ex, _ = executor(eng)
    result = ex.run(reconcile([want()], observe(eng)))
    assert len(eng.calls("start")) == 3
    assert "iris" in result.errors and eng.containers == {}


def test_errors_are_per_instance():
    eng = FakeEngine()
    eng.hooks["create"] = lambda name: (_ for _ in ()).throw(
        IrisenvError("disk full", "no space")) if name == "demo-bad" else None
    ex, _ = executor(eng)
    result = ex.run(reconcile([want("good"), want("bad")], observe(eng)))
    assert set(result.errors) == {"bad"} and set(result.ready) == {"good"}
    assert [c["name"] for c in eng.containers.values()] == ["demo-good"]


# ---------------------------------------------------------------- terminal faults
def test_port_clash_on_start_removes_the_new_container_and_is_not_retried():
    eng = FakeEngine()
    clash = IrisenvError("port 41972 is already allocated", "another process listens on it",
                         "pick another port")
    eng.fail("start", clash)
    ex, waiter = executor(eng)
    result = ex.run(reconcile([want()], observe(eng)))
    assert result.errors == {"iris": clash}
    assert len(eng.calls("start")) == 1
    [(_, created)] = [(e[0], e[1]) for e in eng.calls("put_files")]
    assert eng.calls("remove") == [("remove", created)]
    assert eng.containers == {} and waiter.seen == []


def test_failed_file_copy_removes_the_new_container():
    eng = FakeEngine()
    eng.fail("put_files", IrisenvError("copy failed", "bad tar"))
    ex, _ = executor(eng)
    result = ex.run(reconcile([want()], observe(eng)))
    assert "iris" in result.errors and eng.containers == {}
    assert eng.calls("start") == []


# ---------------------------------------------------------------- 409 on create
def test_a_conflict_on_create_ends_the_instance_and_touches_nothing():
    """The executor decides nothing about a name taken meanwhile: the instance's steps end
    with the ConflictError (the orchestrator plans again: tests/unit/test_sync_replan.py)
    and the container holding the name is not touched."""
    eng = FakeEngine()
    d = want()
    plan = reconcile([d], observe(eng))  # planned before someone else made the name
    other = eng.add(d.name, d.labels, state="created")
    ex, waiter = executor(eng)
    result = ex.run(plan)
    assert isinstance(result.errors["iris"], ConflictError)
    assert eng.containers[other]["state"] == "created" and waiter.seen == []
    assert [e for e in eng.log if e[0] != "create"] == []


# ---------------------------------------------------------------- replace
def test_replace_order():
    eng = FakeEngine()
    old_d = want()
    old = eng.add(old_d.name, old_d.labels)
    d = want(memory=4 * 1024**3, stop_timeout=7.0)
    plan = reconcile([d], observe(eng, ready={old}))
    assert isinstance(plan.steps[0], Replace)
    ex, waiter = executor(eng)
    result = ex.run(plan)
    assert result.errors == {}
    c = only_container(eng)
    new = c["id"]
    tmp = L.temp_name("demo", "iris")
    assert eng.log == [
        ("create", tmp),
        ("put_files", new),
        ("stop", old, 7.0),
        ("remove", old),
        ("rename", new, "demo-iris"),
        ("start", new),
    ]
    assert c["labels"][L.CONFIG_HASH] == d.hash and c["state"] == "running"
    assert result.ready == {"iris": new} and waiter.seen == [("iris", new)]


def test_replace_after_an_interrupted_replace_removes_the_leftover_first():
    """A replace killed after making its temporary container leaves it behind: the next
    plan removes it (a step of its own, in the instance's order) before the replace."""
    eng = FakeEngine()
    old_d = want()
    old = eng.add(old_d.name, old_d.labels)
    d = want(memory=4 * 1024**3)
    stale = eng.add(L.temp_name("demo", "iris"), d.labels, state="created")
    plan = reconcile([d], observe(eng, ready={old}))
    assert [s.kind for s in plan.steps][:2] == ["remove", "replace"]
    ex, _ = executor(eng)
    assert ex.run(plan).errors == {}
    assert eng.log[0] == ("remove", stale)
    only_container(eng)


def test_replace_failing_to_stop_the_old_keeps_it_and_drops_the_new():
    eng = FakeEngine()
    old_d = want()
    old = eng.add(old_d.name, old_d.labels)
    eng.fail("stop", IrisenvError("cannot stop", "permission denied"))
    ex, _ = executor(eng)
    result = ex.run(reconcile([want(memory=4 * 1024**3)], observe(eng)))
    assert "iris" in result.errors
    assert list(eng.containers) == [old] and eng.containers[old]["name"] == "demo-iris"


def test_replace_retries_a_transient_stop():
    eng = FakeEngine()
    old_d = want()
    old = eng.add(old_d.name, old_d.labels)
    eng.fail("stop", TransientError("timeout", "engine slow"))
    ex, _ = executor(eng)
    assert ex.run(reconcile([want(memory=4 * 1024**3)], observe(eng))).errors == {}
    assert len(eng.calls("stop")) == 2 and old not in eng.containers


# ---------------------------------------------------------------- remove
def test_gone_container_is_removed_before_the_name_is_reused():
    """A dead container still holds its name: its removal must finish before the create."""
    eng = FakeEngine()
    d = want()
    dead = eng.add(d.name, d.labels, state="dead")
    eng.hooks["remove"] = lambda cid: time.sleep(0.05)  # the engine takes its time
    ex, _ = executor(eng)
    result = ex.run(reconcile([d], observe(eng)))
    assert result.errors == {}
    c = only_container(eng)
    assert c["id"] != dead and c["state"] == "running"
    names = [e[0] for e in eng.log]
    assert names.index("remove") < names.index("create")


def test_orphan_removal_stops_then_removes():
    eng = FakeEngine()
    keep = want()
    kid = eng.add(keep.name, keep.labels)
    orphan = eng.add("demo-old", want("old").labels)
    ex, _ = executor(eng)
    result = ex.run(reconcile([keep], observe(eng, ready={kid}), Options(remove_orphans=True)))
    assert result.errors == {}
    assert eng.log == [("stop", orphan, None), ("remove", orphan)]
    assert list(eng.containers) == [kid]


def test_orphan_removal_failure_is_reported_by_container():
    eng = FakeEngine()
    orphan = eng.add("demo-old", want("old").labels, state="exited")
    eng.fail("remove", *[IrisenvError("cannot remove", "in use")] * 3)
    ex, _ = executor(eng)
    result = ex.run(reconcile([], observe(eng), Options(remove_orphans=True)))
    assert list(result.errors) == [orphan]


# ---------------------------------------------------------------- parallelism
def test_two_instances_run_in_parallel():
    eng = FakeEngine()
    barrier = threading.Barrier(2, timeout=5)
    eng.hooks["start"] = lambda cid: barrier.wait()  # both must be in start at once
    ex, _ = executor(eng)
    result = ex.run(reconcile([want("a"), want("b")], observe(eng)))
    assert result.errors == {}, result.errors
    assert set(result.ready) == {"a", "b"}
    assert not barrier.broken


def test_steps_of_one_instance_stay_in_order_while_another_fails():
    eng = FakeEngine()
    eng.hooks["create"] = lambda name: (_ for _ in ()).throw(
        IrisenvError("boom", "x")) if name == "demo-a" else None
    ex, _ = executor(eng)
    result = ex.run(reconcile([want("a"), want("b")], observe(eng)))
    assert set(result.errors) == {"a"}
    b_calls = [e[0] for e in eng.log if e[0] != "create" or e[1] == "demo-b"]
    assert b_calls[-3:] == ["create", "put_files", "start"]


# ---------------------------------------------------------------- port clashes
# Docker assigns an "auto" port when the container starts; another program can take that
# port first (seen with Docker Desktop's port forwarding). This engine (20.10) retries such
# a clash by itself, so a real engine cannot be made to show it: the fake raises it.
def clash(port=40001):
    return PortInUseError(f"host port {port} is already in use",
                          f"Docker could not publish it: 0.0.0.0:{port}: bind: address "
                          "already in use", f'stop whatever holds port {port}, or set that '
                          'port to "auto" or another number in iris-devtester.toml', port=port)


def test_a_clash_on_an_auto_port_creates_the_container_again():
    eng = FakeEngine()
    eng.fail("start", clash(40001), clash(40002))
    ex, waiter = executor(eng)
    result = ex.run(reconcile([want()], observe(eng)))
    assert result.errors == {}
    c = only_container(eng)
    assert c["state"] == "running" and result.ready == {"iris": c["id"]}
    assert len(eng.calls("create")) == 3 and len(eng.calls("start")) == 3
    assert len(eng.calls("remove")) == 2  # each clashed container was discarded


def test_an_auto_port_that_keeps_clashing_fails_with_a_fix_that_fits():
    eng = FakeEngine()
    eng.fail("start", *[clash(40000 + i) for i in range(10)])
    ex, waiter = executor(eng)
    result = ex.run(reconcile([want()], observe(eng)))
    err = result.errors["iris"]
    assert len(eng.calls("start")) == apply.PORT_ATTEMPTS
    assert "Docker picked" in err.what and '"auto"' in err.what
    assert 'set that port to "auto"' not in err.fix  # it already was
    assert "irisenv sync" in err.fix and "ss -ltnp" in err.fix
    assert eng.containers == {} and waiter.seen == []


def test_a_clash_on_a_fixed_port_is_not_retried_and_keeps_its_message():
    eng = FakeEngine()
    eng.fail("start", clash(41972))
    ex, _ = executor(eng)
    result = ex.run(reconcile([want(ports=Ports(superserver=41972))], observe(eng)))
    assert len(eng.calls("create")) == 1 and eng.containers == {}
    assert result.errors["iris"].what == "host port 41972 is already in use"
    assert '"auto"' in result.errors["iris"].fix  # the way out for a fixed port


def test_a_clash_on_the_auto_port_beside_a_fixed_one_is_retried():
    eng = FakeEngine()
    eng.fail("start", clash(40001))
    ex, _ = executor(eng)
    result = ex.run(reconcile([want(ports=Ports(superserver=41972))], observe(eng)))
    assert result.errors == {} and len(eng.calls("create")) == 2


def test_a_clash_on_an_auto_port_during_replace_is_retried():
    eng = FakeEngine()
    d_old, d_new = want(), want(memory=3 * 1024**3)
    eng.add(d_old.name, d_old.labels)
    eng.fail("start", clash())
    ex, _ = executor(eng)
    result = ex.run(reconcile([d_new], observe(eng)))
    assert result.errors == {}
    c = only_container(eng)
    assert c["labels"] == d_new.labels and c["state"] == "running"


def test_a_clash_on_an_auto_port_when_restarting_a_stopped_container_is_retried():
    eng = FakeEngine()
    d = want()
    cid = eng.add(d.name, d.labels, state="exited")
    eng.fail("start", clash())
    ex, _ = executor(eng)
    result = ex.run(reconcile([d], observe(eng)))
    assert result.errors == {} and result.ready == {"iris": cid}
    assert len(eng.calls("start")) == 2 and eng.calls("create") == []
