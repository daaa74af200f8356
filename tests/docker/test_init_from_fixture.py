"""A declared init that starts from a database fixture, against real Docker and the stand-in
(tests/standin/): a fixture exported from one project's namespace, declared as
`init = [{ fixture = "fixtures/app" }]` in another project, arrives on sync with the same
globals, and an unchanged init plans nothing; a tampered fixture fails the sync clearly,
the namespace is left marked not initialised (nothing reported as done) and the next sync,
with the fixture restored, applies it."""
from __future__ import annotations

import shutil

import pytest
from test_fixtures import dump, session

from helpers import describe, instance_toml

INIT = '[instances.iris.namespaces.APP]\ninit = [{ fixture = "fixtures/app" }]\n'


@pytest.fixture
def exported(make_project):
    """A project whose APP holds ^Person and ^Order, exported to a fixture directory."""
    src = make_project()
    src.write(instance_toml("iris") + "\n[instances.iris.namespaces.APP]\n")
    src.ok("sync", "--timeout", "60")
    session(src.container(), "APP", 'set ^Person(1)="Ada",^Person(2,"name")="Grace",'
                                    '^Order("x")=42')
    fx = src.path / "exported"
    src.ok("fixture", "export", "APP", str(fx))
    return fx


def _declare(make_project, fx):
    dst = make_project()
    shutil.copytree(fx, dst.path / "fixtures" / "app")
    dst.write(instance_toml("iris") + "\n" + INIT)
    return dst


def test_a_namespace_declared_from_a_fixture_arrives_with_its_globals(make_project, exported):
    dst = _declare(make_project, exported)
    sync = dst.ok("sync", "--timeout", "60")
    assert "P=Ada|Grace|O=42" in dump(dst.container()), describe(sync)
    plan = dst.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0 and "No changes" in plan.stdout, describe(plan)

    # exported again (other data): the init changed, named by its entry; sync re-applies it
    # in the same container
    cid = dst.container().id
    src_fx = dst.path / "fixtures" / "app"
    session(dst.container(), "APP", 'set ^Person(1)="Eve"')
    again = dst.path / "again"
    dst.ok("fixture", "export", "APP", str(again))
    shutil.rmtree(src_fx)
    shutil.copytree(again, src_fx)
    session(dst.container(), "APP", 'set ^Person(1)="changed after the export"')
    plan = dst.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2, describe(plan)
    assert "~ namespace APP: init changed (fixtures/app) -> databases reset and " \
           "re-initialised" in plan.stdout, describe(plan)
    dst.ok("sync", "--timeout", "60")
    assert "P=Eve|Grace|O=42" in dump(dst.container()) and dst.container().id == cid
    assert dst.run("plan", "--detailed-exitcode").returncode == 0


def test_a_tampered_fixture_fails_the_sync_and_is_retried_once_restored(make_project,
                                                                        exported):
    dst = _declare(make_project, exported)
    dat = dst.path / "fixtures" / "app" / "IRIS.DAT"
    good = dat.read_bytes()
    dat.write_bytes(good.replace(b"Ada", b"Eve"))
    sync = dst.run("sync", "--timeout", "60")
    assert sync.returncode == 1, describe(sync)
    assert "init of namespace APP failed in fixture fixtures/app" in sync.stderr, describe(sync)
    assert "IRIS.DAT: sha256 differs from the manifest" in sync.stderr, describe(sync)
    assert "Traceback" not in sync.stderr
    assert "P=|" in dump(dst.container())  # nothing of the fixture went in

    plan = dst.run("plan", "--detailed-exitcode")  # not initialised: the next sync retries
    assert plan.returncode == 2, describe(plan)
    assert "namespace APP: previous init did not complete" in plan.stdout, describe(plan)

    dat.write_bytes(good)
    dst.ok("sync", "--timeout", "60")
    assert "P=Ada|Grace|O=42" in dump(dst.container())
    assert dst.run("plan", "--detailed-exitcode").returncode == 0
