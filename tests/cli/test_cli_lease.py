"""`irisenv lease` and the hidden `irisenv pool reset`, in process, with the in-memory
engine (tests/unit/fake_engine.py) in place of Docker and a stand-in for the IRIS side of
the pool (tests/unit/pool_helpers.py). Exit codes as docs/cli.md says."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import run  # tests/cli is on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from fake_engine import IMAGE, IMG_ID, FakeEngine  # noqa: E402
from pool_helpers import T, TOML, IrisPool, project, synced  # noqa: E402

from irisenv import leases  # noqa: E402
from irisenv.core import leases as core  # noqa: E402
from irisenv.engine import retry  # noqa: E402


@pytest.fixture
def fake(monkeypatch, tmp_path) -> FakeEngine:
    eng = FakeEngine()
    eng.images[IMAGE] = IMG_ID
    monkeypatch.setattr("irisenv.engine.open_engine",
                        lambda endpoint=None, *, default=None: retry.with_retries(eng))
    (tmp_path / "iris-devtester.toml").write_text(TOML)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IRISENV_CONFIG", raising=False)
    monkeypatch.setattr(subprocess, "Popen", lambda cmd, **kw: eng.started.append(cmd))
    eng.started = []  # the resetters a release would start
    eng.table = synced(project(eng, tmp_path / "iris-devtester.toml"))
    return eng




def state(fake, n):
    return fake.table.read().copies[leases.copy_key(T, n)]


def test_lease_prints_the_variables_with_the_copy_as_namespace_held_by_the_shell(fake, capsys):
    code, out, err = run(capsys, "lease", "APP")
    assert code == 0, err
    assert "export IRIS_NAMESPACE=APP_P1\n" in out and "export IRIS_PORT=" in out
    assert "/APP_P1" in out  # IRIS_URL too
    assert "leased APP_P1" in err and "irisenv lease --release APP_P1" in err
    c = state(fake, 1)
    assert c.state == core.LEASED and c.holder.pid == os.getppid()


def test_lease_json_is_one_object_of_the_variables(fake, capsys):
    code, out, _ = run(capsys, "lease", "--json")  # the instance's first namespace: APP
    assert code == 0
    env = json.loads(out)
    assert env["IRIS_NAMESPACE"] == "APP_P1" and env["IRIS_URL"].endswith("/APP_P1")


def test_release_hands_the_copy_back_and_starts_the_resetter(fake, capsys):
    run(capsys, "lease", "APP")
    code, out, err = run(capsys, "lease", "--release", "app_p1")
    assert code == 0 and "released APP_P1" in err and out == ""
    assert state(fake, 1).state == core.DIRTY
    [cmd] = fake.started
    assert cmd[-2:] == ["pool", "reset"]


def test_lease_refuses_the_pool_of_a_replaced_container_and_says_to_sync(fake, capsys):
    fake.remove(project(fake).container_id("iris"))
    project(fake)  # a new container of the same name, not synced: its copies are unknown
    code, out, err = run(capsys, "lease", "APP")
    assert code == 1 and out == ""
    assert "the pool of namespace APP was made in another container" in err
    assert "irisenv sync" in err
    assert state(fake, 1).state == core.CLEAN  # nothing handed out


def test_releasing_a_copy_that_is_not_leased_is_an_error(fake, capsys):
    code, out, err = run(capsys, "lease", "--release", "APP_P2", "--json")
    assert code == 1 and "APP_P2 is not leased (it is clean)" in err
    assert json.loads(out)["exit_code"] == 1


def test_a_namespace_without_a_pool_exits_1(fake, capsys):
    code, _, err = run(capsys, "lease", "OTHER")
    assert code == 1 and "namespace OTHER of instance iris has no pool" in err


def test_namespace_and_release_together_is_a_usage_error(fake, capsys):
    code, _, err = run(capsys, "lease", "APP", "--release", "APP_P1")
    assert code == 64 and "not allowed with" in err


def test_a_full_pool_waits_then_exits_1_saying_what_holds_it(fake, capsys, monkeypatch):
    IrisPool().install(monkeypatch)
    for _ in range(3):
        assert run(capsys, "lease", "APP")[0] == 0
    code, _, err = run(capsys, "lease", "APP", "--timeout", "0.05")
    assert code == 1
    assert "no clean copy of APP (3 leased); waiting" in err
    assert "no clean copy of namespace APP came free within 0.05s" in err


def test_pool_reset_resets_the_dirty_copies_and_is_not_in_the_help(fake, capsys, monkeypatch):
    iris = IrisPool().install(monkeypatch)
    run(capsys, "lease", "APP")
    run(capsys, "lease", "--release", "APP_P1")
    code, _, err = run(capsys, "pool", "reset")
    assert code == 0, err
    assert iris.jobs == [[(leases.copy_key(T, 1), T, "h1")]]
    assert state(fake, 1).state == core.CLEAN
    _, out, _ = run(capsys, "--help")
    verbs = [line.split()[0] for line in out.splitlines() if line.startswith("    ")]
    assert "lease" in verbs and "pool" not in verbs
