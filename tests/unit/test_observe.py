"""The observe path's early IRIS probes (irisenv/observe.py), against the in-memory engine:
a probe starts before the container list, only in the container holding the instance's
name when it is this project's container of that instance and running, and its result is
kept only when the list shows that same container as the instance's."""
from __future__ import annotations

import threading

import pytest
from fake_engine import HEALTHY_IRIS, FakeEngine, actual_of  # tests/unit is on sys.path
from test_project_fake import FOREIGN, IMAGE, config, converged_container

from irisenv.core.desired import desired_container
from irisenv.core.runspec import run_spec
from irisenv.project import Project

WAIT = 10  # seconds a hook waits for the other thread before giving up (never reached)


def session_execs(fake: FakeEngine) -> list:
    return [e[1] for e in fake.calls("exec") if e[2][:2] == ("iris", "session")]


def test_the_probe_starts_before_the_container_list(fake):
    cfg = config("iris")
    cid = converged_container(fake, cfg)
    probing = threading.Event()
    fake.hooks["exec"] = lambda container_id, cmd: probing.set()
    seen_by_list = []
    fake.hooks["list_project"] = lambda project: seen_by_list.append(probing.wait(WAIT))
    desired, observed, plan = Project(cfg, engine=fake).survey()
    assert seen_by_list == [True]  # the probe was under way while the list ran
    assert list(observed.iris) == [cid] and observed.iris[cid].callin is True
    assert plan.steps == []


class Replacing(FakeEngine):
    """Replaces the instance's container by another (same name and labels, IRIS with
    CallIn off) right after the first probe of the old one, before the list runs."""

    def __init__(self):
        super().__init__()
        self.old = self.new = None
        self.replaced = threading.Event()
        self.hooks["list_project"] = lambda project: self.replaced.wait(WAIT)

    def exec(self, container_id, cmd, **kwargs):
        res = super().exec(container_id, cmd, **kwargs)
        if container_id == self.old and not self.replaced.is_set():
            with self.lock:
                c = self.containers.pop(self.old)
            self.new = self.add(c["name"], c["labels"], actual=c["actual"], image=c["image"],
                                iris={**HEALTHY_IRIS, "callin": "0"})
            self.replaced.set()
        return res


def test_a_probe_of_a_container_that_is_no_longer_the_instances_is_discarded():
    from fake_engine import IMG_ID

    fake = Replacing()
    fake.images[IMAGE] = IMG_ID
    cfg = config("iris")
    fake.old = converged_container(fake, cfg)
    desired, observed, plan = Project(cfg, engine=fake).survey()
    assert [c.id for c in observed.containers] == [fake.new]
    assert list(observed.iris) == [fake.new]  # the old one's answer is not kept
    assert observed.iris[fake.new].callin is False  # read from the current container
    assert session_execs(fake) == [fake.old, fake.new]
    assert [s.kind for s in plan.steps] == ["converge"]  # CallIn, on the current container


@pytest.mark.parametrize("whose", sorted(FOREIGN) + ["stopped"])
def test_no_probe_runs_in_a_container_that_is_not_this_projects_running_one(fake, whose):
    """The probe carries the instance's password: it never goes to a container of someone
    else or of another project, nor to one that is not running."""
    cfg = config("iris")
    d = desired_container(cfg, cfg.instances["iris"])
    if whose in FOREIGN:
        fake.add("demo-iris", FOREIGN[whose][0], state="running", iris=HEALTHY_IRIS)
    else:
        fake.add(d.name, d.labels, state="exited", actual=actual_of(run_spec(d, d.name)),
                 iris=HEALTHY_IRIS)
    desired, observed, plan = Project(cfg, engine=fake).survey()
    assert session_execs(fake) == [] and observed.iris == {}


# ------------------------------------------------------------------ phase two's first look
def sessions(fake: FakeEngine) -> list:
    return [e for e in fake.calls("exec") if e[2][:2] == ("iris", "session")]


def test_a_new_containers_iris_is_read_alongside_qlist_not_after_it(fake):
    """Once the log has the ready line, phase two's first probe runs while the ladder's
    qlist does (one exec's time saved on every cold sync)."""
    fake.iris_on_start = HEALTHY_IRIS
    seen_by_qlist = []

    def exec_hook(container_id, cmd):
        if cmd[:2] == ("iris", "qlist"):
            seen_by_qlist.append(any(sessions(fake)) or _session_started.wait(WAIT))
        elif cmd[:2] == ("iris", "session"):
            _session_started.set()

    _session_started = threading.Event()
    fake.hooks["exec"] = exec_hook
    Project(config("iris"), engine=fake).sync()
    assert seen_by_qlist and seen_by_qlist[0] is True
    assert len(sessions(fake)) == 1  # the first look was the observation: no second probe


def test_a_first_look_that_gets_no_session_is_followed_by_probes_until_one_answers(fake):
    from irisenv.errors import TransientError

    fake.iris_on_start = HEALTHY_IRIS
    refused = []

    def exec_hook(container_id, cmd):
        if cmd[:2] == ("iris", "session") and not refused:
            refused.append(cmd)
            raise TransientError("no session yet", "IRIS is starting", "retry")

    fake.hooks["exec"] = exec_hook
    outcome = Project(config("iris"), engine=fake).sync()
    assert refused and len(sessions(fake)) == 2
    assert [s.kind for s in outcome.plan.steps][:2] == ["create", "wait"]
