"""reconcile(desired, observed) -> Plan, with Observed snapshots built by hand, and the
plan's two renderings (golden text, JSON shape). No Docker anywhere."""
from __future__ import annotations

import hashlib
import json

import pytest

from irisenv.config.model import Config, Instance, Ports
from irisenv.core import desired as D
from irisenv.core import labels as L
from irisenv.core.iris_plan import IrisObserved
from irisenv.core.observed import Actual, Observed, ObservedContainer
from irisenv.core.plan import (Create, Options, Problem, Pull, Remove, Replace, Start, Wait,
                               reconcile)
from irisenv.core.render import plan_json, plan_text

CFG = Config(project="demo", instances={})
IMG = "intersystemsdc/iris-community:2025.1"
IMG_ID = "sha256:" + "a" * 64
CID = "c0ffee" + "0" * 58


def want(name="iris", **kw) -> D.DesiredContainer:
    return D.desired_container(CFG, Instance(name=name, image=IMG, **kw))


def have(d: D.DesiredContainer, *, id=CID, state="running", image_id=IMG_ID, name=None,
         spec=None, hash=None, fmt=None, actual=None) -> ObservedContainer:
    """A container as Docker would list it, labelled as irisenv labels ``d``."""
    labels = dict(d.labels)
    if spec is not None:
        labels[L.SPEC] = D.canonical(spec)
        labels[L.CONFIG_HASH] = D.spec_hash(spec)
    if hash is not None:
        labels[L.CONFIG_HASH] = hash
    if fmt is not None:
        labels[L.HASH_FORMAT] = fmt
    return ObservedContainer(id=id, name=name or d.name, state=state, labels=labels,
                             image_id=image_id, actual=actual)


def real(memory=2 * 1024**3, nano_cpus=0, ip="127.0.0.1", superserver=None, web=None,
         ports=None, mounts=None) -> Actual:
    """A container's real settings as `docker inspect` gives them (by default: what irisenv
    creates for the default spec, "auto" ports)."""
    if ports is None:
        ports = (("1972/tcp", ip, superserver), ("52773/tcp", ip, web))
    return Actual(memory=memory, nano_cpus=nano_cpus, ports=tuple(ports), mounts=mounts or {})


def obs(*containers, images=None, ready=(), foreign=None) -> Observed:
    return Observed(project="demo", containers=tuple(containers),
                    image_ids={IMG: IMG_ID} if images is None else images,
                    foreign_by_name=foreign or {}, iris={cid: IrisObserved() for cid in ready})


def kinds(plan) -> list[str]:
    return [s.kind for s in plan.steps]


def nonzero(counts: dict) -> dict:
    """The non-zero plan counts (the set of count keys may grow; zeros say nothing)."""
    return {k: v for k, v in counts.items() if v}


# ---------------------------------------------------------------- fresh project
def test_empty_with_image_missing_pulls_creates_waits():
    d = want()
    plan = reconcile([d], obs(images={IMG: None}))
    assert kinds(plan) == ["pull", "create", "wait"]
    assert plan.steps[0] == Pull(IMG)
    assert plan.steps[1].desired is d
    assert plan.has_changes
    assert nonzero(plan.counts()) == {"pull": 1, "add": 1}


def test_empty_with_image_present_does_not_pull():
    plan = reconcile([want()], obs())
    assert kinds(plan) == ["create", "wait"]


def test_no_wait_option_drops_waits():
    plan = reconcile([want()], obs(), Options(wait=False))
    assert kinds(plan) == ["create"]


def test_one_pull_for_two_instances_sharing_an_image():
    plan = reconcile([want("a"), want("b")], obs(images={IMG: None}))
    assert kinds(plan) == ["pull", "create", "wait", "create", "wait"]
    assert [s.desired.instance for s in plan.steps if isinstance(s, Create)] == ["a", "b"]
    assert plan.counts()["add"] == 2


# ---------------------------------------------------------------- converged
def test_converged_running_and_seen_ready_is_a_no_op():
    d = want()
    plan = reconcile([d], obs(have(d), ready={CID}))
    assert plan.steps == [] and plan.notes == [] and plan.problems == []
    assert not plan.has_changes


def test_converged_but_not_seen_ready_only_waits():
    d = want()
    plan = reconcile([d], obs(have(d)))
    assert kinds(plan) == ["wait"]
    assert not plan.has_changes  # a wait is not a change
    assert plan_text(plan) == "No changes. Project demo matches the config.\n"


def test_converged_not_ready_without_wait_is_empty():
    d = want()
    assert reconcile([d], obs(have(d)), Options(wait=False)).steps == []


@pytest.mark.parametrize("state", ["exited", "paused", "restarting"])
def test_not_running_is_started(state):
    d = want()
    c = have(d, state=state)
    plan = reconcile([d], obs(c, ready={CID}))
    assert kinds(plan) == ["start", "wait"]
    assert plan.steps[0] == Start(d, c)
    assert plan.counts()["start"] == 1



@pytest.mark.parametrize("reuse", ["matching", "always"])
def test_created_never_started_is_replaced(reuse):
    """A sync killed between create and copying files in leaves a "created" container
    whose files may be missing: it is made anew, not started (even with reuse=always)."""
    d = want(reuse=reuse)
    c = have(d, state="created")
    plan = reconcile([d], obs(c, ready={CID}))
    assert kinds(plan)[:2] == ["replace", "wait"]
    assert plan.steps[0].changes == () and "never started" in plan.steps[0].reasons[0]

# ---------------------------------------------------------------- drift
def test_memory_drift_replaces_with_field_change():
    d_old = want()
    d_new = want(memory=4 * 1024**3)
    c = have(d_old)
    plan = reconcile([d_new], obs(c, ready={CID}))
    assert kinds(plan) == ["replace", "wait"]
    step = plan.steps[0]
    assert isinstance(step, Replace) and step.container is c and step.desired is d_new
    assert step.changes == (("memory", 2 * 1024**3, 4 * 1024**3),)
    assert step.reasons == ()


def test_several_field_changes_are_listed_sorted():
    c = have(want())
    plan = reconcile([want(memory=4 * 1024**3, storage="volume", cpus=2.0)], obs(c))
    assert [k for k, _, _ in plan.steps[0].changes] == ["cpus", "memory", "storage"]


def test_image_id_behind_the_tag_moved_replaces():
    d = want()
    old_id = "sha256:" + "b" * 64
    plan = reconcile([d], obs(have(d, image_id=old_id), ready={CID}))
    assert kinds(plan) == ["replace", "wait"]
    assert plan.steps[0].changes == (("image id", old_id[:19], IMG_ID[:19]),)


def test_missing_local_image_does_not_count_as_image_drift():
    d = want()
    plan = reconcile([d], obs(have(d), images={IMG: None}, ready={CID}))
    assert kinds(plan) == ["pull"]  # no replace: an absent tag is not a moved tag
    assert plan.has_changes  # but pulling changes Docker: --detailed-exitcode says 2
    assert "Plan: 1 to pull, 0 to add" in plan_text(plan)


def test_reuse_never_replaces_every_time():
    d = want(reuse="never")
    plan = reconcile([d], obs(have(d), ready={CID}))
    assert kinds(plan) == ["replace", "wait"]
    assert plan.steps[0].changes == ()
    assert any("never" in r for r in plan.steps[0].reasons)


def test_reuse_always_keeps_drift_and_notes_it():
    c = have(want())
    d = want(reuse="always", memory=4 * 1024**3)
    plan = reconcile([d], obs(c, ready={CID}))
    assert plan.steps == []
    assert not plan.has_changes
    assert plan.notes == ['iris: drift kept (reuse = "always"): memory 2g -> 4g']


def test_reuse_always_still_starts_a_stopped_container():
    c = have(want(), state="exited")
    plan = reconcile([want(reuse="always", memory=4 * 1024**3)], obs(c))
    assert kinds(plan) == ["start", "wait"]
    assert len(plan.notes) == 1


def test_reuse_always_keeps_a_hash_format_change_too():
    d = want(reuse="always")
    plan = reconcile([d], obs(have(d, fmt="0", hash="0" * 64), ready={CID}))
    assert plan.steps == []
    assert plan.notes == ['iris: drift kept (reuse = "always")']


def test_recreate_beats_reuse_always():
    d = want(reuse="always")
    plan = reconcile([d], obs(have(d), ready={CID}), Options(recreate=True))
    assert kinds(plan) == ["replace", "wait"]
    assert plan.steps[0].reasons == ("--recreate was given",)
    assert plan.notes == []


def test_recreate_on_converged():
    d = want()
    plan = reconcile([d], obs(have(d), ready={CID}), Options(recreate=True))
    assert kinds(plan) == ["replace", "wait"]


def test_hash_format_change_with_same_spec_replaces_with_reason():
    d = want()
    plan = reconcile([d], obs(have(d, fmt="0", hash="0" * 64), ready={CID}))
    assert kinds(plan) == ["replace", "wait"]
    step = plan.steps[0]
    assert step.changes == ()
    assert step.reasons == (f"spec hash format 0 -> {D.HASH_FORMAT} (irisenv upgrade)",)


def test_containers_of_hash_format_1_are_replaced_once_with_the_reason():
    """Format 1 wrote a single routines=N into the first-boot merge, which IRIS raises to
    80 MB below 80 MB (the default is 64m); format 2 writes the six-value form. A container
    made by the earlier release does not have the cache its spec says: it is replaced, and
    the plan says why (docs/learnings/memory.md)."""
    d = want()
    old = hashlib.sha256(D.canonical({"format": "1", "spec": d.spec}).encode()).hexdigest()
    plan = reconcile([d], obs(have(d, fmt="1", hash=old), ready={CID}))
    assert kinds(plan) == ["replace", "wait"]
    assert plan.steps[0].changes == ()
    assert plan.steps[0].reasons == ("spec hash format 1 -> 2 (irisenv upgrade)",)


def test_unreadable_spec_label_still_replaces():
    d = want(memory=4 * 1024**3)
    c = have(want())
    c = ObservedContainer(id=c.id, name=c.name, state=c.state,
                          labels={**c.labels, L.SPEC: "{not json"}, image_id=IMG_ID)
    plan = reconcile([d], obs(c))
    assert kinds(plan) == ["replace", "wait"]
    assert plan.steps[0].changes[0][0] == "spec"


# ---------------------------------------------------------------- orphans and leftovers
def test_orphan_is_noted_and_kept():
    d = want()
    orphan = have(want("old"), id="b" * 64)
    plan = reconcile([d], obs(have(d), orphan, ready={CID}))
    assert plan.steps == []
    assert plan.notes == ["orphan container demo-old: instance 'old' is no longer in the config "
                          "(kept; --remove-orphans removes it)"]


def test_orphan_removed_with_remove_orphans():
    d = want()
    orphan = have(want("old"), id="b" * 64)
    plan = reconcile([d], obs(have(d), orphan, ready={CID}), Options(remove_orphans=True))
    assert plan.steps == [Remove(orphan, "instance 'old' is no longer in the config")]
    assert plan.counts()["remove"] == 1 and plan.notes == []


def test_leftover_temp_container_of_an_instance_is_removed():
    d = want()
    tmp = have(d, id="d" * 64, state="created", name=L.temp_name("demo", "iris"))
    plan = reconcile([d], obs(have(d), tmp, ready={CID}))
    assert plan.steps == [Remove(tmp, "left over from an interrupted sync")]


def test_temp_container_alone_is_removed_and_the_instance_created():
    d = want()
    tmp = have(d, id="d" * 64, state="created", name=L.temp_name("demo", "iris"))
    plan = reconcile([d], obs(tmp))
    assert kinds(plan) == ["remove", "create", "wait"]


@pytest.mark.parametrize("state", ["removing", "dead"])
def test_gone_container_is_treated_as_absent(state):
    d = want()
    c = have(d, state=state)
    plan = reconcile([d], obs(c, ready={CID}))
    assert kinds(plan) == ["remove", "create", "wait"]
    assert plan.steps[0] == Remove(c, f"container is {state}")
    # the remove comes before the create of the same name
    assert plan.for_instance("iris") == plan.steps


# ---------------------------------------------------------------- foreign containers
def test_foreign_container_holding_the_name_is_a_problem_and_nothing_is_created():
    d = want()
    foreign = ObservedContainer(id="f" * 64, name=d.name, state="running", labels={})
    plan = reconcile([d], obs(images={IMG: None}, foreign={d.name: foreign}))
    assert plan.steps == []  # no create, and no pull for it either
    assert len(plan.problems) == 1
    p = plan.problems[0]
    assert isinstance(p, Problem) and p.instance == "iris"
    assert "not created by irisenv" in p.what and "ffffffffffff" in p.why
    assert "docker rm -f demo-iris" in p.fix


def test_foreign_problem_does_not_block_other_instances():
    a, b = want("a"), want("b")
    foreign = ObservedContainer(id="f" * 64, name=a.name, state="running")
    plan = reconcile([a, b], obs(foreign={a.name: foreign}))
    assert [p.instance for p in plan.problems] == ["a"]
    assert [(s.kind, s.desired.instance) for s in plan.steps] == [("create", "b"), ("wait", "b")]


def test_foreign_name_is_ignored_when_our_container_holds_the_name():
    d = want()
    foreign = ObservedContainer(id="f" * 64, name=d.name, state="running")
    plan = reconcile([d], obs(have(d), foreign={d.name: foreign}, ready={CID}))
    assert plan.steps == [] and plan.problems == []


# ---------------------------------------------------------------- several instances
def test_two_instances_are_planned_independently():
    a_old, b = want("a"), want("b")
    a_new = want("a", memory=1024**3)
    ca = have(a_old, id="1" * 64)
    cb = have(b, id="2" * 64, state="exited")
    plan = reconcile([a_new, b], obs(ca, cb, ready={"1" * 64, "2" * 64}))
    assert [(s.kind, (s.desired.instance)) for s in plan.steps] == [
        ("replace", "a"), ("wait", "a"), ("start", "b"), ("wait", "b")]
    assert nonzero(plan.counts()) == {"start": 1, "replace": 1}
    assert [s.kind for s in plan.for_instance("b")] == ["start", "wait"]


def test_reconcile_is_pure():
    d = want()
    o = obs(have(d, state="exited"))
    assert kinds(reconcile([d], o)) == kinds(reconcile([d], o))
    assert o.containers[0].state == "exited"


# ---------------------------------------------------------------- golden plan text
def test_golden_text_create():
    plan = reconcile([want()], obs(images={IMG: None}))
    assert plan_text(plan) == """\
irisenv will perform these actions for project demo:

  # image intersystemsdc/iris-community:2025.1 is not present and will be pulled
  + image intersystemsdc/iris-community:2025.1

  # instance iris will be created
  + container demo-iris
      image:   intersystemsdc/iris-community:2025.1
      ports:   127.0.0.1:auto->1972, 127.0.0.1:auto->52773
      memory:  2g
      storage: ephemeral

Plan: 1 to pull, 1 to add, 0 to start, 0 to replace, 0 to remove.
"""


def test_golden_text_create_with_options():
    d = D.desired_container(CFG, Instance(
        name="db", image=IMG, memory=4 * 1024**3, cpus=1.5, storage="volume",
        ports=__import__("irisenv.config.model", fromlist=["Ports"]).Ports(
            superserver=41972, web=False, host_ip="0.0.0.0")))
    assert plan_text(reconcile([d], obs())) == """\
irisenv will perform these actions for project demo:

  # instance db will be created
  + container demo-db
      image:   intersystemsdc/iris-community:2025.1
      ports:   0.0.0.0:41972->1972
      memory:  4g, cpus 1.5
      storage: volume

Plan: 1 to add, 0 to start, 0 to replace, 0 to remove.
"""


def test_golden_text_replace_with_field_lines():
    plan = reconcile([want(memory=4 * 1024**3, env={"TZ": "UTC"})], obs(have(want())))
    assert plan_text(plan) == """\
irisenv will perform these actions for project demo:

  # instance iris must be replaced
-/+ container demo-iris (c0ffee000000)
      ~ env: {} -> {TZ=UTC}   # forces replacement
      ~ memory: 2g -> 4g   # forces replacement

Plan: 0 to add, 0 to start, 1 to replace, 0 to remove.
"""


def test_golden_text_replace_with_reason():
    d = want(reuse="never")
    assert plan_text(reconcile([d], obs(have(d), ready={CID}))) == """\
irisenv will perform these actions for project demo:

  # instance iris must be replaced
-/+ container demo-iris (c0ffee000000)
      # reuse = "never": a fresh container every sync

Plan: 0 to add, 0 to start, 1 to replace, 0 to remove.
"""


def test_golden_text_start():
    d = want()
    assert plan_text(reconcile([d], obs(have(d, state="exited"), ready={CID}))) == """\
irisenv will perform these actions for project demo:

  # instance iris is exited and will be started
  ~ container demo-iris (c0ffee000000)

Plan: 0 to add, 1 to start, 0 to replace, 0 to remove.
"""


def test_golden_text_orphan_note():
    d = want()
    orphan = have(want("old"), id="b" * 64)
    assert plan_text(reconcile([d], obs(have(d), orphan, ready={CID}))) == """\
No changes. Project demo differs from the config only in what the notes below keep as it is.
note: orphan container demo-old: instance 'old' is no longer in the config (kept; --remove-orphans removes it)
"""


def test_golden_text_orphan_removed():
    d = want()
    orphan = have(want("old"), id="b" * 64)
    plan = reconcile([d], obs(have(d), orphan, ready={CID}), Options(remove_orphans=True))
    assert plan_text(plan) == """\
irisenv will perform these actions for project demo:

  # instance 'old' is no longer in the config
  - container demo-old (bbbbbbbbbbbb)

Plan: 0 to add, 0 to start, 0 to replace, 1 to remove.
"""


def test_golden_text_no_changes():
    d = want()
    assert plan_text(reconcile([d], obs(have(d), ready={CID}))) == (
        "No changes. Project demo matches the config.\n")


def test_golden_text_problem():
    d = want()
    foreign = ObservedContainer(id="f" * 64, name=d.name, state="running")
    assert plan_text(reconcile([d], obs(foreign={d.name: foreign}))) == """\
irisenv will perform these actions for project demo:

  ! instance iris: a container named demo-iris exists and was not created by irisenv
      why: container ffffffffffff has no io.irisenv labels; irisenv never modifies or removes containers it did not create
      fix: remove or rename it yourself (docker rm -f demo-iris), or set [project] name to another value

Blocked: 1 problem(s) must be fixed first.
"""


# ---------------------------------------------------------------- plan_json
def test_name_taken_by_another_irisenv_project_is_a_problem():
    d = want()
    other = ObservedContainer(id="f" * 64, name=d.name, state="running",
                              labels={L.MANAGED_BY: L.MANAGED_BY_VALUE, L.PROJECT: "demo-x",
                                      L.INSTANCE: "iris"})
    plan = reconcile([d], Observed(project="demo", image_ids={IMG: IMG_ID},
                                   foreign_by_name={d.name: other}))
    assert [s.kind for s in plan.steps] == []
    assert "taken by irisenv project 'demo-x'" in plan.problems[0].what
    assert "irisenv down --project demo-x" in plan.problems[0].fix


def test_plan_json_shape():
    d_new = want(memory=4 * 1024**3)
    orphan = have(want("old"), id="b" * 64, state="exited")
    plan = reconcile([d_new], obs(have(want()), orphan, images={IMG: None}),
                     Options(remove_orphans=True))
    doc = plan_json(plan)
    json.dumps(doc)  # serializable as is
    assert nonzero(doc.pop("summary")) == {"pull": 1, "replace": 1, "remove": 1}
    assert doc == {
        "format_version": "1",
        "project": "demo",
        "changes": True,
        "steps": [
            {"action": "pull", "cause": "the image is not present on the engine", "image": IMG,
             "newer_digest": None},
            {"action": "replace", "cause": "memory", "instance": "iris", "name": "demo-iris",
             "hash": d_new.hash,
             "container_id": CID, "state": "running",
             "changes": [{"field": "memory", "old": 2 * 1024**3, "new": 4 * 1024**3,
                          "source": "label"}],
             "reasons": []},
            {"action": "remove", "cause": "instance 'old' is no longer in the config",
             "container_id": "b" * 64, "name": "demo-old", "instance": "old",
             "state": "exited", "reason": "instance 'old' is no longer in the config"},
        ],
        "waits": ["iris"],
        "notes": [],
        "problems": [],
    }


def test_plan_json_no_changes_and_problems():
    d = want()
    assert plan_json(reconcile([d], obs(have(d), ready={CID})))["changes"] is False
    foreign = ObservedContainer(id="f" * 64, name=d.name, state="running")
    doc = plan_json(reconcile([d], obs(foreign={d.name: foreign})))
    assert doc["steps"] == [] and doc["changes"] is False
    assert [set(p) for p in doc["problems"]] == [{"instance", "what", "why", "fix"}]
    json.dumps(doc)


def test_wait_steps_are_never_changes():
    d = want()
    c = have(d)
    plan = reconcile([d], obs(c))
    assert plan.steps == [Wait(d, c)] and plan.changes == []


# ---------------------------------------------------------------- namespace drops destroy data
def _iris_case(storage: str, options: Options = Options()):
    """Instance iris (storage as given) declares APP; IRIS shows APP and OLD, both made by
    irisenv: OLD was removed from the config."""
    from irisenv.core.iris_plan import IrisDesired, IrisObserved
    from irisenv.core.iris_record import DECLARED, NamespaceRecord

    d = want(storage=storage)
    iris = {"iris": IrisDesired("iris", "_SYSTEM", ("APP",), True, storage)}
    seen = IrisObserved(records={n: NamespaceRecord(DECLARED) for n in ("APP", "OLD")},
                        namespaces={"APP": True, "OLD": True}, callin=True, user_exists=True, user_change_required=False,
                        user_enabled=True, password_ok=True, system_change_required=False)
    o = Observed(project="demo", containers=(have(d),), image_ids={IMG: IMG_ID},
                 iris={CID: seen})
    return reconcile([d], o, options, iris)


def test_golden_text_namespace_on_a_volume_is_kept_without_the_flag():
    plan = _iris_case("volume")
    assert not plan.has_changes and nonzero(plan.counts()) == {}
    assert plan_text(plan) == """\
No changes. Project demo differs from the config only in what the notes below keep as it is.
note: iris: namespace OLD is no longer declared but kept: the instance's storage is a durable \
volume and dropping the namespace deletes its databases (`irisenv sync --drop-namespaces` \
drops it; declare it again to keep it for good)
"""


def test_golden_text_namespace_on_a_volume_is_destroyed_with_the_flag():
    plan = _iris_case("volume", Options(drop_namespaces=True))
    assert nonzero(plan.counts()) == {"destroy": 1}
    assert plan_text(plan) == """\
irisenv will perform these actions for project demo:

  # instance iris will be updated in place
  ~ iris demo-iris
      - namespace OLD and its databases (created by irisenv, no longer declared): its data \
will be lost

Plan: 0 to add, 0 to start, 0 to replace, 1 to destroy, 0 to remove.
"""
    assert plan_json(plan)["summary"]["destroy"] == 1
    assert plan_json(plan)["steps"][0]["destroys"] == ["OLD"]


def test_namespace_on_ephemeral_storage_is_dropped_and_counted_as_a_destroy():
    plan = _iris_case("ephemeral")
    assert nonzero(plan.counts()) == {"destroy": 1}
    assert plan.notes == []
    assert "1 to destroy" in plan_text(plan)


def test_replacing_a_volume_instance_foresees_the_drop_and_keeps_it_without_the_flag():
    """A replace carries the volume's IRIS state over: the kept namespace is noted before
    the replace, and with the flag the drop is shown and counted."""
    from irisenv.core.iris_plan import IrisDesired, IrisObserved
    from irisenv.core.iris_record import DECLARED, NamespaceRecord
    from irisenv.core.plan import ConvergeWhenReady as Converge

    old, new = want(storage="volume"), want(storage="volume", memory=4 * 1024**3)
    iris = {"iris": IrisDesired("iris", "_SYSTEM", ("APP",), True, "volume")}
    seen = IrisObserved(records={n: NamespaceRecord(DECLARED) for n in ("APP", "OLD")},
                        namespaces={"APP": True, "OLD": True})
    o = Observed(project="demo", containers=(have(old),), image_ids={IMG: IMG_ID},
                 volumes=frozenset({L.volume_name("demo", "iris")}),
                 iris={CID: seen})
    kept = reconcile([new], o, Options(), iris)
    assert any("namespace OLD is no longer declared but kept" in n for n in kept.notes)
    assert next(s for s in kept.steps if isinstance(s, Converge)).destroys == ()
    assert kept.counts()["destroy"] == 0
    dropped = reconcile([new], o, Options(drop_namespaces=True), iris)
    conv = next(s for s in dropped.steps if isinstance(s, Converge))
    assert conv.drop_durable and [a.name for a in conv.destroys] == ["OLD"]
    assert nonzero(dropped.counts()) == {"replace": 1, "destroy": 1}
    assert "- namespace OLD" in plan_text(dropped)


def test_golden_text_no_changes_but_drift_kept_says_so():
    d_old, d_new = want(reuse="always"), want(reuse="always", memory=4 * 1024**3)
    text = plan_text(reconcile([d_new], obs(have(d_old), ready={CID})))
    assert text.startswith("No changes. Project demo differs from the config only in what the "
                           "notes below keep as it is.\n")
    assert 'note: iris: drift kept (reuse = "always"): memory 2g -> 4g' in text
# ---------------------------------------------------------------- drift the labels cannot see
# The labels say what irisenv asked for; `docker inspect` says what the container has.
def actual_plan(d, actual, **kw):
    return reconcile([d], obs(have(d, actual=actual), ready={CID}), **kw)


def test_real_settings_matching_the_config_are_no_drift():
    d = want()
    assert actual_plan(d, real()).steps == []
    # "auto" takes whatever port Docker assigned, even one written as a number
    assert actual_plan(d, real(superserver=41000, web=41001)).steps == []
    d = want(cpus=1.5, storage="volume")
    assert actual_plan(d, real(nano_cpus=1_500_000_000,
                               mounts={"/irisenv-data": "volume demo-iris-data"})).steps == []


def test_an_auto_port_other_than_the_registrys_lease_is_no_drift():
    """The lease is outside the spec and its hash: a container published elsewhere (made
    before the registry, or leased before the entry was lost) is kept, not replaced."""
    import dataclasses

    leased = dataclasses.replace(want(), host_ports={"superserver": 42001, "web": 42002})
    assert leased.hash == want().hash
    assert actual_plan(leased, real(superserver=33442, web=None)).steps == []
    assert actual_plan(leased, real(superserver=42001, web=42002)).steps == []


def test_memory_changed_by_docker_update_is_drift_and_forces_replacement():
    d = want()
    plan = actual_plan(d, real(memory=1024**3))
    assert kinds(plan) == ["replace", "wait"]
    step = plan.steps[0]
    assert step.changes == () and step.reasons == ()
    assert step.actual == (("memory", 1024**3, 2 * 1024**3),)
    assert plan_text(plan) == """\
irisenv will perform these actions for project demo:

  # instance iris must be replaced
-/+ container demo-iris (c0ffee000000)
      ~ memory (container): 1g -> 2g   # forces replacement

Plan: 0 to add, 0 to start, 1 to replace, 0 to remove.
"""


def test_copied_labels_on_a_container_published_on_every_interface_is_drift():
    d = want()
    plan = actual_plan(d, real(ip="0.0.0.0", superserver=1972, web=None))
    assert plan.steps[0].actual == (("host_ip", "0.0.0.0", "127.0.0.1"),)
    assert "      ~ host_ip (container): 0.0.0.0 -> 127.0.0.1   # forces replacement" \
        in plan_text(plan).splitlines()


@pytest.mark.parametrize("kw,actual,expected", [
    # a fixed port must be that port; the real one was another
    (dict(ports=Ports(superserver=51972)), real(superserver=51000),
     ("superserver", "51000", 51972)),
    # web = false: nothing may be published on 52773
    (dict(ports=Ports(web=False)), real(),
     ("web", "auto", False)),
    # web wanted, but the container publishes only the superserver
    ({}, real(ports=(("1972/tcp", "127.0.0.1", None),)),
     ("web", "(not published)", "auto")),
    # anything else published
    ({}, real(ports=(("1972/tcp", "127.0.0.1", None), ("52773/tcp", "127.0.0.1", None),
                     ("22/tcp", "0.0.0.0", 2222))),
     ("ports", "0.0.0.0:2222->22/tcp", "(only 1972 and 52773)")),
    ({}, real(memory=0), ("memory", None, 2 * 1024**3)),
    (dict(cpus=2.0), real(), ("cpus", None, 2.0)),
    ({}, real(nano_cpus=500_000_000), ("cpus", 0.5, None)),
    (dict(storage="volume"), real(), ("storage", "(no mounts)", "volume demo-iris-data at /irisenv-data")),
    (dict(storage="tmpfs"), real(mounts={"/irisenv-data": "volume other"}),
     ("storage", "volume other at /irisenv-data", "tmpfs at /irisenv-data")),
    ({}, real(mounts={"/home/irisowner": "bind /home/me"}),
     ("storage", "bind /home/me at /home/irisowner", "(no mounts)")),
])
def test_each_real_setting_that_differs_is_reported(kw, actual, expected):
    d = want(**kw)
    c = have(d, actual=actual)  # labels match the config: only the real settings differ
    plan = reconcile([d], obs(c, ready={CID}))
    assert plan.steps[0].actual == (expected,)
    assert plan.steps[0].changes == ()


def test_anonymous_volumes_of_the_image_are_not_drift():
    d = want()
    anon = "volume " + "e" * 64
    assert actual_plan(d, real(mounts={"/usr/irissys/mgr": anon})).steps == []


def test_a_field_the_label_diff_names_is_not_repeated_as_container_drift():
    c = have(want(), actual=real())  # an honest 2g container
    plan = reconcile([want(memory=4 * 1024**3)], obs(c, ready={CID}))
    assert plan.steps[0].changes == (("memory", 2 * 1024**3, 4 * 1024**3),)
    assert plan.steps[0].actual == ()


def test_reuse_always_keeps_container_drift_and_notes_it():
    d = want(reuse="always")
    plan = actual_plan(d, real(memory=1024**3))
    assert plan.steps == []
    assert plan.notes == ['iris: drift kept (reuse = "always"): memory (container) 1g -> 2g']
    assert kinds(actual_plan(d, real(memory=1024**3), options=Options(recreate=True))) == [
        "replace", "wait"]


def test_container_drift_in_plan_json():
    d = want()
    doc = plan_json(actual_plan(d, real(memory=1024**3)))
    assert doc["steps"][0]["changes"] == [{"field": "memory", "old": 1024**3,
                                           "new": 2 * 1024**3, "source": "container"}]


def test_without_real_settings_only_labels_count():
    """Containers not inspected (actual None) keep today's label-only comparison."""
    d = want()
    assert reconcile([d], obs(have(d), ready={CID})).steps == []


# ---------------------------------------------------------------- a declared init, before IRIS answers
def _with_init(storage="ephemeral"):
    """Instance iris declares APP (an init of 3 entries) and OTHER (none)."""
    from irisenv.core.init import Item, NamespaceInit, digest_of
    from irisenv.core.iris_plan import IrisDesired

    items = (Item("code", "src/A.cls", sha="1" * 64), Item("sql", "sql/s.sql", sha="2" * 64),
             Item("run", run="##class(A).B()"))
    ni = NamespaceInit("APP", items, digest_of(items))
    return {"iris": IrisDesired("iris", "_SYSTEM", ("APP", "OTHER"), True, storage, (ni,))}, ni


def test_golden_text_create_names_the_inits_phase_two_applies():
    iris, _ = _with_init()
    plan = reconcile([want()], obs(), Options(), iris)
    assert plan_text(plan) == """\
irisenv will perform these actions for project demo:

  # instance iris will be created
  + container demo-iris
      image:   intersystemsdc/iris-community:2025.1
      ports:   127.0.0.1:auto->1972, 127.0.0.1:auto->52773
      memory:  2g
      storage: ephemeral

  # instance iris: IRIS-level state converged once IRIS is ready
  ~ iris demo-iris
      namespaces: APP (init: 3 entries), OTHER; %Service_CallIn: enabled; user _SYSTEM \
verified

Plan: 1 to add, 0 to start, 0 to replace, 0 to remove.
"""
    (step,) = plan_json(plan)["steps"][1:]
    assert step["namespaces"] == ["APP", "OTHER"]
    assert step["inits"] == [{"namespace": "APP", "entries": 3, "certain": True}]


def test_a_started_container_applies_its_init_only_unless_already_applied():
    """A stopped container keeps IRIS's state: the init is applied unless its record shows
    it applied (IRIS cannot be asked before the start)."""
    iris, _ = _with_init()
    d = want()
    plan = reconcile([d], obs(have(d, state="exited")), Options(), iris)
    assert ("namespaces: APP (init: 3 entries, unless already applied), OTHER;"
            in plan_text(plan))
    assert plan_json(plan)["steps"][1]["inits"] == [
        {"namespace": "APP", "entries": 3, "certain": False}]


def test_replacing_a_volume_instance_names_only_the_inits_its_iris_needs():
    """A volume carries IRIS's record over a replace: what the running IRIS shows decides."""
    from irisenv.core.iris_record import DECLARED, NamespaceRecord

    iris, ni = _with_init("volume")
    old, new = want(storage="volume"), want(storage="volume", memory=4 * 1024**3)

    def plan_for(init_field):
        seen = IrisObserved(records={n: NamespaceRecord(DECLARED, 5, "sync", init_field if n == "APP" else "")
                                     for n in ("APP", "OTHER")},
                            namespaces={"APP": True, "OTHER": True})
        o = Observed(project="demo", containers=(have(old),), image_ids={IMG: IMG_ID},
                     volumes=frozenset({L.volume_name("demo", "iris")}), iris={CID: seen})
        return reconcile([new], o, Options(), iris)

    unchanged = plan_for(ni.digest)
    assert "namespaces: APP, OTHER;" in plan_text(unchanged)
    assert plan_json(unchanged)["steps"][1]["inits"] == []
    never = plan_for("")  # made by irisenv before it declared an init: initialised, no reset
    assert "namespaces: APP (init: 3 entries), OTHER;" in plan_text(never)
