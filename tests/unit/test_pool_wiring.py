"""The pool wired into the plan and the IRIS side's text (docs/pool.md): plan_iris plans
copies with the template, keeps held ones, records them; converge's merge lines for a copy
map the template's code database and drop only the copy's data database; the lease table
remembers the pool's container and filters a resetter by instance; down removes it."""
from pathlib import Path

from irisenv.config.load import parse_config
from irisenv.core import leases as core
from irisenv.core import pool_plan as pp
from irisenv.core.iris_plan import CreateNamespace, IrisDesired, IrisObserved, plan_iris
from irisenv.core.iris_record import DECLARED, POOL, NamespaceRecord
from irisenv.iris import converge, pool

NOW = 1_800_000_000.0


def desired(pool_text="pool = 2"):
    cfg = parse_config(f"[instances.iris.namespaces.APP]\n{pool_text}\n",
                       Path("/p/iris-devtester.toml"), environ={})
    return IrisDesired.of(cfg.instance())


def seen(records, held=frozenset()):
    return IrisObserved(records=records, namespaces=dict.fromkeys(records, True),
                        observed_at=NOW, callin=True, user_exists=True, password_ok=True,
                        user_change_required=False, held=held)


def test_the_desired_state_carries_the_pools_of_the_config():
    assert desired().pools == (pp.PoolSpec("APP", 2, 2, pp.MASTER_EMPTY),)
    assert desired("").pools == ()


def test_plan_iris_creates_the_copies_with_a_template_it_creates_and_records_them():
    ip = plan_iris(desired(), seen({}))
    kinds = [a.kind for a in ip.actions]
    assert kinds[:1] == [CreateNamespace.kind] and kinds.count("create-pool-copy") == 2
    written = dict(ip.records.writes)
    assert written["APP_P1"].kind == POOL and written["APP_P1"].run == "APP"


def test_plan_iris_keeps_a_held_copy_of_a_smaller_pool():
    recs = {"APP": NamespaceRecord(DECLARED, 1, "sync", ""),
            **{f"APP_P{n}": NamespaceRecord(POOL, 1, "APP", "") for n in (1, 2, 3)}}
    drops = lambda held: sorted(a.name for a in plan_iris(desired("pool = 1"),  # noqa: E731
                                                          seen(recs, held)).actions
                                if a.kind == "drop-pool-copy")
    assert drops(frozenset()) == ["APP_P2", "APP_P3"]
    assert drops(frozenset({"APP_P2"})) == ["APP_P3"]


def test_a_copy_maps_the_templates_code_and_its_drop_keeps_it():
    d = desired()
    text = converge.merge_text(d, (pp.CreatePoolCopy("APP_P1", "APP", "h"),
                                   pp.DropPoolCopy("APP_P2", "APP")))
    assert "CreateNamespace:Name=APP_P1,Globals=APP_P1_DATA,Routines=APP_CODE" in text
    assert "DeleteDatabase:Name=APP_P2_DATA," in text and "APP_CODE" not in text.split(
        "DeleteNamespace")[1]
    assert converge._dropped_dirs(d, (pp.DropPoolCopy("APP_P2", "APP"),)) == [
        "/usr/irissys/mgr/irisenv/app_p2-data/"]


def test_paths_of_the_master_and_a_copy_take_table_keys_or_names():
    assert pool.master_path("ephemeral", "iris/APP", "ab12") == \
        "/usr/irissys/mgr/irisenv/app-pool/ab12/IRIS.DAT"
    assert pool.copy_dir("ephemeral", "iris/APP_P1") == pool.copy_dir("ephemeral", "APP_P1")


def test_a_bad_name_or_hash_never_reaches_a_path():
    for bad in (("APP", "../x"), ("APP", ".."), ("AP P", "h")):
        try:
            pool.master_path("ephemeral", *bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_the_table_remembers_the_pools_container():
    t = core.synced(core.EMPTY, "iris/APP", "h", 2, {}, NOW, "c0ffee")
    assert core.load(core.dump(t)).templates["iris/APP"] == core.Template("h", 2, "c0ffee")
    assert "container" not in core.dump(core.synced(core.EMPTY, "iris/APP", "h", 2, {}, NOW))


def test_a_resetter_of_one_instance_claims_only_its_copies():
    t = core.synced(core.EMPTY, "iris/APP", "h", 2, {"iris/APP_P1": (1, "")}, NOW)
    t = core.synced(t, "other/APP", "h", 2, {"other/APP_P1": (1, "")}, NOW)
    who = core.Holder(1, "h")
    _, taken = core.claim_dirty(t, who, NOW, instance="iris")
    assert taken == ("iris/APP_P1",)


def test_down_removes_the_lease_table(tmp_path, monkeypatch):
    from irisenv import down
    from irisenv.leases import LeaseTable

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("IRISENV_STATE_DIR", str(tmp_path / "state"))

    class Engine:
        endpoint = None
        removed: list = []

        def list_project(self, project):
            return [] if self.removed else [type("C", (), {"name": "p-iris", "id": "c1",
                                                          "instance": "iris",
                                                          "state": "exited",
                                                          "made_as_spare": False, "is_spare": False})()]

        def remove(self, cid):
            self.removed.append(cid)

        def volumes(self, project):
            return []

    t = LeaseTable(None, "p")
    t.synced("iris/APP", "h", 2, {"iris/APP_P1": (1, "")})
    assert t.path.exists()
    monkeypatch.setattr("irisenv.enginelock.hold", _no_hold)
    down.remove_project(Engine(), "p", volumes=False)
    assert not t.path.exists()


def _no_hold(*_a, **_k):
    from contextlib import nullcontext

    return nullcontext()


def test_the_plan_preview_of_a_new_instance_names_the_pool():
    from irisenv.core.render import _ns_with_init

    assert _ns_with_init(desired("pool = { min = 2, max = 4 }"), ()) == "APP (pool: 2 copies, up to 4)"
    assert _ns_with_init(desired("pool = 1"), ()) == "APP (pool: 1 copy)"


def _clean(t, k, init="h"):
    who = core.Holder(1, "h")
    t, _ = core.claim_dirty(t, who, NOW)
    return core.reset_done(t, k, who, init, NOW)


def test_a_clean_copy_made_again_in_a_new_container_is_dirty():
    t = _clean(core.synced(core.EMPTY, "iris/APP", "h", 2, {"iris/APP_P1": (1, "")}, NOW, "c1"),
               "iris/APP_P1")
    same = core.synced(t, "iris/APP", "h", 2, {"iris/APP_P1": (1, "h")}, NOW, "c1")
    assert same.copies["iris/APP_P1"].state == "clean"
    moved = core.synced(t, "iris/APP", "h", 2, {"iris/APP_P1": (1, "h")}, NOW, "c2")
    assert moved.copies["iris/APP_P1"].state == "dirty"
    remade = core.synced(t, "iris/APP", "h", 2, {"iris/APP_P1": (1, "")}, NOW, "c1")
    assert remade.copies["iris/APP_P1"].state == "dirty"
