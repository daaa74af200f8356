"""The irisenv pytest plugin (entry point pytest11). Importing it costs nothing: it only
registers options, a marker and fixtures; irisenv's machinery loads when a fixture runs.

Fixtures:
  iris_instance   session: the project synced once per test run (also across xdist
                  workers), returns the Connection details (host, port, namespace, user...)
  iris_connection function: a DB-API connection (needs intersystems-irispython, real IRIS)
  iris_namespace  session: a namespace of its own for this worker, dropped afterwards
Options: --irisenv-config PATH, --irisenv-instance NAME, --irisenv-connect-timeout SECONDS
(ini: irisenv_connect_timeout). Marker: iris (needs real IRIS).

An irisenv error in a fixture (a config problem, a sync or a connection that failed) is an
expected failure: it is reported as irisenv's what/why/fix text, without a traceback
(pytest.fail(..., pytrace=False)). Once iris_connection has failed, its later uses in the
same run fail at once with the same text instead of waiting out the timeout again.
"""
from __future__ import annotations

import os
import uuid

import pytest

DEFAULT_CONNECT_TIMEOUT = 60.0  # seconds iris_connection waits for IRIS to accept a connection


def pytest_addoption(parser):
    group = parser.getgroup("irisenv", "irisenv: IRIS test databases")
    group.addoption("--irisenv-config", metavar="PATH", default=None,
                    help="iris-devtester.toml for the irisenv fixtures (default: discovered)")
    group.addoption("--irisenv-instance", metavar="NAME", default=None,
                    help="instance the fixtures use (default: the first declared)")
    group.addoption("--irisenv-connect-timeout", metavar="SECONDS", default=None,
                    help="how long iris_connection waits for IRIS to accept a connection: "
                         'seconds or a duration such as "30s" (default: the ini setting '
                         f"irisenv_connect_timeout, else {DEFAULT_CONNECT_TIMEOUT:g})")
    parser.addini("irisenv_connect_timeout", "iris_connection's connect timeout (seconds or a "
                  'duration such as "30s")', default=None)


def pytest_configure(config):
    config.addinivalue_line("markers", "iris: the test needs a real InterSystems IRIS instance")
    config._irisenv_connect_timeout = _connect_timeout(config)
    config._irisenv_connect_failure = None  # the text of iris_connection's first failure
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


def _connect_timeout(config) -> float:
    """--irisenv-connect-timeout, else the ini setting, else the default; a bad value is a
    usage error now, not a surprise in the first test that connects."""
    for where, raw in (("--irisenv-connect-timeout", config.getoption("irisenv_connect_timeout")),
                       ("irisenv_connect_timeout", config.getini("irisenv_connect_timeout"))):
        if raw not in (None, ""):
            from irisenv.config.units import parse_seconds

            try:
                return parse_seconds(str(raw).strip())
            except ValueError as exc:
                raise pytest.UsageError(f"{where}: {exc}") from None
    return DEFAULT_CONNECT_TIMEOUT


def _fail(exc) -> None:
    """An irisenv error is an expected failure: its what/why/fix, no traceback (and, with
    `from None`, not the irisenv error again as the context of pytest's own)."""
    raise pytest.fail.Exception(str(exc), pytrace=False) from None


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
    from irisenv.errors import IrisenvError
    from irisenv.project import Project

    try:
        return Project(load_config(pytestconfig.getoption("irisenv_config")))
    except IrisenvError as exc:
        _fail(exc)


@pytest.fixture(scope="session")
def iris_instance(pytestconfig, irisenv_project):
    from irisenv.errors import IrisenvError

    try:
        irisenv_project.sync_once(_run_id(pytestconfig))
        return irisenv_project.connection(pytestconfig.getoption("irisenv_instance"))
    except IrisenvError as exc:
        _fail(exc)


@pytest.fixture
def iris_connection(pytestconfig, irisenv_project, iris_instance):
    from irisenv.errors import IrisenvError

    failed = pytestconfig._irisenv_connect_failure
    if failed is not None:  # it failed for a reason the next try would meet again
        pytest.fail(f"{failed}\n  (not retried: iris_connection already failed in this run)",
                    pytrace=False)
    try:
        conn = irisenv_project.connect(iris_instance.instance, iris_instance.namespace,
                                       timeout=pytestconfig._irisenv_connect_timeout)
    except IrisenvError as exc:
        # Every irisenv error of connect() lasts for the run: no driver, refused
        # credentials, a password change that sync could not clear, an instance that
        # is not running, or no IRIS answer within the whole connect timeout.
        pytestconfig._irisenv_connect_failure = str(exc)
        _fail(exc)
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
    from irisenv.errors import IrisenvError

    worker = "".join(ch for ch in _worker(pytestconfig).upper() if ch.isalnum())[:6]
    name = f"T{worker}{uuid.uuid4().hex[:6].upper()}"
    try:
        irisenv_project.add_namespace(iris_instance.instance, name,
                                      run=_run_id(pytestconfig))
    except IrisenvError as exc:
        _fail(exc)
    try:
        yield name
    finally:
        try:
            irisenv_project.drop_namespace(iris_instance.instance, name)
        except IrisenvError as exc:
            _fail(exc)
