"""The pool on the plan side (irisenv/core/pool_plan.py): which copies a sync creates or
drops, recorded as kind pool with the template's init hash; the IRIS diff leaves them alone."""
from pathlib import Path

from irisenv.config.load import parse_config
from irisenv.core import pool_plan as pp
from irisenv.core.iris_plan import IrisDesired, IrisObserved, diff
from irisenv.core.iris_record import DECLARED, POOL, NamespaceRecord, RecordChanges

NOW = 1_800_000_000.0
APP = pp.PoolSpec("APP", 2, 4, "h1")


def rec(init="h1"):
    return NamespaceRecord(DECLARED, 1_700_000_000, "sync", init)


def copy(template="APP", init="h1"):
    return NamespaceRecord(POOL, 1_700_000_000, template, init)


def seen(records, exists=None):
    return IrisObserved(records=records, observed_at=NOW,
                        namespaces=exists if exists is not None else dict.fromkeys(records, True))


def test_the_config_gives_each_pooled_namespace_a_spec_with_its_init_hash():
    cfg = parse_config("[instances.iris.namespaces.APP]\npool = { min = 2, max = 4 }\n"
                       "[instances.iris.namespaces.B]\npool = 3\n[instances.iris.namespaces.C]\n",
                       Path("/p/iris-devtester.toml"), environ={})

    class Init:
        digest = "h1"

    assert pp.specs(cfg.instance(), {"APP": Init()}) == (
        pp.PoolSpec("APP", 2, 4, "h1"), pp.PoolSpec("B", 3, 3, pp.MASTER_EMPTY))


def test_an_initialised_template_gets_its_missing_copies_up_to_min():
    o = seen({"APP": rec(), "APP_P2": copy()})
    assert pp.pool_actions((APP,), o) == (pp.CreatePoolCopy("APP_P1", "APP", "h1"),)


def test_no_copy_before_the_template_is_initialised_unless_this_plan_does_it():
    for o in (seen({"APP": rec("pending")}), seen({"APP": rec("h0")}),
              seen({"APP": rec()}, {"APP": False}), seen({})):
        assert pp.pool_actions((APP,), o) == ()
    o = seen({"APP": rec("h0")})
    assert [a.name for a in pp.pool_actions((APP,), o, frozenset({"APP"}))] == ["APP_P1", "APP_P2"]


def test_a_template_without_init_is_ready_once_it_exists():
    spec = pp.PoolSpec("APP", 1, 1)
    assert pp.pool_actions((spec,), seen({"APP": rec("")})) == (
        pp.CreatePoolCopy("APP_P1", "APP", pp.MASTER_EMPTY),)


def test_copies_above_max_and_of_a_gone_pool_are_dropped_unless_held():
    o = seen({"APP": rec(), "APP_P1": copy(), "APP_P2": copy(), "APP_P5": copy(),
              "APP_P6": copy(), "OLD_P1": copy("OLD"), "OLD_P2": copy("OLD")})
    acts = pp.pool_actions((APP,), o, held=frozenset({"APP_P6", "OLD_P2"}))
    assert acts == (pp.DropPoolCopy("APP_P5", "APP"), pp.DropPoolCopy("OLD_P1", "OLD"))


def test_a_stale_copy_is_not_recreated_by_the_plan():
    """Its reset to the new master is the lease table's business (dirty, then reset)."""
    o = seen({"APP": rec(), "APP_P1": copy(init="h0"), "APP_P2": copy(init="h0")})
    assert pp.pool_actions((APP,), o) == ()


def test_names_that_only_look_like_copies_are_not_copies():
    o = seen({"APP": rec(), "APP_P01": copy(), "APP_PX": copy(), "APP_P1": copy("OTHER")})
    assert pp.copies_of(o, "APP") == {}


def test_a_created_copy_is_recorded_as_kind_pool_with_its_template_and_no_master_yet():
    assert pp.CreatePoolCopy("APP_P1", "APP", "h1").record(7, "sync") == RecordChanges(
        writes=(("APP_P1", NamespaceRecord(POOL, 7, "APP", "")),))
    assert pp.DropPoolCopy("APP_P1", "APP").record(7, "sync") == RecordChanges(kills=("APP_P1",))
    assert NamespaceRecord(POOL, 7, "APP", "h1").encode() == "pool^7^APP^h1"


def test_the_iris_diff_never_drops_a_pool_copy():
    d = IrisDesired("iris", "_SYSTEM", ("APP",), True)
    o = IrisObserved(records={"APP": rec(), "APP_P1": copy(), "OLD_P1": copy("OLD")},
                     namespaces={"APP": True, "APP_P1": True, "OLD_P1": True}, callin=True,
                     user_exists=True, user_change_required=False, user_enabled=True,
                     password_ok=True, system_change_required=False, observed_at=NOW)
    assert diff(d, o) == ()


def test_the_lease_tables_view_of_the_copies():
    o = seen({"APP": rec(), "APP_P1": copy(), "APP_P3": copy(init="h0")})
    assert pp.existing(o, "APP", "iris") == {"iris/APP_P1": (1, "h1"), "iris/APP_P3": (3, "h0")}
