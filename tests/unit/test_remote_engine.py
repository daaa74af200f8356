"""Remote engines: which engine irisenv talks to (as the Docker CLI chooses, with the
project's `engine` key), whether it is remote, where its ports are published and what
IRIS_HOST says, the plan problem for a loopback host_ip on a remote engine, and what an
ssh:// engine that cannot be reached says (a fake `ssh` on PATH plays ssh's part)."""
from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest
from fake_engine import HEALTHY_IRIS, IMG_ID, FakeEngine  # tests/unit is on sys.path

from irisenv.config.load import parse_config
from irisenv.connection import host, placed, unreachable
from irisenv.core.plan import Options
from irisenv.engine import DOCKER_SCHEMES, engine_host, is_remote, publish_address
from irisenv.engine.docker import choose_endpoint, ssh_unavailable
from irisenv.errors import ConfigError, IrisenvError
from irisenv.project import Project

IMAGE = "containers.intersystems.com/intersystems/iris-community:2025.1"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No DOCKER_HOST / DOCKER_CONTEXT of the machine, an empty Docker config directory."""
    for var in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    (tmp_path / "docker-config").mkdir()
    publish_address.cache_clear()


def make_context(tmp_path, name: str, host: str, current: bool = False) -> None:
    base = tmp_path / "docker-config"
    meta = base / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps(
        {"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host}}}))
    if current:
        (base / "config.json").write_text(json.dumps({"currentContext": name}))


def fake_ssh(tmp_path, monkeypatch, script: str) -> None:
    """An `ssh` first on PATH that runs ``script`` (sh) with ssh's arguments."""
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    ssh = d / "ssh"
    ssh.write_text("#!/bin/sh\n" + script + "\n")
    ssh.chmod(ssh.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{d}{os.pathsep}{os.environ['PATH']}")


# ------------------------------------------------------------------ which engine
def test_the_engine_is_chosen_as_the_docker_cli_chooses_with_the_project_between(
        tmp_path, monkeypatch):
    make_context(tmp_path, "current", "tcp://10.0.0.1:2375", current=True)
    make_context(tmp_path, "named", "ssh://me@box")
    make_context(tmp_path, "env", "tcp://10.0.0.3:2375")
    assert choose_endpoint(None)[1:3] == ("tcp://10.0.0.1:2375", "the current docker context")
    assert choose_endpoint("named")[1] == "ssh://me@box"
    assert "docker context named" in choose_endpoint("named")[2]
    assert choose_endpoint("tcp://10.0.0.9:2375")[1:3] == ("tcp://10.0.0.9:2375",
                                                          "[project] engine")
    monkeypatch.setenv("DOCKER_CONTEXT", "env")  # the environment beats the project's key
    assert choose_endpoint("named")[1] == "tcp://10.0.0.3:2375"
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.4:2375")  # and DOCKER_HOST beats both
    assert choose_endpoint("named")[1:3] == ("tcp://10.0.0.4:2375", "DOCKER_HOST")


def test_no_choice_at_all_is_the_local_socket():
    assert choose_endpoint(None) == (None, "unix:///var/run/docker.sock", "the default socket",
                                     None)


@pytest.mark.parametrize("where", ["DOCKER_CONTEXT", "[project] engine"])
def test_a_context_named_that_does_not_exist_is_an_error_saying_how_to_list_them(
        monkeypatch, where):
    if where == "DOCKER_CONTEXT":
        monkeypatch.setenv("DOCKER_CONTEXT", "nosuch")
    with pytest.raises(IrisenvError) as info:
        choose_endpoint("nosuch")
    assert info.value.what == "no docker context named 'nosuch'"
    assert where in info.value.why and "docker context ls" in info.value.fix


def test_a_project_opens_the_engine_its_engine_key_names(monkeypatch):
    from irisenv.engine import docker as backend

    cfg = parse_config('[project]\nname = "demo"\nengine = "tcp://10.0.0.9:2375"\n', None)
    made = {}
    monkeypatch.setattr(backend.DockerEngine, "_make_docker_py",
                        lambda self: made.setdefault("url", self._base_url))
    assert Project(cfg).engine.endpoint == "tcp://10.0.0.9:2375"
    assert made == {"url": "tcp://10.0.0.9:2375"}


@pytest.mark.parametrize("value, ok", [
    ("ssh://me@buildbox", True), ("tcp://10.0.0.5:2376", True), ("unix:///x.sock", True),
    ("buildbox", True), ("my.ctx-1", True), ("k8s://cluster", False), ("has space", False),
    ("-x", False), ("", False), ("tcp://[::1", False), ("tcp://", False), ("ssh://", False),
    ("unix://", False), ("tcp://host:99999", False), ("tcp://host:port", False),
    ("tcp://[::1]:2375", True), ("npipe:////./pipe/docker_engine", True)])
def test_the_engine_key_takes_an_endpoint_or_a_context_name(value, ok):
    text = f'[project]\nname = "demo"\nengine = "{value}"\n'
    if ok:
        assert parse_config(text, None).engine == value
    else:
        with pytest.raises(ConfigError) as info:
            parse_config(text, None)
        assert info.value.issues[0].key == "project.engine"


def test_the_engine_key_knows_the_schemes_the_engine_serves():
    from irisenv.config.kinds import EngineEndpoint

    assert EngineEndpoint._SCHEMES == DOCKER_SCHEMES


# ------------------------------------------------------------------ remote or not
@pytest.mark.parametrize("endpoint, remote", [
    (None, False), ("unix:///var/run/docker.sock", False), ("npipe:////./pipe/docker", False),
    ("tcp://127.0.0.1:2375", False), ("tcp://127.0.0.2:2375", False), ("tcp://localhost", False),
    ("tcp://[::1]:2375", False), ("ssh://me@localhost", False),
    ("tcp://10.0.0.5:2376", True), ("https://box.example:2376", True), ("ssh://me@box", True),
    ("ssh://box:2222", True), ("tcp://[fd00::5]:2375", True)])
def test_an_engine_is_remote_when_its_host_is_not_this_one(endpoint, remote):
    assert is_remote(endpoint) is remote


def test_the_engine_host_of_an_ssh_endpoint_is_what_ssh_config_makes_of_it(tmp_path, monkeypatch):
    fake_ssh(tmp_path, monkeypatch, 'echo "user me"; echo "hostname 10.1.2.3"; echo "port 22"')
    assert engine_host("ssh://me@buildbox") == "10.1.2.3"
    assert publish_address("ssh://me@buildbox") == "10.1.2.3"
    assert engine_host("tcp://box.example:2376") == "box.example"
    assert engine_host("unix:///var/run/docker.sock") == "127.0.0.1"


def test_engine_host_publishes_on_loopback_for_a_local_engine_and_the_address_for_a_remote():
    assert publish_address("unix:///var/run/docker.sock") == "127.0.0.1"
    assert publish_address("tcp://127.0.0.1:2375") == "127.0.0.1"
    assert publish_address("tcp://10.0.0.5:2376") == "10.0.0.5"


def test_an_engine_host_that_does_not_resolve_says_to_write_the_address():
    with pytest.raises(IrisenvError) as info:
        publish_address("tcp://no-such-host.invalid:2375")
    assert "cannot resolve the engine host no-such-host.invalid" == info.value.what
    assert "IP address" in info.value.fix


# ------------------------------------------------------------------ where ports are published
def inst(host_ip: str = "127.0.0.1"):
    text = f'[project]\nname = "demo"\n[instances.iris.ports]\nhost_ip = "{host_ip}"\n'
    return parse_config(text, None).instance()


@pytest.mark.parametrize("endpoint, host_ip, iris_host, problem", [
    ("unix:///var/run/docker.sock", "127.0.0.1", "127.0.0.1", False),
    ("unix:///var/run/docker.sock", "0.0.0.0", "127.0.0.1", False),
    ("unix:///var/run/docker.sock", "engine-host", "127.0.0.1", False),
    ("tcp://10.0.0.5:2375", "127.0.0.1", "127.0.0.1", True),
    ("tcp://10.0.0.5:2375", "::1", "::1", True),
    ("tcp://10.0.0.5:2375", "0.0.0.0", "10.0.0.5", False),
    ("tcp://box.example:2375", "::", "box.example", False),
    ("tcp://10.0.0.5:2375", "engine-host", "10.0.0.5", False),
    ("tcp://10.0.0.5:2375", "10.0.0.5", "10.0.0.5", False),
])
def test_iris_host_names_where_the_ports_are_published(endpoint, host_ip, iris_host, problem):
    i = inst(host_ip)
    assert host(endpoint, i) == iris_host
    assert (unreachable(endpoint, i) is not None) is problem
    if host_ip == "engine-host":
        assert placed(endpoint, i).ports.host_ip == iris_host  # what Docker is given


def remote_fake(endpoint: str = "tcp://10.0.0.5:2375") -> FakeEngine:
    fake = FakeEngine()
    fake.endpoint = endpoint
    fake.images[IMAGE] = IMG_ID
    fake.iris_on_start = dict(HEALTHY_IRIS)
    return fake


def project(fake, host_ip: str | None = None) -> Project:
    ports = f'[instances.iris.ports]\nhost_ip = "{host_ip}"\n' if host_ip else ""
    text = f'[project]\nname = "demo"\n[instances.iris]\nimage = "{IMAGE}"\n{ports}'
    return Project(parse_config(text, None), engine=fake)


def test_a_loopback_host_ip_on_a_remote_engine_is_a_plan_problem_and_sync_creates_nothing():
    fake = remote_fake()
    p = project(fake)
    plan = p.plan()
    [problem] = plan.problems
    assert problem.instance == "iris"
    assert problem.what == ("ports.host_ip 127.0.0.1 cannot be reached from this machine: the "
                            "engine at tcp://10.0.0.5:2375 is remote")
    assert 'host_ip = "engine-host"' in problem.fix and "[instances.iris.ports]" in problem.fix
    with pytest.raises(IrisenvError) as info:
        p.sync(Options(wait=False), timeout=5)
    assert "cannot be reached" in info.value.what
    assert not fake.calls("create") and not fake.calls("pull")


def test_connection_details_are_refused_where_this_machine_cannot_reach_the_ports():
    fake = remote_fake()
    project(fake, "engine-host").sync(Options(wait=False), timeout=5)
    with pytest.raises(IrisenvError) as info:
        project(fake).connection()  # the same container, its config now loopback
    assert "cannot be reached from this machine" in info.value.what


def test_engine_host_on_a_remote_engine_publishes_there_and_iris_host_agrees():
    fake = remote_fake()
    p = project(fake, "engine-host")
    assert p.plan().problems == []
    p.sync(Options(), timeout=10)
    [(cid, c)] = fake.containers.items()
    assert {ip for _, ip, _ in c["actual"].ports} == {"10.0.0.5"}
    conn = p.connection()
    assert conn.host == "10.0.0.5" and conn.port == c["ports"][1972]
    assert p.plan().changes == []  # the resolved address is the spec: no drift next time


def test_an_address_the_engine_host_lacks_is_refused_at_the_host_ip_line(tmp_path):
    from irisenv.engine.docker import _answer

    exc = _answer(500, "driver failed programming external connectivity on endpoint demo-iris "
                       "(abc): Error starting userland proxy: listen tcp4 10.9.9.9:41972: bind: "
                       "cannot assign requested address")
    assert exc.key == "ports.host_ip" and "0.0.0.0" in exc.fix
    fake = remote_fake()
    fake.fail("start", exc)
    text = (f'[project]\nname = "demo"\n[instances.iris]\nimage = "{IMAGE}"\n'
            '[instances.iris.ports]\nhost_ip = "10.9.9.9"\n')
    (tmp_path / "iris-devtester.toml").write_text(text)
    p = Project(parse_config(text, tmp_path / "iris-devtester.toml"), engine=fake)
    with pytest.raises(ConfigError) as info:
        p.sync(Options(wait=False), timeout=5)
    [issue] = info.value.issues
    assert issue.key == "instances.iris.ports.host_ip" and issue.line == 6
    assert not fake.containers  # nothing half-made is left behind


# ------------------------------------------------------------------ ssh
@pytest.mark.parametrize("said, what", [
    ("me@box: Permission denied (publickey).", "ssh could not log in"),
    ("Host key verification failed.", "ssh does not trust the engine host's key"),
    ("ssh: Could not resolve hostname box: Name or service not known",
     "ssh cannot resolve the host name"),
    ("ssh: connect to host box port 22: Connection refused", "no ssh server answers"),
    ("bash: line 1: docker: command not found", "ssh logged in, but the engine host has no "
                                                 "docker CLI"),
    ("permission denied while trying to connect to the Docker daemon socket at "
     "unix:///var/run/docker.sock", "ssh logged in, but the docker CLI there cannot reach "
                                    "its engine"),
])
def test_an_ssh_engine_that_cannot_be_reached_says_what_ssh_said_and_how_to_fix_it(
        tmp_path, monkeypatch, said, what):
    fake_ssh(tmp_path, monkeypatch, f"echo {json.dumps(said)} >&2; exit 255")
    err = ssh_unavailable("ssh://me@box:2222")
    assert err.what == f"cannot reach the Docker engine at ssh://me@box:2222: {what}"
    # the commands the fix gives reach the endpoint's port, not ssh's default
    assert said in err.why and "`ssh -p 2222 me@box docker version`" in err.fix
    assert "ssh me@box" not in err.fix
    if what == "ssh could not log in":
        assert "`ssh-copy-id -p 2222 me@box`" in err.fix
    assert "`ssh me@box docker version`" in ssh_unavailable("ssh://me@box").fix


def test_an_ssh_engine_whose_ssh_works_is_not_blamed_on_ssh(tmp_path, monkeypatch):
    fake_ssh(tmp_path, monkeypatch, "echo 20.10.24")
    assert ssh_unavailable("ssh://me@box") is None


def test_ssh_runs_without_prompting_with_the_port_and_user_of_the_endpoint(tmp_path, monkeypatch):
    args = tmp_path / "args"
    fake_ssh(tmp_path, monkeypatch, f'printf "%s\\n" "$@" > {args}; exit 255')
    ssh_unavailable("ssh://me@box:2222")
    assert args.read_text().splitlines() == [
        "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", "2222", "--", "me@box",
        "docker version --format '{{.Server.Version}}'"]


# ------------------------------------------------------------------ a context's TLS
def tls_context(tmp_path, name: str, host: str, *, files=("ca", "cert", "key"),
                skip: bool = False) -> None:
    """A context with TLS, as `docker context create NAME --docker host=...,ca=...,cert=...,
    key=...` stores it: the files under contexts/tls/<sha256>/docker/."""
    make_context(tmp_path, name, host)
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = tmp_path / "docker-config" / "contexts" / "meta" / digest / "meta.json"
    data = json.loads(meta.read_text())
    data["Endpoints"]["docker"]["SkipTLSVerify"] = skip
    meta.write_text(json.dumps(data))
    tls = tmp_path / "docker-config" / "contexts" / "tls" / digest / "docker"
    tls.mkdir(parents=True)
    for f in files:
        (tls / f"{f}.pem").write_text(f"not a real {f}\n")


def test_a_contexts_tls_files_are_used_as_docker_py_reads_them(tmp_path, monkeypatch):
    from docker.context import ContextAPI

    from irisenv.engine.docker import DockerEngine

    tls_context(tmp_path, "secure", "tcp://10.0.0.7:2376")
    (tmp_path / "docker-config" / "config.json").write_text("{}")  # docker-py looks beside it
    monkeypatch.setenv("DOCKER_CONTEXT", "secure")
    engine = DockerEngine()
    client = engine._docker_py
    theirs = ContextAPI.get_context("secure").TLSConfig
    assert client.base_url == "https://10.0.0.7:2376"
    assert client.cert == theirs.cert and client.cert[0].endswith("cert.pem")
    assert client.verify == theirs.ca_cert and client.verify.endswith("ca.pem")
    engine.close()


def test_a_tls_context_without_a_port_speaks_to_2376_and_keys_its_locks_by_it(tmp_path,
                                                                             monkeypatch):
    from irisenv.engine.docker import DockerEngine
    from irisenv.lock import lock_key

    tls_context(tmp_path, "noport", "tcp://10.0.0.8", files=("ca",))
    monkeypatch.setenv("DOCKER_CONTEXT", "noport")
    engine = DockerEngine()
    assert engine.endpoint == "tcp://10.0.0.8:2376"
    assert engine._docker_py.base_url == "https://10.0.0.8:2376"
    assert lock_key(engine.endpoint, "p") != lock_key("tcp://10.0.0.8", "p")  # 2375 there
    engine.close()


def test_a_context_without_tls_data_speaks_plain_http(tmp_path, monkeypatch):
    from irisenv.engine.docker import DockerEngine

    make_context(tmp_path, "plain", "tcp://10.0.0.9:2375")
    monkeypatch.setenv("DOCKER_CONTEXT", "plain")
    engine = DockerEngine()
    assert engine._docker_py.base_url == "http://10.0.0.9:2375"
    engine.close()


def test_the_first_bytes_to_a_tls_context_are_a_tls_handshake(tmp_path, monkeypatch):
    """Over the wire: what reaches the engine's port is a TLS ClientHello (0x16), not
    `GET /v1.44/...` (a context's TLS was once ignored)."""
    import socket
    import threading

    from irisenv.engine.docker import DockerEngine
    from irisenv.errors import IrisenvError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    tls_context(tmp_path, "wire", f"tcp://127.0.0.1:{port}", files=(), skip=True)
    monkeypatch.setenv("DOCKER_CONTEXT", "wire")
    got = []

    def accept():
        conn, _ = listener.accept()
        conn.settimeout(5)
        got.append(conn.recv(8))
        conn.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    engine = DockerEngine(timeout=5)
    try:
        with pytest.raises(IrisenvError):
            engine.info()
    finally:
        engine.close()
        t.join(10)
        listener.close()
    assert got and got[0][:1] == b"\x16", got


def test_a_docker_host_that_is_not_a_url_is_an_error_not_a_bug(monkeypatch):
    from irisenv.engine.docker import DockerEngine

    monkeypatch.setenv("DOCKER_HOST", "tcp://[::1")
    with pytest.raises(IrisenvError) as info:
        DockerEngine()
    assert "tcp://[::1 is not a valid URL" in info.value.what
    assert "DOCKER_HOST gives it" in info.value.why


@pytest.mark.parametrize("status", [404, 500])
def test_an_http_server_that_is_not_docker_is_named_as_such(status):
    """Something else answers at the endpoint (a web server, a proxy): not 'Docker could not
    find an object' (a 404 was read as Docker's own)."""
    import http.server
    import threading

    from irisenv.engine.docker import DockerEngine

    class NotDocker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.send_header("Server", "keryx")
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotDocker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"tcp://127.0.0.1:{server.server_address[1]}"
    engine = DockerEngine(endpoint, timeout=5)
    try:
        with pytest.raises(IrisenvError) as info:
            engine.list_project("demo")
    finally:
        engine.close()
        server.shutdown()
    assert info.value.what == f"no Docker engine at {endpoint}"
    assert "keryx" in info.value.why and "not the Docker API" in info.value.why


def test_dockers_own_json_error_without_api_version_is_still_dockers():
    """Docker's 404 for an unknown route has no Api-Version header, but is its JSON error."""
    import requests

    from irisenv.engine.docker import _dockers_answer

    def answer(body: bytes, headers: dict) -> requests.Response:
        r = requests.Response()
        r.status_code, r._content = 404, body
        r.headers.update(headers)
        return r

    assert _dockers_answer(answer(b'{"message":"page not found"}',
                                  {"Content-Type": "application/json"}))
    assert _dockers_answer(answer(b"", {"Api-Version": "1.41"}))
    assert not _dockers_answer(answer(b"<html>not found</html>", {"Server": "nginx"}))
    assert not _dockers_answer(answer(b'["a list"]', {}))
