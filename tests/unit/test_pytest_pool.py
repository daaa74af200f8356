"""The pytest plugin's iris_namespace with a pool: a clean copy per test, the connection
variables set for the test, the scope chosen by the option, a failed test's copy kept.
An inner pytest run (a subprocess, the plugin loaded from its entry point) whose conftest
puts the in-memory engine behind irisenv_project and a stand-in IRIS side behind the pool
(tests/unit/pool_helpers.py), with resets done at once; no Docker."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pool_helpers import T, TOML

from irisenv import leases
from irisenv.core import leases as core
from irisenv.integrations.pytest_plugin import _namespace_scope

UNIT = Path(__file__).resolve().parent

CONFTEST = f"""
import sys
sys.path.insert(0, {str(UNIT)!r})
import pytest
from fake_engine import IMAGE, IMG_ID, FakeEngine
from pool_helpers import IrisPool, project, synced
from irisenv import pool_lease

IrisPool().install(pytest.MonkeyPatch())
# the resetter, in process and at once (the real one is a detached process)
pool_lease.start_resetter = lambda project, lt=None: bool(pool_lease.drain(project))


@pytest.fixture(scope="session")
def irisenv_project():
    fake = FakeEngine()
    fake.images[IMAGE] = IMG_ID
    p = project(fake)
    synced(p)
    return p


@pytest.fixture(scope="session")
def iris_instance(irisenv_project):
    return irisenv_project.connection()
"""

TESTS = """
import os
seen = []


def test_one(iris_namespace):
    assert os.environ["IRIS_NAMESPACE"] == iris_namespace
    assert os.environ["IRIS_URL"].endswith("/" + iris_namespace)
    seen.append(iris_namespace)


def test_two(iris_namespace):
    assert os.environ["IRIS_NAMESPACE"] == iris_namespace
    seen.append(iris_namespace)


def test_three(iris_namespace):
    seen.append(iris_namespace)
    print("SEEN", seen)


def test_after():
    assert "IRIS_NAMESPACE" not in os.environ
"""


def inner(tmp_path, tests, *args):
    (tmp_path / "iris-devtester.toml").write_text(TOML)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(tests))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRIS_")}
    env.pop("IRISENV_CONFIG", None)
    env["PYTHONPATH"] = os.pathsep.join([str(UNIT.parent.parent), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                           *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)


def table():
    return leases.LeaseTable("fake://engine", "demo").read()


def test_with_a_pool_every_test_gets_a_clean_copy_and_its_variables(tmp_path):
    res = inner(tmp_path, TESTS)
    assert res.returncode == 0, res.stdout + res.stderr
    # a copy per test, the one clean longest first; each handed back and reset
    assert "SEEN ['APP_P1', 'APP_P2', 'APP_P1']" in res.stdout
    assert table().counts(T)["clean"] == 2


def test_the_option_gives_one_copy_for_the_whole_session(tmp_path):
    res = inner(tmp_path, TESTS.replace("def test_after", "def _not_after"),
                "--iris-namespace-scope", "session")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SEEN ['APP_P1', 'APP_P1', 'APP_P1']" in res.stdout


FAILING = """
def test_fails(iris_namespace):
    assert iris_namespace == "nothing"


def test_next(iris_namespace):
    print("NEXT", iris_namespace)
"""


def test_keep_failed_keeps_the_failed_tests_copy_and_names_it(tmp_path):
    res = inner(tmp_path, FAILING, "--iris-keep-failed")
    assert res.returncode == 1
    assert ("pool copy APP_P1 kept for inspection; hand it back with "
            "`irisenv lease --release APP_P1`") in res.stdout
    assert "NEXT APP_P2" in res.stdout
    copies = table().copies
    assert copies[leases.copy_key(T, 1)].state == core.KEPT
    assert copies[leases.copy_key(T, 2)].state == core.CLEAN


def test_without_keep_failed_a_failed_tests_copy_is_reset(tmp_path):
    res = inner(tmp_path, FAILING)
    assert res.returncode == 1 and "kept for inspection" not in res.stdout
    assert table().counts(T)["clean"] == 2


class Opts:
    def __init__(self, **values):
        self.values = values

    def getoption(self, name, default=None):
        return self.values.get(name, default)


@pytest.mark.parametrize("text, scope", [
    (TOML, "function"),
    (TOML.replace("pool = { min = 2, max = 3 }", ""), "session"),
    ("[instances.iris.namespaces.APP]\npool = 4\n[instances.iris.namespaces.B]\n", "function"),
    ("[instances.iris.namespaces.B]\n[instances.iris.namespaces.APP]\npool = 4\n", "session"),
    ("this is not toml, but mentions pool", "session"),  # the fixture reports it when used
])
def test_auto_scope_is_function_when_the_first_namespace_has_a_pool(tmp_path, text, scope):
    path = tmp_path / "iris-devtester.toml"
    path.write_text(text)
    assert _namespace_scope("iris_namespace", Opts(irisenv_config=str(path))) == scope


def test_the_option_chooses_the_scope_and_a_missing_config_is_no_pool(tmp_path):
    missing = str(tmp_path / "nope.toml")
    assert _namespace_scope("iris_namespace", Opts(irisenv_config=missing)) == "session"
    assert _namespace_scope("iris_namespace", Opts(irisenv_config=missing,
                                                   iris_namespace_scope="function")) == "function"
