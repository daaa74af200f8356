"""A declared init that starts from a database fixture, against a real IRIS (the real-IRIS
lane: IRISENV_IRIS_IMAGE set; see tests/iris/test_real_iris.py). The stand-in's version of
this is tests/docker/test_init_from_fixture.py; here IRIS itself dismounts, mounts and lists
the globals: a fixture exported from APP, declared as `init = [{ fixture = "fixtures/app" }]`
of a namespace the same sync creates, arrives with APP's globals; an unchanged init plans
nothing; a fixture exported again is a changed init, and the next sync resets the
namespace's databases and loads it in the same container."""
from __future__ import annotations

import json
import re
import shutil

from test_real_iris import INSTANCE, SYNC_TIMEOUT, RealProject, describe, labelled_containers
from test_real_iris import real_project  # noqa: F401

SET = 'set ^IrisenvFx(1)="Ada",^IrisenvFx(2,"name")="Grace",^IrisenvFy="y"'
READ = ('write "IRISENV-T:fx=",$Get(^IrisenvFx(1)),"|",$Get(^IrisenvFx(2,"name")),"|",'
        '$Get(^IrisenvFy),!')
RECORD = 'write "IRISENV-T:rec=",$Get(^IRISENV("ns","FX")),!'
DONE = 'write "IRISENV-T:done=1",!'  # objectscript() wants a value back from every session


def _declare_fx(p: RealProject) -> None:
    p.config.write_text(p.config.read_text() + f'\n[instances.{INSTANCE}.namespaces.FX]\n'
                        'init = [{ fixture = "fixtures/app" }]\n')


def test_a_namespace_initialised_from_a_fixture_on_real_iris(real_project: RealProject):
    p = real_project
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    p.objectscript([SET, DONE], namespace="APP")
    fx = p.path / "fixtures" / "app"
    p.ok("fixture", "export", "APP", str(fx), "--instance", INSTANCE, timeout=600)
    manifest = json.loads((fx / "irisenv-fixture.json").read_text())
    assert {"^IrisenvFx", "^IrisenvFy"} <= set(manifest["globals"]), manifest["globals"]
    (cid,) = [c.id for c in labelled_containers(p.name)]

    # a namespace the same sync creates, initialised from the fixture
    _declare_fx(p)
    plan = p.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2, describe(plan)
    assert "namespace FX: initialise (1 entry)" in plan.stdout, describe(plan)
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain", timeout=900)
    assert p.objectscript([READ], namespace="FX")["fx"] == "Ada|Grace|y"
    rec = p.objectscript([RECORD])["rec"]
    assert re.fullmatch(r"[0-9a-f]{32}", rec.split("^")[3]), rec
    # IRIS lists in FX exactly the globals the manifest lists (what the load compared)
    listed = p.objectscript([
        'set ns="FX",g="",i=0 for { set g=$Order(^$|ns|GLOBAL(g)) quit:g=""  set i=i+1 '
        'write "IRISENV-T:g.",i,"=",g,! }', 'write "IRISENV-T:n=",i,!'])
    assert {v for k, v in listed.items() if k.startswith("g.")} == set(manifest["globals"]), \
        listed
    plan = p.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, describe(plan)

    # APP changed and exported again: FX's init changed, re-applied in the same container
    p.objectscript(['set ^IrisenvFx(1)="Eve"', DONE], namespace="APP")
    p.objectscript(['set ^IrisenvFx(1)="written in FX after its init"', DONE], namespace="FX")
    again = p.path / "again"
    p.ok("fixture", "export", "APP", str(again), "--instance", INSTANCE, timeout=600)
    shutil.rmtree(fx)
    shutil.copytree(again, fx)
    plan = p.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2, describe(plan)
    assert "namespace FX: init changed (fixtures/app)" in plan.stdout, describe(plan)
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain", timeout=900)
    assert p.objectscript([READ], namespace="FX")["fx"] == "Eve|Grace|y"
    assert [c.id for c in labelled_containers(p.name)] == [cid]
    assert p.run("plan", "--detailed-exitcode").returncode == 0
    p.finished = True
