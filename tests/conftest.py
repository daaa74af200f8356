"""Test layers: tests/unit (no Docker), tests/cli, tests/docker (real engine + stand-in).

Every test under tests/docker/ is marked ``docker``. Where no engine answers, those tests
are skipped on a developer machine and *fail* when ``CI`` is set: in CI a missing engine
is a broken machine, never a reason to skip.
"""
from __future__ import annotations

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
STANDIN_IMAGE = os.environ.get("IRISENV_STANDIN_IMAGE", "irisenv-standin:latest")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(config, items):
    docker_dir = ROOT / "tests" / "docker"
    iris_dir = ROOT / "tests" / "iris"
    for item in items:
        parents = pathlib.Path(str(item.fspath)).parents
        if docker_dir in parents or iris_dir in parents:
            item.add_marker(pytest.mark.docker)
        if iris_dir in parents:
            item.add_marker(pytest.mark.iris)


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory, monkeypatch):
    """irisenv's per-user state directory (locks, run markers), fresh for every test and
    inherited by the CLI subprocesses a test starts: nothing reaches ~/.local/state, and
    no test sees another's locks. Tests about sharing it use this one from two places."""
    d = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("IRISENV_STATE_DIR", str(d))
    return d


_engine_state: dict = {}


def _engine_problem(need_standin: bool = True) -> str | None:
    """Return None when an engine answers (and, if needed, the stand-in image exists)."""
    key = f"problem-{need_standin}"
    if key in _engine_state:
        return _engine_state[key]
    problem = None
    try:
        import docker  # the tests may import docker; the product keeps it in one module

        client = docker.from_env(timeout=10)
        client.ping()
        if need_standin:
            try:
                client.images.get(STANDIN_IMAGE)
            except docker.errors.ImageNotFound:
                problem = f"stand-in image {STANDIN_IMAGE} is not built (run tests/standin/build.sh)"
        client.close()
    except Exception as exc:  # engine missing or unreachable
        problem = f"no Docker engine answers ({exc.__class__.__name__}: {exc})"
    _engine_state[key] = problem
    return problem


IRIS_IMAGE_ENV = "IRISENV_IRIS_IMAGE"


def pytest_runtest_setup(item):
    if item.get_closest_marker("iris") is not None and not os.environ.get(IRIS_IMAGE_ENV):
        # Real-IRIS tests need an IRIS image, which cannot be pulled where irisenv is built.
        # They run in .github/workflows/real-iris.yml (public Community image).
        pytest.skip(f"needs a real IRIS image: set {IRIS_IMAGE_ENV} "
                    "(e.g. containers.intersystems.com/intersystems/iris-community:latest-em)")
    if item.get_closest_marker("docker") is None:
        return
    problem = _engine_problem(need_standin=item.get_closest_marker("iris") is None)
    if problem is None:
        return
    if in_ci():
        pytest.fail(f"CI=true but {problem}; Docker tests must run in CI", pytrace=False)
    pytest.skip(problem)
