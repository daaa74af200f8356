"""The pull policy (instances.<name>.pull, sync/plan --pull): what the pure planner makes of
the registry's answer about a tag, and what plan, sync and status ask of the engine for it
(the in-memory engine, fake_engine.py). No Docker: tests/docker/test_image_registry.py runs the
same paths against a real registry."""
from __future__ import annotations

import pytest
from fake_engine import HEALTHY_IRIS, IMG_ID, FakeEngine, actual_of  # tests/unit is on sys.path

from irisenv.config.load import parse_config
from irisenv.config.model import Config, Instance
from irisenv.core import desired as D
from irisenv.core.iris_plan import IrisObserved
from irisenv.core.observed import Observed, ObservedContainer, TagCheck
from irisenv.core.plan import Options, Pull, reconcile, tags_to_check
from irisenv.core.render import plan_json, plan_text
from irisenv.core.runspec import run_spec
from irisenv.errors import RegistryError
from irisenv.project import Project

CFG = Config(project="demo", instances={})
IMG = "registry.example.com/team/iris:dev"
CID = "c0ffee" + "0" * 58
OLD = "sha256:" + "1" * 64  # the manifest digest the local image was pulled by
NEW = "sha256:" + "2" * 64  # the one the registry has behind the tag now
NEW_ID = "sha256:" + "b" * 64  # the image ID the new manifest pulls as


def want(name="iris", image=IMG, **kw) -> D.DesiredContainer:
    return D.desired_container(CFG, Instance(name=name, image=image, **kw))


def running(d: D.DesiredContainer) -> ObservedContainer:
    return ObservedContainer(id=CID, name=d.name, state="running", labels=dict(d.labels),
                             image_id=IMG_ID)


def seen(*containers, image_id=IMG_ID, registry=None) -> Observed:
    return Observed(project="demo", containers=tuple(containers), image_ids={IMG: image_id},
                    iris={c.id: IrisObserved() for c in containers}, registry=registry or {})


def moved() -> dict:
    return {IMG: TagCheck(local=(OLD,), digest=NEW)}


def kinds(plan) -> list[str]:
    return [s.kind for s in plan.steps]


# ---------------------------------------------------------------- the pure planner
def test_a_moved_tag_with_pull_always_is_a_pull_then_a_visible_replace():
    d = want(pull="always")
    plan = reconcile([d], seen(running(d), registry=moved()))
    assert kinds(plan) == ["pull", "replace", "wait"]
    assert plan.steps[0] == Pull(IMG, NEW)
    assert plan.steps[1].changes == (("image digest", OLD[:19], NEW[:19]),)
    assert {k: v for k, v in plan.counts().items() if v} == {"pull": 1, "replace": 1}
    text = plan_text(plan)
    assert f"+ image {IMG} (newer behind the tag: {NEW[:19]})" in text
    assert f'-/+ container demo-iris ({CID[:12]})' in text
    assert f'~ image digest: "{OLD[:19]}" -> "{NEW[:19]}"   # forces replacement' in text
    steps = plan_json(plan)["steps"]
    assert steps[0]["action"] == "pull" and steps[0]["newer_digest"] == NEW
    assert "newer image is behind the tag" in steps[0]["cause"]


def test_a_tag_that_did_not_move_is_no_change():
    d = want(pull="always")
    plan = reconcile([d], seen(running(d), registry={IMG: TagCheck(local=(OLD, NEW), digest=NEW)}))
    assert plan.steps == [] and plan.notes == [] and plan.problems == []


def test_pull_missing_ignores_what_the_registry_says_and_pull_flag_asks_it():
    d = want()  # pull = "missing", the default
    assert reconcile([d], seen(running(d), registry=moved())).steps == []
    plan = reconcile([d], seen(running(d), registry=moved()), Options(pull=True))
    assert kinds(plan) == ["pull", "replace", "wait"]


def test_a_moved_tag_without_a_container_pulls_then_creates():
    d = want(pull="always")
    plan = reconcile([d], seen(registry={IMG: TagCheck(local=(), digest=NEW)}))
    assert kinds(plan) == ["pull", "create", "wait"] and plan.steps[0].newer == NEW


def test_a_moved_tag_shared_by_two_instances_is_pulled_once_and_replaces_both():
    a, b = want("a", pull="always"), want("b", pull="always")
    ca = running(a)
    cb = ObservedContainer(id="d" * 64, name=b.name, state="running", labels=dict(b.labels),
                           image_id=IMG_ID)
    plan = reconcile([a, b], seen(ca, cb, registry=moved()))
    assert kinds(plan) == ["pull", "replace", "wait", "replace", "wait"]


def test_a_moved_tag_replaces_every_container_on_it_whatever_their_own_policy():
    """The pull an "always" instance asks for moves the tag for all: an instance with
    "missing" on the same image is replaced in the same plan, not one sync later."""
    a, b = want("a", pull="always"), want("b")
    cb = ObservedContainer(id="d" * 64, name=b.name, state="running", labels=dict(b.labels),
                           image_id=IMG_ID)
    for order in ([a, b], [b, a]):
        plan = reconcile(order, seen(running(a), cb, registry=moved()))
        assert sorted(s.desired.instance for s in plan.steps if s.kind == "replace") == ["a", "b"]
        assert [s.kind for s in plan.steps].count("pull") == 1


def test_reuse_always_keeps_the_container_but_pulls_the_moved_tag_with_a_note():
    d = want(pull="always", reuse="always")
    plan = reconcile([d], seen(running(d), registry=moved()))
    assert kinds(plan) == ["pull"]
    assert 'drift kept (reuse = "always"): image digest' in plan.notes[0]


def test_pull_never_makes_an_absent_image_a_problem_and_pulls_nothing():
    d = want(pull="never")
    plan = reconcile([d], seen(image_id=None))
    assert plan.steps == []
    (p,) = plan.problems
    assert p.what == f'image {IMG} is not present on the engine, and pull = "never"'
    assert f"docker pull {IMG}" in p.fix and 'pull = "missing"' in p.fix
    # --pull does not override it: the image never comes from a registry
    plan = reconcile([d], seen(image_id=None), Options(pull=True))
    assert plan.steps == [] and len(plan.problems) == 1


def test_pull_flag_notes_an_instance_whose_policy_is_never():
    d = want(pull="never")
    plan = reconcile([d], seen(running(d), registry=moved()), Options(pull=True))
    assert plan.steps == []
    assert plan.notes == [f'iris: pull = "never": --pull does not check image {IMG}']


def test_an_unreachable_registry_keeps_the_local_image_with_a_note():
    d = want(pull="always")
    check = TagCheck(local=(OLD,), reason="unreachable",
                     what=f"cannot check image {IMG}: registry registry.example.com cannot "
                          "be reached", why="dial tcp: connection refused", fix="start it")
    plan = reconcile([d], seen(running(d), registry={IMG: check}))
    assert plan.steps == [] and plan.problems == []
    (note,) = plan.notes
    assert "cannot be reached" in note and f"the local image {IMG_ID[:19]} is used" in note
    assert "dial tcp: connection refused" in note
    assert not plan.has_changes


@pytest.mark.parametrize("reason", ["missing", "denied"])
def test_a_tag_the_registry_does_not_serve_is_a_problem_with_its_fix(reason):
    d = want(pull="always")
    check = TagCheck(local=(OLD,), reason=reason, what=f"cannot check image {IMG}: {reason}",
                     why="the registry's words", fix="do this")
    plan = reconcile([d], seen(running(d), registry={IMG: check}))
    assert plan.steps == []
    (p,) = plan.problems
    assert (p.what, p.why) == (check.what, "the registry's words")
    assert p.fix.startswith("do this; or set pull = \"missing\"")


def test_only_always_tags_are_checked_and_never_a_digest():
    pinned = "registry.example.com/team/iris@sha256:" + "3" * 64
    desired = [want("a", pull="always"), want("b"), want("c", pull="never"),
               want("d", image=pinned, pull="always")]
    assert tags_to_check(desired, Options()) == [IMG]
    assert tags_to_check([want("b"), want("c", pull="never")], Options()) == []
    assert tags_to_check([want("b"), want("c", pull="never")], Options(pull=True)) == [IMG]


# ---------------------------------------------------------------- plan, sync, status
pytestmark = pytest.mark.usefixtures("fast_retries")


@pytest.fixture
def fake() -> FakeEngine:
    eng = FakeEngine()
    eng.images[IMG] = IMG_ID
    eng.digests[IMG] = (OLD,)
    eng.iris_on_start = HEALTHY_IRIS
    return eng


def config(pull: str | None = None):
    text = f'[project]\nname = "demo"\n[instances.iris]\nimage = "{IMG}"\n'
    if pull is not None:
        text += f'pull = "{pull}"\n'
    return parse_config(text, None, default_project="demo")


def converged(fake: FakeEngine, cfg) -> str:
    d = D.desired_container(cfg, cfg.instances["iris"])
    return fake.add(d.name, d.labels, actual=actual_of(run_spec(d, d.name)), iris=HEALTHY_IRIS,
                    image=IMG)


def registry_calls(fake: FakeEngine) -> list:
    return fake.calls("registry_digest") + fake.calls("image_digests")


def test_a_no_op_plan_and_sync_with_pull_missing_never_ask_the_registry(fake):
    fake.registry[IMG] = (NEW, NEW_ID)  # the tag moved: "missing" must not find out
    cfg = config()
    converged(fake, cfg)
    project = Project(cfg, engine=fake)
    assert not project.plan().has_changes
    assert not project.sync().plan.has_changes
    assert registry_calls(fake) == [] and fake.calls("pull") == []


def test_sync_with_pull_always_pulls_the_moved_tag_and_replaces_onto_the_new_image(fake):
    fake.registry[IMG] = (NEW, NEW_ID)
    cfg = config("always")
    old = converged(fake, cfg)
    project = Project(cfg, engine=fake)
    plan = project.plan()
    assert kinds(plan)[:2] == ["pull", "replace"]
    assert fake.calls("registry_digest") == [("registry_digest", IMG)]  # one round trip
    assert fake.calls("pull") == []  # plan reads only
    outcome = project.sync()
    assert outcome.plan.counts()["replace"] == 1
    order = [e[0] for e in fake.log if e[0] in ("pull", "create", "stop")]
    assert order[:2] == ["pull", "create"]  # the new image is there before the container
    (cid,) = fake.by_name("demo-iris")
    assert cid != old and fake.containers[cid]["image_id"] == NEW_ID
    again = project.plan()
    assert not again.has_changes and again.notes == []


def test_sync_pull_flag_checks_a_pull_missing_instance_for_this_run_only(fake):
    fake.registry[IMG] = (NEW, NEW_ID)
    cfg = config()
    converged(fake, cfg)
    project = Project(cfg, engine=fake)
    assert not project.plan().has_changes
    assert project.sync(Options(pull=True)).plan.counts()["pull"] == 1
    assert fake.containers[fake.by_name("demo-iris")[0]]["image_id"] == NEW_ID


def test_an_absent_image_is_pulled_without_asking_the_registry_first(fake):
    del fake.images[IMG]
    plan = Project(config("always"), engine=fake).plan()
    assert kinds(plan)[0] == "pull" and plan.steps[0].newer is None
    assert registry_calls(fake) == []


def test_a_registry_that_does_not_answer_is_a_note_in_plan_and_sync(fake):
    cfg = config("always")
    converged(fake, cfg)
    fake.fail("registry_digest", RegistryError(
        "unreachable", f"cannot check image {IMG}: registry registry.example.com cannot be "
        "reached", "dial tcp: connection refused", "start the registry"))
    events = []

    class Reporter:
        def event(self, kind, message, **fields):
            events.append((kind, message))

        def close(self):
            pass

    outcome = Project(cfg, engine=fake).sync(reporter=Reporter())
    assert not outcome.plan.has_changes
    assert any(k == "note" and "cannot be reached" in m for k, m in events)


def test_status_never_asks_the_registry(fake):
    from irisenv.cli.status_cmd import collect

    fake.registry[IMG] = (NEW, NEW_ID)
    cfg = config("always")
    converged(fake, cfg)
    rows = collect(Project(cfg, engine=fake))
    assert rows[0]["state"] == "running"
    assert registry_calls(fake) == []
