"""Faults: a taken host port, a foreign container under our name, and transient engine
errors injected in-process (a proxy around the real Engine)."""
from __future__ import annotations

import socket
import time

import pytest
from helpers import STANDIN_BASE_IMAGE, STANDIN_IMAGE

from irisenv.engine.retry import RETRY_ATTEMPTS
from irisenv.config import load_config
from irisenv.core.plan import Options
from irisenv.engine.docker import DockerEngine
from irisenv.errors import IrisenvError, TransientError
from irisenv.project import Project


def test_taken_host_port_fails_cleanly(project, client):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        project.configure(ports={"superserver": port})
        p = project.run("sync", "--timeout", "30")
        assert p.returncode == 1, p.stdout + p.stderr
        assert f"port {port}" in p.stderr
        assert "fix:" in p.stderr and "auto" in p.stderr  # the way out is named
        # nothing half-made is left behind
        assert project.containers() == []
        assert client.containers.list(all=True, filters={"name": f"^/{project.name}-"}) == []


def test_foreign_container_with_our_name_is_never_touched(project, client):
    foreign = client.containers.run(STANDIN_BASE_IMAGE, ["sleep", "300"],
                                    name=f"{project.name}-iris", detach=True)
    labels_before = dict(foreign.labels)
    assert "io.irisenv.managed-by" not in labels_before
    try:
        p = project.run("plan")
        assert p.returncode == 1, p.stdout + p.stderr
        assert "not created by irisenv" in p.stdout + p.stderr

        p = project.run("sync", "--timeout", "20")
        assert p.returncode == 1, p.stdout + p.stderr
        assert "not created by irisenv" in p.stderr
        assert f"{project.name}-iris" in p.stderr

        p = project.run("down")
        assert p.returncode == 0, p.stdout + p.stderr

        foreign.reload()
        assert foreign.status == "running"
        assert client.containers.get(f"{project.name}-iris").id == foreign.id
        assert foreign.labels == labels_before
        assert project.containers() == []  # nothing labelled was created either
    finally:
        foreign.remove(force=True)


class FlakyEngine:
    """The real Engine, except that chosen methods raise TransientError on their first
    ``failures`` calls. Records every call of those methods."""

    def __init__(self, real, methods=("create", "start"), failures: int = 2):
        self._real = real
        self._methods = set(methods)
        self._failures = failures
        self.calls: dict = {m: 0 for m in methods}
        self.failed: dict = {m: 0 for m in methods}

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if name not in self._methods:
            return attr

        def flaky(*args, **kwargs):
            self.calls[name] += 1
            if self.calls[name] <= self._failures:
                self.failed[name] += 1
                raise TransientError(f"injected transient fault in {name}",
                                     f"call {self.calls[name]}", "retry")
            return attr(*args, **kwargs)

        return flaky


def _project(p, engine) -> Project:
    return Project(load_config(str(p.config_path)), engine=engine)


def test_transient_engine_errors_are_retried(project, client):
    real = DockerEngine()
    proxy = FlakyEngine(real, failures=2)
    try:
        _project(project, proxy).sync(Options(), timeout=30)
    finally:
        real.close()
    assert proxy.failed == {"create": 2, "start": 2}
    assert proxy.calls == {"create": 3, "start": 3}
    c = project.container("iris")
    assert c.status == "running"
    code, out = c.exec_run(["iris", "qlist", "IRIS"])
    assert "^running, since" in out.decode()
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_persistent_engine_errors_give_up_bounded(project, client):
    real = DockerEngine()
    proxy = FlakyEngine(real, methods=("create",), failures=10**9)
    t0 = time.monotonic()
    try:
        with pytest.raises(IrisenvError) as info:
            _project(project, proxy).sync(Options(), timeout=30)
    finally:
        real.close()
    elapsed = time.monotonic() - t0
    assert "injected transient fault" in info.value.what
    assert 1 < proxy.calls["create"] <= RETRY_ATTEMPTS
    assert elapsed < 40, f"gave up only after {elapsed:.1f}s"
    assert project.containers() == []


def test_docker_refusing_cpus_names_the_config_key_and_line(project):
    project.configure(cpus=1024)  # more CPUs than any engine here has
    p = project.run("sync", "--timeout", "30")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "iris-devtester.toml:8:8: instances.iris.cpus: Docker refused the cpus value: " \
           "Range of CPUs is from 0.01 to" in p.stderr, p.stderr
    assert "fix: set cpus to at most" in p.stderr
    assert "internal error" not in p.stderr and "Docker refused a request" not in p.stderr
    assert project.containers() == []


def test_docker_refusing_an_image_reference_names_the_config_key_and_line(project):
    project.configure()
    text = project.config_path.read_text()
    project.config_path.write_text(text.replace(STANDIN_IMAGE, "Irisenv-Standin:x"))
    for verb in ("plan", "sync"):
        p = project.run(verb)
        assert p.returncode == 1, p.stdout + p.stderr
        assert "iris-devtester.toml:5:9: instances.iris.image: Docker refused the image value: " \
               in p.stderr, p.stderr
        assert "repository name must be lowercase" in p.stderr
        assert "Docker refused a request" not in p.stderr
