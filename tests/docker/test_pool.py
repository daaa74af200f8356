"""The namespace pool against real Docker and the stand-in (docs/pool.md; tests/standin/
README.md, "The namespace pool"): a sync with a pool creates the copies from the template's
initialised data, a dirty copy is reset to it, a changed init rebuilds the copies, status
shows the counts."""
from __future__ import annotations

import json
import re

from helpers import describe
from pool_docker import SEED, record, session, table, values, write_project


def test_a_sync_with_a_pool_creates_copies_of_the_initialised_template(project):
    write_project(project)
    out = project.ok("sync", "--timeout", "60")
    c = project.container()
    for copy in ("APP_P1", "APP_P2"):
        v = values(c, copy)
        assert v["seed"] == "two" and v["cls"] == "1", (copy, v, out.stdout)
        rec = record(c, copy)
        assert rec[0] == "pool" and rec[2] == "APP", rec
        assert rec[3] == record(c, "APP")[3] and re.fullmatch(r"[0-9a-f]{32}", rec[3]), rec
    t = table(project).read()
    assert t.counts("iris/APP")["clean"] == 2, t
    assert t.templates["iris/APP"].container == c.id
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_a_dirty_copy_is_reset_to_the_templates_data(project):
    write_project(project)
    project.ok("sync", "--timeout", "60")
    c = project.container()
    t = table(project)
    got = t.lease("iris/APP", timeout=5)
    name = got.copy.split("/")[1]
    session(c, name, 'set ^Dirty=1 set ^Seed("a",2)="changed"')
    session(c, "APP", "set ^Dirty=2")  # the live template: never leaks into a copy
    assert values(c, name)["dirty"] == "1"
    t.release(got.copy)
    assert t.read().copies[got.copy].state == "dirty"
    project.ok("sync", "--timeout", "60")
    v = values(c, name)
    assert v == {"seed": "two", "dirty": "", "cls": "1"}, v
    assert t.read().copies[got.copy].state == "clean"


def test_reset_copies_and_create_copy_for_the_lease_and_resetter(project):
    from irisenv.config import load
    from irisenv.core import init
    from irisenv.core.iris_plan import IrisDesired
    from irisenv.engine import open_engine
    from irisenv.iris import pool

    write_project(project)
    project.ok("sync", "--timeout", "60")
    c = project.container()
    cfg = load.load_config(project.config_path)
    inst = cfg.instance("iris")
    d = IrisDesired.of(inst, init.declared(inst))
    digest = d.pools[0].digest
    engine = open_engine(default=cfg.engine)
    session(c, "APP_P1", "set ^Dirty=1")
    said = pool.reset_copies(engine, c.id, d, [("iris/APP_P1", "iris/APP", digest)])
    assert said == {"iris/APP_P1": ""}
    assert values(c, "APP_P1")["dirty"] == ""
    pool.create_copy(engine, c.id, d, "iris/APP_P3", "iris/APP", digest)
    assert values(c, "APP_P3")["seed"] == "two" and record(c, "APP_P3")[3] == digest
    # a master that the template does not hold cannot be made: said, not raised
    said = pool.reset_copies(engine, c.id, d, [("iris/APP_P2", "iris/APP", "0" * 32)])
    assert "no master" in said["iris/APP_P2"], said


def test_a_changed_init_rebuilds_the_copies(project):
    write_project(project)
    project.ok("sync", "--timeout", "60")
    c = project.container()
    session(c, "APP_P2", "set ^Dirty=1")
    (project.path / "data" / "seed.gof").write_text(SEED.format(v="three"))
    project.ok("sync", "--timeout", "60")
    assert project.container().id == c.id
    new = record(c, "APP")[3]
    for copy in ("APP_P1", "APP_P2"):
        v = values(c, copy)
        assert v["seed"] == "three" and v["dirty"] == "", (copy, v)
        assert record(c, copy)[3] == new
    t = table(project).read()
    assert t.counts("iris/APP")["clean"] == 2 and t.templates["iris/APP"].init == new


def test_a_smaller_pool_drops_copies_but_not_a_leased_one(project):
    write_project(project, pool="{ min = 2, max = 3 }")
    project.ok("sync", "--timeout", "60")
    c = project.container()
    t = table(project)
    held = t.lease("iris/APP", timeout=5).copy
    write_project(project, pool="1")
    out = project.ok("sync", "--timeout", "60")
    left = {n for n in ("APP_P1", "APP_P2") if record(c, n)}
    assert left == {"APP_P1", held.split("/")[1]}, describe(out)
    t.release(held)


def test_status_shows_the_pool_counts(project):
    write_project(project)
    project.ok("sync", "--timeout", "60")
    t = table(project)
    t.lease("iris/APP", timeout=5)
    text = project.ok("status").stdout
    assert "APP pool: 1 clean, 1 leased" in text, text
    data = json.loads(project.ok("status", "--json").stdout)
    pools = data["instances"][0]["pools"]
    assert pools["APP"]["clean"] == 1 and pools["APP"]["leased"] == 1, pools
    assert pools["APP"]["dirty"] == 0, pools


def test_the_standin_file_calls_the_pool_uses(project):
    project.ok("sync", "--timeout", "60")
    c = project.container()
    out = session(c, "%SYS", "\n".join([
        'write "mk=",##class(%File).CreateDirectoryChain("/tmp/p/q"),!',
        'write "missing=",##class(%Library.File).CopyFile("/tmp/p/none","/tmp/p/q/x"),!',
        'write "ex0=",##class(%File).Exists("/tmp/p/q/x"),!',
        'write "cp=",##class(%File).CopyFile("/etc/hostname","/tmp/p/q/x"),!',
        'write "ex1=",##class(%File).Exists("/tmp/p/q/x"),!']))
    assert dict(re.findall(r"^(\w+)=(.*)$", out, re.M)) == {
        "mk": "1", "missing": "0", "ex0": "0", "cp": "1", "ex1": "1"}, out


def test_a_replaced_container_gets_its_copies_made_and_reset_again(project):
    write_project(project)
    project.ok("sync", "--timeout", "60")
    old = project.container()
    old.remove(force=True)
    project.ok("sync", "--timeout", "60")
    c = project.container()
    assert c.id != old.id
    for copy in ("APP_P1", "APP_P2"):
        assert values(c, copy)["seed"] == "two", copy
    t = table(project).read()
    assert t.counts("iris/APP")["clean"] == 2 and t.templates["iris/APP"].container == c.id
