"""conftest.py for a project that uses irisenv's pytest plugin.

Nothing to import: installing irisenv registers the plugin (entry point pytest11
"irisenv"), and it stays inert -- it does not even import docker -- until a test asks for
one of its fixtures:

  iris_instance    session  the project synced once per run (once in total under
                            pytest-xdist); the Connection: host, port, web_port,
                            namespace, username, password, url, env()
  iris_namespace   session  a namespace of this worker's own (with its databases),
                            created by irisenv and dropped at the end of the run
  iris_connection  function a DB-API connection (needs intersystems-irispython and a
                            real IRIS); closed after the test
  irisenv_project  session  the irisenv.project.Project behind them

Options:
  --irisenv-config PATH     which iris-devtester.toml (default: $IRISENV_CONFIG, then the
                            nearest one walking up from the working directory)
  --irisenv-instance NAME   which instance the fixtures use (default: the first declared)
  --irisenv-connect-timeout SECONDS
                            how long iris_connection waits for IRIS (default 60; "30s"
                            works too; ini setting: irisenv_connect_timeout)

An irisenv failure in a fixture (bad config, failed sync, no connection) errors the test
with irisenv's what/why/fix, without a traceback; after one failed iris_connection, the
later ones of the run fail at once instead of waiting again.

Marker: @pytest.mark.iris -- the test needs a real InterSystems IRIS instance (so that
`-m "not iris"` runs the rest anywhere).

Put options you always want into your pytest configuration, e.g. in pyproject.toml:

    [tool.pytest.ini_options]
    addopts = "--irisenv-config ci/iris-devtester.toml"
    irisenv_connect_timeout = "30s"
"""
from __future__ import annotations

import pytest


@pytest.fixture
def iris_cursor(iris_connection):
    """A cursor on the run's IRIS instance; rolls back what the test left uncommitted."""
    cursor = iris_connection.cursor()
    try:
        yield cursor
    finally:
        try:
            iris_connection.rollback()
        finally:
            cursor.close()


@pytest.fixture
def scalar(iris_cursor):
    """scalar("SELECT ...", *params) -> the first column of the first row."""

    def run(sql, *params):
        iris_cursor.execute(sql, params)
        row = iris_cursor.fetchone()
        return None if row is None else row[0]

    return run
