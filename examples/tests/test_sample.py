"""Sample tests using irisenv's pytest fixtures (see ../conftest.py for the list).

    pytest examples/tests                 # with a real IRIS image: everything
    pytest examples/tests -m "not iris"   # anywhere Docker runs: skips the SQL test
    pytest examples/tests -n 4            # pytest-xdist: one sync, a namespace per worker
"""
from __future__ import annotations

import os

import pytest


def test_instance_is_published(iris_instance):
    # the Connection of the synced instance: host and port published by Docker
    assert iris_instance.host
    assert isinstance(iris_instance.port, int) and iris_instance.port > 0
    assert iris_instance.namespace == "APP"  # the first namespace in iris-devtester.toml
    assert iris_instance.env()["IRIS_PORT"] == str(iris_instance.port)


def test_own_namespace(iris_instance, iris_namespace):
    # a namespace of this worker's own: tests on other workers never see its data
    assert iris_namespace.startswith("T")
    assert iris_namespace not in ("APP", "TEST", "USER")
    # a program under test would be pointed at it like this:
    env = {**iris_instance.env(), "IRIS_NAMESPACE": iris_namespace}
    assert env["IRIS_HOST"] == iris_instance.host
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    print(f"worker {worker} uses namespace {iris_namespace}")


@pytest.mark.iris
def test_select_one(iris_connection):
    # needs a real IRIS (intersystems-irispython speaks the superserver protocol)
    cursor = iris_connection.cursor()
    try:
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1
    finally:
        cursor.close()


@pytest.mark.iris
def test_scalar_fixture(scalar):
    # the custom fixture from ../conftest.py, built on iris_connection
    assert scalar("SELECT ? + 1", 41) == 42
