"""The irisenv pytest plugin (entry point pytest11). Importing it costs nothing: it only
registers options, a marker and fixtures; irisenv's machinery loads when a fixture runs.

Fixtures:
  iris_instance   session: the project synced once per test run (also across xdist
                  workers), returns the Connection details (host, port, namespace, user...)
  iris_connection function: a DB-API connection (needs intersystems-irispython, real IRIS)
  iris_namespace  a namespace of the test's own: with a pool on the instance's first
                  namespace, a clean copy leased per test (function scope), with the
                  connection variables and IRIS_NAMESPACE set for the test; without one, a
                  namespace of this worker's own (session scope), dropped afterwards
Options: --irisenv-config PATH, --irisenv-instance NAME, --irisenv-connect-timeout SECONDS
(ini: irisenv_connect_timeout), --iris-namespace-scope auto|function|session,
--iris-keep-failed. Marker: iris (needs real IRIS).

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
    group.addoption("--iris-namespace-scope", choices=("auto", "function", "session"),
                    default="auto",
                    help="iris_namespace's scope: function (a clean namespace per test), "
                         "session (one per worker), or auto (default): function when the "
                         "instance's first namespace has a pool, else session")
    group.addoption("--iris-keep-failed", action="store_true", default=False,
                    help="keep a failed test's pool copy for inspection (its name is "
                         "printed; `irisenv lease --release COPY` hands it back)")
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


def _namespace_scope(fixture_name, config) -> str:
    """iris_namespace's scope (pytest's dynamic scope, decided when the plugin's fixtures
    are registered, in every run): the option's, else function when the instance's first
    namespace has a pool, else session. Cheap when unused: a config file whose text does
    not mention pool is not parsed, and nothing here imports docker or an IRIS driver; a
    config that cannot be read counts as no pool (the fixture reports it when used)."""
    chosen = config.getoption("iris_namespace_scope", "auto")
    if chosen != "auto":
        return chosen
    return "function" if _pooled(config) else "session"


def _pooled(config) -> bool:
    from pathlib import Path

    given = config.getoption("irisenv_config", None)
    try:
        if given is None:
            from irisenv.config.load import find_config

            given = find_config()[0]
        if given is None or "pool" not in Path(given).read_text(encoding="utf-8"):
            return False
        from irisenv.config import load_config

        inst = load_config(given).instance(config.getoption("irisenv_instance", None))
        return _has_pool(inst)
    except Exception:
        return False


def _has_pool(inst) -> bool:
    """Whether the instance's first (default) namespace has a pool."""
    return bool(inst.namespaces) and inst.namespaces[0].pool is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """The test's outcome for iris_namespace (keep a failed test's copy), and the kept
    copy's name in the failure's report."""
    report = yield
    if report.when == "call":
        item._irisenv_failed = report.failed
        copy = getattr(item, "_irisenv_copy", None)
        if report.failed and copy and item.config.getoption("iris_keep_failed"):
            report.sections.append(("irisenv", f"pool copy {copy} kept for inspection; hand "
                                    f"it back with `irisenv lease --release {copy}`"))
    return report


@pytest.fixture(scope=_namespace_scope)
def iris_namespace(request, pytestconfig, irisenv_project, iris_instance):
    """A namespace of the test's (or worker's) own: a leased pool copy when the namespace
    has a pool, else one created for this worker and dropped at the end."""
    from irisenv.errors import IrisenvError

    inst = irisenv_project.config.instance(iris_instance.instance)
    if _has_pool(inst):
        yield from _leased(request, pytestconfig, irisenv_project, iris_instance)
        return
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


def _leased(request, pytestconfig, project, conn):
    """A clean pool copy for the fixture's scope, with the connection variables and
    IRIS_NAMESPACE set meanwhile; handed back after (reset in the background), or kept
    when the test failed and --iris-keep-failed is given."""
    import sys
    from dataclasses import replace

    from irisenv import pool_lease
    from irisenv.errors import IrisenvError

    try:
        copy = pool_lease.acquire(project, conn.instance, container=conn.container_id,
                                  say=lambda text: print(f"irisenv: {text}", file=sys.stderr))
    except IrisenvError as exc:
        _fail(exc)
    node = request.node if request.scope == "function" else None
    if node is not None:
        node._irisenv_copy = copy
    keep = False
    with pytest.MonkeyPatch.context() as mp:
        for k, v in replace(conn, namespace=copy).env().items():
            mp.setenv(k, v)
        try:
            yield copy
        finally:
            keep = (node is not None and getattr(node, "_irisenv_failed", False)
                    and pytestconfig.getoption("iris_keep_failed"))
            try:
                pool_lease.release(project, conn.instance, copy, keep=keep)
            except IrisenvError as exc:
                _fail(exc)
