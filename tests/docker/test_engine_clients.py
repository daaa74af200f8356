"""The Docker backend's two clients against a real engine: on the local socket the observe
calls and exec go to engine/docker_unix.py (plain HTTP), everything else to docker-py.
Both must read the same objects into the same records and fail with the same errors; an
engine that refuses the pinned API version is asked its own; a no-op plan, sync and status
never import docker-py. Containers are labelled io.irisenv.test=clients and removed."""
from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from helpers import STANDIN_BASE_IMAGE

import irisenv.engine.docker as D
from irisenv.errors import IrisenvError, RefusedError

LABELS = {"io.irisenv.test": "clients", "io.irisenv.managed-by": "irisenv"}


@pytest.fixture(scope="module")
def pair():
    """(socket engine, docker-py engine) on the same local engine."""
    import docker

    sock = D.DockerEngine()
    assert sock._unix is not None, "the tests' engine is a local unix socket"
    dpy = D.DockerEngine(client=docker.APIClient(**docker.utils.kwargs_from_env()))
    yield sock, dpy
    sock.close()
    dpy.close()


@pytest.fixture(scope="module")
def box(client):
    project = f"clients-{uuid.uuid4().hex[:8]}"
    c = client.containers.run(STANDIN_BASE_IMAGE, ["sleep", "300"], detach=True,
                              labels={**LABELS, "io.irisenv.project": project},
                              name=f"irisenv-clients-{uuid.uuid4().hex[:8]}",
                              ports={"1972/tcp": ("127.0.0.1", None)}, mem_limit="256m")
    c.project = project
    yield c
    c.remove(force=True)


def test_both_clients_read_the_same_records(pair, box):
    sock, dpy = pair
    for eng in pair:
        assert [c.name for c in eng.list_project(box.project)] == [box.name]
    assert sock.list_project(box.project) == dpy.list_project(box.project)
    assert sock.find_by_name(box.name) == dpy.find_by_name(box.name)
    assert sock.find_by_name(f"absent-{uuid.uuid4().hex}") is None
    assert dpy.find_by_name(f"absent-{uuid.uuid4().hex}") is None
    assert sock.actual(box.id) == dpy.actual(box.id)
    assert sock.actual(box.id).memory == 256 * 1024 * 1024
    assert sock.state(box.id) == dpy.state(box.id)
    assert sock.image_id(STANDIN_BASE_IMAGE) == dpy.image_id(STANDIN_BASE_IMAGE) is not None
    assert sock.image_id("irisenv-absent-image:nope") is None
    assert dpy.image_id("irisenv-absent-image:nope") is None
    assert sock.volumes(box.project) == dpy.volumes(box.project) == []
    assert sock.info() == dpy.info()


@pytest.mark.parametrize("stdin", [None, b"in\n"])
def test_both_clients_exec_alike(pair, box, stdin):
    cmd = ["sh", "-c", 'cat; echo "$IRISENV_X"; id -un; echo err >&2; exit 4']
    results = [eng.exec(box.id, cmd, stdin=stdin, env={"IRISENV_X": "a b=c"}, user="nobody")
               for eng in pair]
    assert results[0] == results[1]
    assert (results[0].exit_code, results[0].stdout, results[0].stderr) == (
        4, (stdin or b"").decode() + "a b=c\nnobody\n", "err\n")


def _error(fn):
    with pytest.raises(IrisenvError) as info:
        fn()
    return type(info.value), info.value.what, info.value.why


def test_both_clients_fail_alike(pair, box):
    gone = "0" * 64
    for call in (lambda e: e.actual(gone), lambda e: e.state(gone),
                 lambda e: e.exec(gone, ["true"]), lambda e: e.image_id("Bad-Ref:x")):
        first, second = (_error(lambda e=e: call(e)) for e in pair)
        assert first == second
    kind, what, why = _error(lambda: pair[0].image_id("Bad-Ref:x"))
    assert issubclass(kind, RefusedError) and "invalid reference format" in why


def test_both_clients_make_the_same_container(pair, client):
    """create, put_files and start from one RunSpec: the same container either way."""
    from irisenv.core.runspec import Files, PortBinding, RunSpec

    made = []
    try:
        for eng in pair:
            spec = RunSpec(name=f"irisenv-clients-{uuid.uuid4().hex[:8]}",
                           image=STANDIN_BASE_IMAGE, command=("sleep", "300"),
                           env={"A": "1", "B": "x=y"}, labels=LABELS,
                           ports=(PortBinding(1972, "127.0.0.1", None),), memory=128 * 1024**2,
                           stop_timeout=3, files=Files({"/tmp/dir/a.txt": b"A"}, owner=1234,
                                                       dirs=("/tmp/sub",)))
            cid = eng.create(spec)
            made.append(cid)
            eng.put_files(cid, spec.files)
            eng.start(cid)
        infos = [client.api.inspect_container(cid) for cid in made]
        for key in ("Config", "HostConfig"):
            for info in infos:
                info[key].pop("Hostname", None)
            assert infos[0][key] == infos[1][key], key
        assert pair[0].actual(made[0]) == pair[1].actual(made[1])
        for cid in made:
            res = pair[0].exec(cid, ["sh", "-c", "stat -c '%u %a %n' /tmp/dir /tmp/dir/a.txt"
                                     " /tmp/sub; cat /tmp/dir/a.txt"])
            assert res.stdout == ("1234 700 /tmp/dir\n1234 600 /tmp/dir/a.txt\n"
                                  "1234 700 /tmp/sub\nA"), res
    finally:
        for cid in made:
            client.api.remove_container(cid, force=True)


def test_both_clients_read_the_same_log(pair, client):
    """The whole log, its tail, and a followed stream that close() ends."""
    import threading

    c = client.containers.run(STANDIN_BASE_IMAGE, ["sh", "-c", "for i in 1 2 3; do echo out $i; "
                                                  "echo err $i >&2; done; sleep 1; "
                                                  "echo late; sleep 300"],
                              detach=True, labels=LABELS,
                              name=f"irisenv-clients-{uuid.uuid4().hex[:8]}")
    try:
        for eng in pair:
            seen = []
            stream = eng.logs_stream(c.id, follow=True)
            timer = threading.Timer(20, stream.close)  # never reached when all is well
            timer.start()
            for chunk in stream:
                seen.append(chunk)
                if b"late" in b"".join(seen):
                    stream.close()
                    break
            timer.cancel()
            text = b"".join(seen).decode()
            assert sorted(text.split("\n")) == sorted(
                ["out 1", "err 1", "out 2", "err 2", "out 3", "err 3", "late", ""]), text
        assert pair[0].logs_tail(c.id, 3) == pair[1].logs_tail(c.id, 3)
        assert list(pair[0].log_lines(c.id, follow=False)) == list(
            pair[1].log_lines(c.id, follow=False))
        assert sorted(pair[0].logs_tail(c.id, 100).splitlines()) == sorted(
            ["out 1", "err 1", "out 2", "err 2", "out 3", "err 3", "late"])
    finally:
        c.remove(force=True)


def test_an_engine_that_does_not_answer_is_named(tmp_path):
    eng = D.DockerEngine(f"unix://{tmp_path}/no.sock")
    with pytest.raises(IrisenvError) as info:
        eng.list_project("x")
    assert info.value.what == f"no Docker engine answers at unix://{tmp_path}/no.sock"


@pytest.mark.parametrize("pinned", ["1.99", "1.05"])
def test_an_engine_that_refuses_the_pinned_api_version_is_asked_its_own(monkeypatch, box,
                                                                        pinned):
    """"client version 1.99 is too new" / "1.05 is too old": the engine's own version is
    read once and the call repeated, on the socket client and on docker-py's."""
    monkeypatch.setattr(D, "API_VERSION", pinned)
    eng = D.DockerEngine()
    try:
        assert [c.name for c in eng.list_project(box.project)] == [box.name]
        server = eng.info().api_version
        assert eng._version == server != pinned
        if pinned == "1.99":  # docker-py refuses versions below 1.24 itself
            monkeypatch.setattr(D, "API_VERSION", pinned)
            eng2 = D.DockerEngine()
            with pytest.raises(IrisenvError) as info:  # a docker-py call first
                eng2.unpause(box.id)
            assert "is not paused" in info.value.why  # asked at the engine's version
            assert eng2._api is not None and eng2._version == server
            eng2.close()
    finally:
        eng.close()


@pytest.mark.parametrize("verb", ["plan", "sync", "status"])
def test_a_no_op_on_the_local_socket_does_not_import_docker_py(project, verb):
    """Nor what only a sync with work to do needs: the readiness ladder."""
    project.ok("sync", "--progress", "quiet")
    code = ("import sys\nfrom irisenv.cli.main import main\nrc = main(sys.argv[1:])\n"
            "sys.stderr.write('\\nimported: ' + ' '.join(sorted(m for m in ('docker', "
            "'requests', 'urllib3', 'irisenv.iris.readiness') "
            "if m in sys.modules)) + '\\n')\nsys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, verb], cwd=project.path,
                          capture_output=True, text=True, env=project.env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[-1] == "imported: ", proc.stderr


@pytest.mark.parametrize("wait", [False, True])
def test_a_cold_sync_on_the_local_socket_does_not_import_docker_py(project, wait):
    """Create, put the files, start, and (waiting) follow the log, qlist and probe: all on
    the socket client."""
    code = ("import sys\nfrom irisenv.cli.main import main\nrc = main(sys.argv[1:])\n"
            "sys.stderr.write('\\nimported: ' + ' '.join(sorted(m for m in ('docker', "
            "'requests', 'urllib3') if m in sys.modules)) + '\\n')\nsys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "sync", "--wait" if wait else "--no-wait"],
                          cwd=project.path,
                          capture_output=True, text=True, env=project.env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[-1] == "imported: ", proc.stderr
    assert project.container("iris").status == "running"
