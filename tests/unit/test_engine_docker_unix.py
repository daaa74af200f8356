"""engine/docker_unix.py against a scripted HTTP server on a unix socket (no Docker): the
answer forms Docker's Go server uses (Content-Length, chunked, up to the close), error
answers, an exec's upgraded connection with output sent along with its head, and no
server at all. And which endpoints are a unix socket's, read as docker-py reads them."""
from __future__ import annotations

import json
import socket
import threading

import pytest

from irisenv.engine import docker_unix as U


class Server:
    """Answers each connection with the next scripted reply (bytes), recording requests."""

    def __init__(self, path: str, replies: list):
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.replies:
            conn, _ = self.sock.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + body)
                reply = self.replies.pop(0)
                if callable(reply):
                    reply(conn)
                else:
                    conn.sendall(reply)

    def close(self):
        self.sock.close()


@pytest.fixture
def serve(tmp_path):
    made = []

    def make(*replies):
        path = str(tmp_path / "d.sock")
        s = Server(path, replies)
        made.append(s)
        return U.UnixClient(path, "1.41", timeout=5), s

    yield make
    for s in made:
        s.close()


def http(status: str, body: bytes, *headers: str) -> bytes:
    return (f"HTTP/1.1 {status}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode() + body


ROWS = [{"Id": "a" * 64, "Names": ["/x"]}]


@pytest.mark.parametrize("reply", [
    http("200 OK", json.dumps(ROWS).encode(), "Content-Type: application/json",
         f"Content-Length: {len(json.dumps(ROWS))}"),
    http("200 OK", b"%x\r\n%s\r\n0\r\n\r\n" % (len(json.dumps(ROWS)), json.dumps(ROWS).encode()),
         "Transfer-Encoding: chunked"),
    http("200 OK", json.dumps(ROWS).encode()),  # no length: up to the close
])
def test_each_answer_form_is_read(serve, reply):
    client, server = serve(reply)
    assert client.containers(all=True, filters={"label": ["a=b", "c"]}) == ROWS
    request = server.requests[0].decode()
    line = request.splitlines()[0]
    assert line.startswith("GET /v1.41/containers/json?") and line.endswith(" HTTP/1.1")
    assert "filters=%7B%22label%22%3A+%5B%22a%3Db%22%2C+%22c%22%5D%7D" in line  # docker-py's JSON
    assert "all=1" in line and "\r\nConnection: close\r\n" in request


def test_a_chunked_answer_in_several_chunks(serve):
    body = json.dumps({"Id": "sha256:" + "f" * 64}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                      for i in range(0, len(body), 7))
    client, _ = serve(http("200 OK", chunks + b"0\r\n\r\n", "Transfer-Encoding: chunked"))
    assert client.inspect_image("img:1")["Id"] == "sha256:" + "f" * 64


@pytest.mark.parametrize("status, body, message", [
    ("404 Not Found", b'{"message":"No such container: x"}', "No such container: x"),
    ("409 Conflict", b'{"message":"container x is not running"}', "container x is not running"),
    ("500 Internal Server Error", b"plain text\n", "plain text"),
])
def test_an_error_answer_carries_status_and_message(serve, status, body, message):
    client, _ = serve(http(status, body, f"Content-Length: {len(body)}"))
    with pytest.raises(U.APIError) as info:
        client.inspect_container("x")
    assert (info.value.status_code, info.value.explanation) == (int(status[:3]), message)


def test_exec_create_sends_what_docker_py_sends(serve):
    client, server = serve(http("201 Created", b'{"Id":"e1"}', "Content-Length: 11"))
    assert client.exec_create("c1", ["iris", "session"], stdin=True, user="",
                              environment={"IRISENV_A": "x=y"}) == {"Id": "e1"}
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v1.41/containers/c1/exec HTTP/1.1")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {"Container": "c1", "User": "", "Privileged": False,
                                "Tty": False, "AttachStdin": True, "AttachStdout": True,
                                "AttachStderr": True, "Cmd": ["iris", "session"],
                                "Env": ["IRISENV_A=x=y"]}


def test_an_upgraded_exec_connection_keeps_what_came_with_the_head(serve):
    frame = b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n"

    def upgraded(conn):
        # the head and the first output in one packet, then stdin is echoed back
        conn.sendall(http("101 UPGRADED", b"", "Content-Type: application/vnd.docker.raw-stream",
                          "Connection: Upgrade", "Upgrade: tcp") + frame)
        got = b""
        while not got.endswith(b"\n"):
            got += conn.recv(100)
        conn.sendall(b"\x02\x00\x00\x00" + len(got).to_bytes(4, "big") + got)

    client, server = serve(upgraded)
    sock = client.exec_start("e1", socket=True)
    try:
        assert sock.read1(65536) == frame
        sock._sock.sendall(b"input\n")
        sock._sock.shutdown(socket.SHUT_WR)
        assert sock.read1(65536) == b"\x02\x00\x00\x00\x00\x00\x00\x06input\n"
        assert sock.read1(65536) == b""
    finally:
        sock.close()
    head = server.requests[0].split(b"\r\n\r\n")[0]
    assert b"Connection: Upgrade" in head and b"Upgrade: tcp" in head


def test_a_refused_exec_start_is_an_error_answer(serve):
    body = b'{"message":"container c1 is not running"}'
    client, _ = serve(http("409 Conflict", body, f"Content-Length: {len(body)}"))
    with pytest.raises(U.APIError) as info:
        client.exec_start("e1", socket=True)
    assert info.value.status_code == 409


def test_no_server_is_unreachable(tmp_path):
    client = U.UnixClient(str(tmp_path / "none.sock"), "1.41", timeout=5)
    with pytest.raises(U.Unreachable) as info:
        client.version()
    assert "none.sock" in str(info.value)


def test_a_server_that_hangs_up_is_unreachable(serve):
    client, _ = serve(http("200 OK", b'{"Id": "x"', "Content-Length: 100"))
    with pytest.raises(U.Unreachable):
        client.inspect_container("x")


def test_the_version_is_read_unversioned(serve):
    client, server = serve(http("200 OK", b'{"ApiVersion":"1.45"}', "Content-Length: 21"))
    assert client.version(api_version=False) == {"ApiVersion": "1.45"}
    assert server.requests[0].startswith(b"GET /version HTTP/1.1")


def test_the_unix_socket_path_is_read_as_docker_py_reads_it():
    from irisenv.engine.docker import _unix_path

    assert _unix_path(None) == "/var/run/docker.sock"
    assert _unix_path("unix:///run/docker.sock") == "/run/docker.sock"
    assert _unix_path("unix://run/docker.sock") == "/run/docker.sock"  # legacy spelling
    assert _unix_path("http+unix:///x.sock") == "/x.sock"
    for other in ("tcp://1.2.3.4:2376", "ssh://me@box", "npipe:////./pipe/docker_engine",
                  "https://h:2376"):
        assert _unix_path(other) is None


# ------------------------------------------------------------------ create, as docker-py
SPECS = {
    "everything": dict(ports=((1972, "127.0.0.1", None), (52773, "0.0.0.0", 52000)),
                       memory=1024**3, nano_cpus=1_500_000_000, volumes=(("v", "/data"),),
                       tmpfs={"/scratch": "size=64m"}),
    "plain": dict(ports=((1972, "127.0.0.1", None),), memory=None, nano_cpus=0, volumes=(),
                  tmpfs={}),
    "no ports": dict(ports=(), memory=None, nano_cpus=0, volumes=(), tmpfs={}),
}


def _spec(kind: str):
    from irisenv.core.runspec import PortBinding, RunSpec, VolumeMount

    k = SPECS[kind]
    return RunSpec(name="demo-iris", image="img:1", command=("--flag", "x"),
                   env={"A": "1", "B": "x=y"}, labels={"l": "v"},
                   ports=tuple(PortBinding(*p) for p in k["ports"]), memory=k["memory"],
                   nano_cpus=k["nano_cpus"], volumes=tuple(VolumeMount(*v) for v in k["volumes"]),
                   tmpfs=k["tmpfs"], stop_timeout=7)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_the_host_config_is_docker_pys(kind):
    import docker

    from irisenv.engine.docker import _host_config

    spec = _spec(kind)
    theirs = docker.APIClient(version="1.44").create_host_config(
        port_bindings={p.container_port: (p.host_ip, p.host_port) for p in spec.ports},
        mem_limit=spec.memory, nano_cpus=spec.nano_cpus or None,
        mounts=[docker.types.Mount(v.target, v.volume, type="volume") for v in spec.volumes]
        or None, tmpfs=dict(spec.tmpfs) or None, init=False)
    assert _host_config(spec) == theirs


@pytest.mark.parametrize("proxies", [None, {"httpProxy": "http://p:3128", "noProxy": "localhost"}])
def test_create_sends_what_docker_py_sends(serve, tmp_path, monkeypatch, proxies):
    """The body is docker-py's ContainerConfig for the same arguments, with the proxy
    variables of the Docker client's config first in the environment, as docker-py puts them."""
    import docker

    from irisenv.engine.docker import _host_config

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "cfg"))
    (tmp_path / "cfg").mkdir()
    if proxies:
        (tmp_path / "cfg" / "config.json").write_text(json.dumps({"proxies": {"default": proxies}}))
    body = b'{"Id":"c1","Warnings":[]}'
    client, server = serve(http("201 Created", body, f"Content-Length: {len(body)}"))
    spec = _spec("everything")
    kwargs = dict(command=list(spec.command), name=spec.name, labels=dict(spec.labels),
                  environment=dict(spec.env), ports=[p.container_port for p in spec.ports],
                  host_config=_host_config(spec), stop_timeout=spec.stop_timeout,
                  hostname=None, detach=True)
    assert client.create_container(spec.image, **kwargs) == {"Id": "c1", "Warnings": []}
    head, _, sent = server.requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v1.41/containers/create?name=demo-iris HTTP/1.1")

    dpy = docker.APIClient(version="1.44")
    captured = {}
    monkeypatch.setattr(dpy, "create_container_from_config",
                        lambda config, name, platform: captured.update(config=config, name=name))
    dpy.create_container(spec.image, **kwargs)
    assert json.loads(sent) == json.loads(json.dumps(captured["config"]))
    env = json.loads(sent)["Env"]
    assert env[-2:] == ["A=1", "B=x=y"] and (len(env) == 2) == (proxies is None)


def test_a_copy_and_a_start_are_sent_as_docker_py_sends_them(serve):
    client, server = serve(http("200 OK", b"", "Content-Length: 0"),
                           http("204 No Content", b""))
    assert client.put_archive("c1", "/home/u", b"TARDATA") is True
    assert client.start("c1") is None
    put, start = server.requests
    assert put.startswith(b"PUT /v1.41/containers/c1/archive?path=%2Fhome%2Fu HTTP/1.1")
    assert put.endswith(b"\r\n\r\nTARDATA") and b"Content-Length: 7" in put
    assert start.startswith(b"POST /v1.41/containers/c1/start HTTP/1.1")


def test_a_remove_is_sent_as_docker_py_sends_it_and_a_missing_one_is_an_error_answer(serve):
    client, server = serve(http("204 No Content", b""),
                           http("404 Not Found", b'{"message":"No such container: c2"}',
                                "Content-Type: application/json"))
    assert client.remove_container("c1", force=True) is None
    with pytest.raises(U.APIError) as info:
        client.remove_container("c2", force=True)
    assert info.value.status_code == 404 and "No such container" in info.value.explanation
    assert server.requests[0].startswith(
        b"DELETE /v1.41/containers/c1?v=0&link=0&force=1 HTTP/1.1")


def test_a_rename_and_a_network_attach_and_detach_are_sent_as_docker_py_sends_them(serve):
    """A spare's calls (docs/spares.md): made detached, renamed and attached at promotion."""
    client, server = serve(*[http("204 No Content", b"")] * 2, http("200 OK", b"OK"))
    assert client.rename("c1", "p-iris") is None
    assert client.disconnect_container_from_network("c1", "bridge") is None
    assert client.connect_container_to_network("c1", "bridge") is None
    rename, detach, attach = server.requests
    assert rename.startswith(b"POST /v1.41/containers/c1/rename?name=p-iris HTTP/1.1")
    assert detach.startswith(b"POST /v1.41/networks/bridge/disconnect HTTP/1.1")
    assert json.loads(detach.partition(b"\r\n\r\n")[2]) == {"Container": "c1", "Force": False}
    assert attach.startswith(b"POST /v1.41/networks/bridge/connect HTTP/1.1")
    assert json.loads(attach.partition(b"\r\n\r\n")[2]) == {"Container": "c1",
                                                               "EndpointConfig": {}}


def test_an_import_is_sent_as_docker_py_sends_it(serve):
    client, server = serve(http("200 OK", b'{"status":"sha256:abc"}\r\n'))
    assert "sha256:abc" in client.import_image_from_data(
        b"TAR", repository="irisenv-lock", tag="1", changes=["LABEL a=b", 'CMD ["/x"]'])
    [req] = server.requests
    assert req.startswith(b"POST /v1.41/images/create?repo=irisenv-lock&tag=1&fromSrc=-"
                          b"&changes=LABEL+a%3Db&changes=CMD+%5B%22%2Fx%22%5D HTTP/1.1")
    assert req.endswith(b"\r\n\r\nTAR")


# ------------------------------------------------------------------ the API version
def test_an_engine_older_than_the_pinned_api_is_spoken_to_at_the_version_it_names(tmp_path):
    """"too new" names the newest version the engine speaks: no GET /version (which the
    engine answers slowly, gathering its components' versions), the call repeated at that
    version, and every later call made at it."""
    from irisenv.engine.docker import API_VERSION, DockerEngine

    refusal = (b'{"message":"client version %s is too new. Maximum supported API version is '
               b'1.40"}' % API_VERSION.encode())
    server = Server(str(tmp_path / "d.sock"), [
        http("400 Bad Request", refusal, f"Content-Length: {len(refusal)}"),
        http("200 OK", b"[]", "Content-Length: 2"),
        http("200 OK", b"[]", "Content-Length: 2")])
    try:
        engine = DockerEngine(f"unix://{tmp_path}/d.sock")
        assert engine.list_project("demo") == []
        assert engine.find_by_name("demo-iris") is None
    finally:
        server.close()
    lines = [r.split(b"\r\n", 1)[0].decode() for r in server.requests]
    assert [line.split("?")[0] for line in lines] == [
        f"GET /v{API_VERSION}/containers/json", "GET /v1.40/containers/json",
        "GET /v1.40/containers/json"]


def test_a_call_on_a_client_not_yet_replaced_after_another_thread_negotiated_is_repeated(
        monkeypatch):
    """Threads share the engine: one, negotiating, has set the engine's own version and not
    yet replaced the docker-py client when another calls with the old client. That call's
    refusal is of the old version: it is repeated on the new client once the other thread
    is done, not reported as an error."""
    from irisenv.engine.docker import API_VERSION, DockerEngine

    old_called = threading.Event()

    class Client:  # docker-py's APIClient as far as _call uses it
        def __init__(self, version):
            self.api_version = version

        def containers(self, **kwargs):
            if self.api_version == API_VERSION:
                old_called.set()
                raise U.APIError(400, f"client version {API_VERSION} is too new. Maximum "
                                 "supported API version is 1.41")
            return []

        def close(self):
            pass

    monkeypatch.setattr(DockerEngine, "_make_docker_py", lambda self: Client(self._version))
    engine = DockerEngine("tcp://10.0.0.5:2375")
    negotiating = threading.Event()

    def other_thread():  # what _negotiate does, paused between its two assignments
        with engine._lock:
            engine._version = "1.41"
            negotiating.set()
            old_called.wait(5)
            engine._api = Client("1.41")

    other = threading.Thread(target=other_thread)
    other.start()
    negotiating.wait(5)
    try:
        assert engine.list_project("demo") == []
    finally:
        other.join()


# ------------------------------------------------------------------ the log
def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


INSPECT = b'{"Config":{"Tty":false}}'


def inspected(tty=False) -> bytes:
    body = b'{"Config":{"Tty":%s}}' % (b"true" if tty else b"false")
    return http("200 OK", body, f"Content-Length: {len(body)}")


def test_the_whole_log_is_the_frames_payloads(serve):
    data = frame(1, b"out 1\n") + frame(2, b"err\n") + frame(1, b"out 2\n")
    client, server = serve(inspected(), http("200 OK", data))  # up to the close
    assert client.logs("c1", tail=20) == b"out 1\nerr\nout 2\n"
    line = server.requests[1].split(b"\r\n", 1)[0].decode()
    assert line.startswith("GET /v1.41/containers/c1/logs?")
    assert "stderr=1" in line and "stdout=1" in line and "follow=0" in line and "tail=20" in line


def test_a_followed_log_yields_frames_across_chunks_until_closed(serve):
    """Frames split over chunks (a header in one, its payload in the next); close() from
    another thread ends an iteration that waits for more."""
    more = threading.Event()
    data = frame(1, b"Starting\n") + frame(1, b"Enabling logons\n")
    cut = 13  # inside the first frame's payload

    def follow(conn):
        conn.sendall(http("200 OK", b"", "Transfer-Encoding: chunked"))
        for part in (data[:cut], data[cut:cut + 12], data[cut + 12:]):
            conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        more.wait(10)  # a quiet log: the stream stays open

    client, _ = serve(inspected(), follow)
    stream = client.logs("c1", stream=True, follow=True, since=1795435200.5)
    got = []
    for payload in stream:
        got.append(payload)
        if len(got) == 2:
            threading.Timer(0.2, stream.close).start()
    more.set()
    assert got == [b"Starting\n", b"Enabling logons\n"]


def test_a_tty_containers_log_is_its_bytes(serve):
    client, _ = serve(inspected(tty=True), http("200 OK", b"raw text\n"))
    assert client.logs("c1") == b"raw text\n"


def test_an_unknown_containers_log_is_an_error_answer(serve):
    body = b'{"message":"No such container: c1"}'
    client, _ = serve(http("404 Not Found", body, f"Content-Length: {len(body)}"))
    with pytest.raises(U.APIError) as info:
        client.logs("c1", stream=True)
    assert info.value.status_code == 404
