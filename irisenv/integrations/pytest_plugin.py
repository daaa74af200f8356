"""The irisenv pytest plugin (entry point pytest11). Importing it costs nothing: it only
registers options, a marker and fixtures; irisenv's machinery loads when a fixture runs.

Fixtures:
  iris_instance   session: the project synced once per test run (also across xdist
                  workers), returns the Connection details (host, port, namespace, user...)
  iris_connection function: a DB-API connection (needs intersystems-irispython, real IRIS)
  iris_namespace  session: a namespace of its own for this worker, dropped afterwards
Options: --irisenv-config PATH, --irisenv-instance NAME. Marker: iris (needs real IRIS).
"""
from __future__ import annotations

import os
import uuid

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("irisenv", "irisenv: IRIS test databases")
    group.addoption("--irisenv-config", metavar="PATH", default=None,
                    help="iris-devtester.toml for the irisenv fixtures (default: discovered)")
    group.addoption("--irisenv-instance", metavar="NAME", default=None,
                    help="instance the fixtures use (default: the first declared)")


def pytest_configure(config):
    config.addinivalue_line("markers", "iris: the test needs a real InterSystems IRIS instance")
    if not hasattr(config, "workerinput"):  # controller or no xdist: one id for the run
        given = os.environ.get("IRISENV_RUN_ID")
        config._irisenv_run_id = given or uuid.uuid4().hex
        config._irisenv_run_ends_here = not given  # a given id may span several runs


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist (controller): hand the run id to each worker."""
    node.workerinput["irisenv_run_id"] = node.config._irisenv_run_id


def pytest_sessionfinish(session):
    """The run is over (controller, or the only process without xdist): remove its sync
    markers from the state directory. Cheap, and never fails the run."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config, "_irisenv_run_ends_here", False):
        return
    try:
        from irisenv.runs import end_run

        end_run(config._irisenv_run_id)
    except Exception:
        pass  # crashed runs' markers are pruned by age anyway


def _run_id(config) -> str:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return (workerinput.get("irisenv_run_id") or workerinput.get("testrunuid")
                or workerinput.get("workerid", "w"))
    return config._irisenv_run_id


def _worker(config) -> str:
    workerinput = getattr(config, "workerinput", None)
    return workerinput.get("workerid", "gw0") if workerinput else "main"


@pytest.fixture(scope="session")
def irisenv_project(pytestconfig):
    """The irisenv Project for this test run (config from --irisenv-config or discovery)."""
    from irisenv.config import load_config
    from irisenv.project import Project

    return Project(load_config(pytestconfig.getoption("irisenv_config")))


@pytest.fixture(scope="session")
def iris_instance(pytestconfig, irisenv_project):
    irisenv_project.sync_once(_run_id(pytestconfig))
    return irisenv_project.connection(pytestconfig.getoption("irisenv_instance"))


@pytest.fixture
def iris_connection(pytestconfig, irisenv_project, iris_instance):
    conn = irisenv_project.connect(iris_instance.instance, iris_instance.namespace)
    try:
        yield conn
    finally:
        try:
            conn.close()
        except Exception:
            pass


@pytest.fixture(scope="session")
def iris_namespace(pytestconfig, irisenv_project, iris_instance):
    """A namespace of this worker's own (with its databases), dropped at the end."""
    worker = "".join(ch for ch in _worker(pytestconfig).upper() if ch.isalnum())[:6]
    name = f"T{worker}{uuid.uuid4().hex[:6].upper()}"
    irisenv_project.add_namespace(iris_instance.instance, name)
    try:
        yield name
    finally:
        irisenv_project.drop_namespace(iris_instance.instance, name)
