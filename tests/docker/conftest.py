"""Fixtures for the real-Docker tests of the reconciler; the helpers live in helpers.py.

``project`` is a fresh project directory with a one-instance config on the stand-in image
and a unique project name; its teardown removes everything Docker holds for that name.
"""
from __future__ import annotations

import pytest
from helpers import DockerProject  # tests/docker is on sys.path (no __init__.py)


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
