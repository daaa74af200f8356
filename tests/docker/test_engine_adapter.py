"""The Docker adapter (irisenv/engine/docker.py) against a real engine: exec keeps stdout
and stderr apart with or without stdin and honours its own timeout; stop without a timeout
uses the container's own stop timeout. Containers are labelled io.irisenv.test=adapter and
always removed."""
from __future__ import annotations

import uuid

import pytest
from helpers import STANDIN_BASE_IMAGE

from irisenv.engine.docker import DockerEngine
from irisenv.errors import TransientError

LABELS = {"io.irisenv.test": "adapter"}


@pytest.fixture(scope="module", params=["socket", "docker-py"])
def engine(request):
    """Each test with both clients of the backend: on the local socket, exec goes to
    engine/docker_unix.py; with a docker-py client handed in, every call is docker-py's."""
    if request.param == "socket":
        eng = DockerEngine()
        assert eng._unix is not None, "the tests' engine is a local unix socket"
    else:
        import docker

        eng = DockerEngine(client=docker.APIClient(**docker.utils.kwargs_from_env()))
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def box(client):
    """A running busybox container; PID 1 (sleep) ignores SIGTERM, so a stop waits out the
    stop timeout, then kills."""
    c = client.containers.run(STANDIN_BASE_IMAGE, ["sleep", "300"], detach=True, labels=LABELS,
                              name=f"irisenv-adapter-{uuid.uuid4().hex[:8]}")
    yield c
    c.remove(force=True)


@pytest.mark.parametrize("stdin", [None, b"from stdin\n"])
def test_exec_keeps_stdout_and_stderr_apart(engine, box, stdin):
    res = engine.exec(box.id, ["sh", "-c", "cat; echo out; echo err >&2; exit 3"], stdin=stdin)
    assert (res.exit_code, res.stdout, res.stderr) == (3, (stdin or b"").decode() + "out\n",
                                                      "err\n")


@pytest.mark.parametrize("stdin", [None, b""])
def test_exec_gives_up_after_its_own_timeout(engine, box, stdin):
    with pytest.raises(TransientError) as info:
        engine.exec(box.id, ["sleep", "30"], stdin=stdin, timeout=1)
    assert info.value.what == f"command sleep in container {box.id[:12]} timed out"


def test_stop_without_a_timeout_uses_the_containers_own(engine, client):
    cid = client.api.create_container(STANDIN_BASE_IMAGE, ["sleep", "300"], labels=LABELS,
                                      name=f"irisenv-adapter-{uuid.uuid4().hex[:8]}",
                                      stop_timeout=1)["Id"]
    try:
        client.api.start(cid)
        engine.stop(cid, None)
        state = engine.state(cid)
        assert (state.status, state.running, state.exit_code) == ("exited", False, 137)
    finally:
        client.api.remove_container(cid, force=True)


@pytest.mark.parametrize("stdin", [None, b""])
def test_what_the_engine_says_at_once_is_not_lost(engine, box, stdin):
    """An unknown user: the runtime's message comes right behind the response headers
    (docker-py's HTTP reader buffers it along with them). Seen lost in most calls before."""
    for _ in range(3):
        res = engine.exec(box.id, ["id"], user="nobodyx", stdin=stdin)
        assert res.exit_code == 126 and "unable to find user nobodyx" in res.stdout + res.stderr
