"""irisenv.project.Project against the in-memory engine (fake_engine.py, behind the real
retry layer): what plan, sync and down do to the containers of a project, without Docker.

Only the public API is used (Project, Options, the engine given to Project); the fake's
container table is what a user would see with `docker ps`. IRIS inside a container is the
fake's: it comes up when a test says so (``iris_on_start``), else it never answers."""
from __future__ import annotations

import copy
import json

import pytest
from fake_engine import HEALTHY_IRIS, IMAGE, FakeEngine, actual_of  # tests/unit is on sys.path

from irisenv.config.load import parse_config
from irisenv.core import labels as L
from irisenv.core.desired import desired_container
from irisenv.core.plan import Options
from irisenv.core.runspec import run_spec
from irisenv.errors import IrisenvError, TransientError
from irisenv.project import Project

# the engine calls that change something; a read-only verb makes none of them
ACTS = ("pull", "create_volume", "create", "put_files", "start", "unpause", "stop", "remove",
        "rename", "remove_volume")
NO_WAIT = Options(wait=False)


pytestmark = pytest.mark.usefixtures("fast_retries")


def config(*instances: str, image: str = IMAGE, project: str = "demo"):
    text = f'[project]\nname = "{project}"\n' + "".join(
        f'[instances.{name}]\nimage = "{image}"\n' for name in instances)
    return parse_config(text, None, default_project=project)


def acts(fake: FakeEngine) -> list:
    return [entry for entry in fake.log if entry[0] in ACTS]


def ours(fake: FakeEngine) -> dict:
    """name -> container of the fake's table labelled for irisenv project demo."""
    return {c["name"]: {"id": cid, **c} for cid, c in fake.containers.items()
            if L.is_ours(c["labels"]) and c["labels"].get(L.PROJECT) == "demo"}


def converged_container(fake: FakeEngine, cfg, instance: str = "iris", *, iris=HEALTHY_IRIS) -> str:
    """A running container as a sync of ``cfg`` leaves it: irisenv's labels for the config
    (core/desired.py), the real settings they ask for, IRIS up (or not, iris=None)."""
    d = desired_container(cfg, cfg.instances[instance])
    return fake.add(d.name, d.labels, actual=actual_of(run_spec(d, d.name)), iris=iris,
                    image=IMAGE)


# ------------------------------------------------------------------ plan
def test_plan_on_an_empty_engine_creates_and_waits_for_every_instance(fake):
    plan = Project(config("a", "b"), engine=fake).plan()
    for instance in ("a", "b"):
        kinds = [s.kind for s in plan.for_instance(instance)]
        assert kinds[:2] == ["create", "wait"], kinds
        assert "replace" not in kinds and "start" not in kinds
    assert plan.problems == [] and plan.has_changes
    assert plan.counts()["add"] == 2 and plan.counts()["pull"] == 0
    assert acts(fake) == [] and fake.containers == {}  # a plan changes nothing


def test_plan_pulls_a_missing_image_once_before_anything_else(fake):
    del fake.images[IMAGE]
    plan = Project(config("a", "b"), engine=fake).plan()
    assert plan.steps[0].kind == "pull" and plan.steps[0].image == IMAGE
    assert [s.kind for s in plan.steps].count("pull") == 1
    assert plan.counts()["pull"] == 1 and plan.counts()["add"] == 2
    assert acts(fake) == []  # not pulled by the plan itself


def test_plan_of_a_converged_container_has_no_changes(fake):
    cfg = config("iris")
    cid = converged_container(fake, cfg)
    plan = Project(cfg, engine=fake).plan()
    assert plan.steps == [] and not plan.has_changes and plan.problems == []
    assert acts(fake) == [] and list(fake.containers) == [cid]


def test_plan_waits_for_a_converged_container_whose_iris_does_not_answer_yet(fake):
    """Still booting: nothing to create or replace; IRIS is waited for and converged."""
    cfg = config("iris")
    converged_container(fake, cfg, iris=None)
    plan = Project(cfg, engine=fake).plan()
    kinds = [s.kind for s in plan.steps]
    assert kinds[0] == "wait" and not {"create", "replace", "start", "pull"} & set(kinds)
    assert plan.counts()["add"] == plan.counts()["replace"] == 0


def test_plan_replaces_a_container_made_for_another_config(fake):
    """The labels decide: the same name, made for other settings, is replaced."""
    converged_container(fake, config("iris"))
    cfg = parse_config(f'[project]\nname = "demo"\n[instances.iris]\nimage = "{IMAGE}"\n'
                       'memory = "3g"\n', None, default_project="demo")
    plan = Project(cfg, engine=fake).plan()
    assert plan.counts()["replace"] == 1 and plan.counts()["add"] == 0


FOREIGN = {
    "not irisenv's": ({"com.example.owner": "someone"}, "not created by irisenv"),
    "another project's": ({L.MANAGED_BY: L.MANAGED_BY_VALUE, L.PROJECT: "other",
                           L.INSTANCE: "x"}, "taken by irisenv project 'other'"),
}


@pytest.mark.parametrize("whose", sorted(FOREIGN))
def test_a_container_of_someone_else_holding_the_name_blocks_the_sync_untouched(fake, whose):
    labels, said = FOREIGN[whose]
    foreign = fake.add("demo-iris", labels, state="running")
    before = copy.deepcopy(fake.containers)
    project = Project(config("iris"), engine=fake)
    plan = project.plan()
    assert [(p.instance, said in p.what) for p in plan.problems] == [("iris", True)]
    with pytest.raises(IrisenvError) as info:
        project.sync(NO_WAIT, timeout=5)
    assert said in info.value.what and info.value.why and info.value.fix
    assert fake.containers == before and fake.containers[foreign]["state"] == "running"
    assert acts(fake) == []


# ------------------------------------------------------------------ sync
def test_sync_no_wait_creates_and_starts_one_container_per_instance(fake):
    """IRIS never comes up in this fake: sync --no-wait returns once the containers run."""
    cfg = config("a", "b")
    outcome = Project(cfg, engine=fake).sync(NO_WAIT, timeout=5)
    made = ours(fake)
    assert sorted(made) == ["demo-a", "demo-b"] and len(fake.containers) == 2
    for inst in ("a", "b"):
        c = made[f"demo-{inst}"]
        assert c["state"] == "running"
        leased = json.loads(c["labels"].pop(L.PORTS))  # the port registry's, outside the spec
        assert c["labels"] == desired_container(cfg, cfg.instances[inst]).labels
        assert sorted(leased) == ["superserver", "web"]
        files = c["files"]  # irisenv's first-boot merge file, owned by irisowner
        assert files is not None and files.owner == 51773
        assert files.contents.get("/home/irisowner/irisenv/merge.cpf")
        log = [e[0] for e in fake.log if e[1:2] == (c["id"],)]
        assert log.index("put_files") < log.index("start"), log
    assert len(fake.calls("create")) == 2
    assert outcome.plan.counts()["add"] == 2


def test_a_second_sync_no_wait_changes_nothing(fake):
    fake.iris_on_start = HEALTHY_IRIS
    project = Project(config("a", "b"), engine=fake)
    project.sync(NO_WAIT, timeout=5)
    before = copy.deepcopy(fake.containers)
    fake.log.clear()
    outcome = project.sync(NO_WAIT, timeout=5)
    assert acts(fake) == [] and fake.containers == before
    assert not outcome.plan.has_changes


def test_sync_after_a_pull_creates_from_the_pulled_image(fake):
    del fake.images[IMAGE]
    Project(config("iris"), engine=fake).sync(NO_WAIT, timeout=5)
    assert fake.calls("pull") == [("pull", IMAGE)]
    assert [e[0] for e in acts(fake)].index("pull") < [e[0] for e in acts(fake)].index("create")
    assert ours(fake)["demo-iris"]["image"] == IMAGE


def test_a_transient_create_fault_is_retried(fake):
    fake.fail("create", TransientError("Docker did not answer", "503 Service Unavailable"))
    Project(config("iris"), engine=fake).sync(NO_WAIT, timeout=5)
    assert len(fake.calls("create")) == 2
    assert [c["state"] for c in fake.containers.values()] == ["running"]


@pytest.mark.parametrize("method", ["create", "put_files", "start"])
def test_a_terminal_fault_fails_the_sync_and_leaves_nothing_half_made(fake, method):
    fake.fail(method, IrisenvError("Docker refused the container", "the daemon said no",
                                   "check the engine"))
    with pytest.raises(IrisenvError) as info:
        Project(config("iris"), engine=fake).sync(NO_WAIT, timeout=5)
    err = info.value
    assert (err.what, err.why, err.fix) == ("Docker refused the container", "the daemon said no",
                                            "check the engine")
    assert err.exit_code == 1
    assert len(fake.calls(method)) == 1  # terminal: not retried
    assert fake.containers == {}  # nothing created and left behind


# ------------------------------------------------------------------ down
def test_down_removes_the_projects_containers_and_nothing_else(fake):
    cfg = config("a", "b")
    project = Project(cfg, engine=fake)
    project.sync(NO_WAIT, timeout=5)
    stopped = fake.add("demo-old", {L.MANAGED_BY: L.MANAGED_BY_VALUE, L.PROJECT: "demo",
                                    L.INSTANCE: "old"}, state="exited")
    foreign = fake.add("demo-web", {"com.example.owner": "someone"})
    other = fake.add("other-iris", {L.MANAGED_BY: L.MANAGED_BY_VALUE, L.PROJECT: "other",
                                    L.INSTANCE: "iris"})
    removed = project.down()
    assert sorted(removed["containers"]) == ["demo-a", "demo-b", "demo-old"]
    assert sorted(fake.containers) == sorted([foreign, other])
    assert stopped not in fake.containers
    assert not [e for e in fake.log if e[0] in ("stop", "remove") and e[1] in (foreign, other)]


def test_a_no_wait_sync_of_a_running_instance_whose_iris_still_boots_does_not_wait(fake):
    """`sync --no-wait` never waits for IRIS: not for a new container, and not for a
    running one whose IRIS has not answered yet (its IRIS-level state is left for a sync
    that waits). Before, the second of two `--no-wait` syncs waited out --timeout."""
    cfg = config("iris")
    converged_container(fake, cfg, iris=None)  # running, IRIS never answers
    project = Project(cfg, engine=fake)
    sessions_to_plan = len(fake.calls("exec"))
    project.plan(NO_WAIT)
    sessions_to_plan = len(fake.calls("exec")) - sessions_to_plan  # the plan's own probe
    before = len(fake.calls("exec"))
    outcome = project.sync(NO_WAIT, timeout=3)
    assert outcome.plan.steps == [] and acts(fake) == []  # no phase two planned, nothing done
    assert len(fake.calls("exec")) - before == sessions_to_plan  # and no session tried after
