"""Fixtures for the real-Docker tests of the reconciler; the helpers live in helpers.py.

``project`` is a fresh project directory with a one-instance config on the stand-in image
and a unique project name; its teardown removes everything Docker holds for that name.
``registry`` and ``auth_registry`` are real image registries on 127.0.0.1 (registries.py),
one per test session and worker; a registry that cannot start fails the tests that need
it, never skips them.
``second_engine`` is another Docker engine on a host address of its own (engines.py), with
the stand-in image loaded, started once per test session (per xdist worker) and stopped
at its end; where it cannot start, its tests fail in CI (and are skipped elsewhere, as the
Docker tests are without an engine). ``ssh_server`` is a real sshd on that engine's host
(engines.SshServer), by the same rule.
"""
from __future__ import annotations

import os

import pytest
from engines import SecondEngine, SshServer  # tests/docker is on sys.path (no __init__.py)
from helpers import STANDIN_IMAGE, DockerProject


@pytest.fixture(scope="session")
def client():
    import docker

    c = docker.from_env(timeout=60)
    yield c
    c.close()


@pytest.fixture
def project(tmp_path, client):
    p = DockerProject(tmp_path, client)
    p.configure()
    yield p
    p.cleanup()


@pytest.fixture
def make_project(tmp_path_factory, client):
    """For tests that need more than one project."""
    made = []

    def make():
        p = DockerProject(tmp_path_factory.mktemp("proj"), client)
        p.configure()
        made.append(p)
        return p

    yield make
    for p in made:
        p.cleanup()


def _registry(tmp_path_factory, auth: bool):
    from registries import Registry, RegistryUnavailable

    r = Registry(tmp_path_factory.mktemp("registry"), auth=auth)
    try:
        r.start()
    except RegistryUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    return r


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """An image registry on 127.0.0.1 without authentication."""
    r = _registry(tmp_path_factory, auth=False)
    yield r
    r.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory):
    """An image registry on 127.0.0.1 behind htpasswd authentication (registries.USER)."""
    r = _registry(tmp_path_factory, auth=True)
    yield r
    r.stop()


def _cannot_run(problem: str) -> None:
    """Fail in CI, where a missing capability is a broken machine (as tests/conftest.py's
    in_ci()); skip elsewhere."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI=true but {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def second_engine():
    engine = SecondEngine()
    try:
        engine.start()
        engine.load(STANDIN_IMAGE)
    except Exception as exc:  # any reason it cannot run: say which
        engine.stop()
        _cannot_run(f"the second Docker engine cannot start: {exc}")
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def ssh_server(second_engine):
    server = SshServer(second_engine)
    try:
        server.start()
    except Exception as exc:  # any reason it cannot run: say which
        server.stop()
        _cannot_run(f"an ssh server on the second engine's host cannot start: {exc}")
    yield server
    server.stop()
