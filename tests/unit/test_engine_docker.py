"""The Docker adapter's pure parts: reading `docker inspect` into typed settings, and
classifying Docker's errors (a taken port, a refused config value)."""
from __future__ import annotations

import json

import pytest

from irisenv.core.observed import Actual
from irisenv.engine.base import ContainerState
from irisenv.engine.docker import _actual, _memory, _observed, _state


def test_inspect_is_read_into_real_settings():
    info = {
        "HostConfig": {
            "Memory": 1073741824, "NanoCpus": 0, "CpuQuota": 150000, "CpuPeriod": 100000,
            "PortBindings": {"1972/tcp": [{"HostIp": "", "HostPort": "5000"}],
                             "52773/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
                             "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "0"}]},
            "Tmpfs": {"/scratch": "size=64m"},
        },
        "Mounts": [{"Type": "volume", "Name": "demo-iris-data", "Destination": "/irisenv-data"},
                   {"Type": "bind", "Source": "/home/me", "Destination": "/mnt"}],
    }
    assert _actual(info) == Actual(
        memory=1073741824, nano_cpus=1_500_000_000,  # --cpu-quota read as the same limit
        ports=(("1972/tcp", "0.0.0.0", 5000),  # no host IP: every interface
               ("52773/tcp", "127.0.0.1", None),  # Docker-assigned
               ("53/udp", "0.0.0.0", None)),
        mounts={"/irisenv-data": "volume demo-iris-data", "/mnt": "bind /home/me",
                "/scratch": "tmpfs"})


def test_an_unlimited_unpublished_container():
    assert _actual({"HostConfig": {"PortBindings": None, "Tmpfs": None}, "Mounts": None}) == Actual()



@pytest.mark.parametrize("mem, used", [
    ({"usage": 300, "stats": {"inactive_file": 100}}, 200),  # cgroup v2
    ({"usage": 300, "stats": {"total_inactive_file": 120}}, 180),  # cgroup v1
    ({"usage": 300, "stats": {}}, 300),
    ({"usage": 50, "stats": {"inactive_file": 80}}, 0),
    ({}, None),  # a stopped container: Docker reports no usage
])
def test_memory_use_is_read_as_docker_stats_shows_it(mem, used):
    assert _memory(mem) == used


def test_a_container_lists_with_when_it_was_made():
    row = {"Id": "a" * 64, "Names": ["/demo-iris"], "State": "exited", "Created": 1796000000}
    assert _observed(row).created == 1796000000
    assert _observed({**row, "Created": 0}).created is None

def test_inspect_state_is_read_into_a_container_state():
    running = {"State": {"Status": "running", "Running": True, "ExitCode": 0,
                         "StartedAt": "2026-11-23T12:00:00.123456789Z",
                         "Health": {"Status": "healthy"}}}
    assert _state(running) == ContainerState(status="running", running=True, exit_code=0,
                                             started_at=1795435200.123456, health="healthy")
    exited = {"State": {"Status": "exited", "Running": False, "ExitCode": 137,
                        "StartedAt": "2026-11-23T12:00:00Z"}}
    assert _state(exited) == ContainerState(status="exited", running=False, exit_code=137,
                                            started_at=1795435200.0)
    # created, never started: Docker's zero time, and no exit code worth reporting
    created = {"State": {"Status": "created", "Running": False, "ExitCode": 0,
                         "StartedAt": "0001-01-01T00:00:00Z"}}
    assert _state(created) == ContainerState(status="created", running=False)


def api_error(status: int, explanation: str):
    import docker.errors
    import requests

    resp = requests.Response()
    resp.status_code = status
    resp.headers["Api-Version"] = "1.41"  # as Docker's answers carry it
    return docker.errors.APIError(f"{status} error", response=resp, explanation=explanation)


def test_a_taken_host_port_is_classified_with_its_number():
    from irisenv.engine.docker import classify
    from irisenv.errors import PortInUseError

    err = classify(api_error(500, "driver failed programming external connectivity on endpoint "
                                  "demo-iris: Error starting userland proxy: listen tcp4 "
                                  "127.0.0.1:40123: bind: address already in use"))
    assert isinstance(err, PortInUseError) and err.port == 40123
    assert err.what == "host port 40123 is already in use"
    err = classify(api_error(500, "Ports are not available: port is already allocated"))
    assert isinstance(err, PortInUseError) and err.port is None


@pytest.mark.parametrize("status,text,key,fix", [
    (500, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available", "cpus",
     "set cpus to at most 2 (what this engine has), or remove it"),
    (400, "Range of CPUs is from 0.01 to 16.00, as there are only 16 CPUs available", "cpus",
     "set cpus to at most 16 (what this engine has), or remove it"),
    (400, "no such image: Irisenv:latest: invalid reference format: repository name must be "
          "lowercase", "image", None),
    (400, "Minimum memory limit allowed is 6MB", "memory", None),
])
def test_docker_refusing_a_config_value_names_the_key(status, text, key, fix):
    from irisenv.engine.docker import classify
    from irisenv.errors import RefusedError

    err = classify(api_error(status, text))
    assert isinstance(err, RefusedError) and err.key == key
    assert err.what == f"Docker refused the {key} value"
    assert "no such image" not in err.why
    if fix:
        assert err.fix == fix


def test_an_invalid_reference_on_pull_is_a_refused_image():
    from irisenv.engine.docker import registry_error
    from irisenv.errors import RefusedError

    err = registry_error("localhost:5000/", "invalid reference format", 400)
    assert isinstance(err, RefusedError) and (err.key, err.value) == ("image", "localhost:5000/")
    assert not isinstance(registry_error("iris:nope", "manifest unknown", 404), RefusedError)


def test_a_refused_value_becomes_a_config_error_at_its_line(tmp_path):
    from irisenv.config import load_config
    from irisenv.errors import ConfigError, RefusedError
    from irisenv.project import Project

    (tmp_path / "iris-devtester.toml").write_text(
        '[project]\nname = "demo"\n\n[instances.a]\nimage = "Bad:1"\ncpus = 1024\n\n'
        '[instances.b]\nimage = "Bad:1"\n\n[instances.c]\nimage = "good:1"\n')
    project = Project(load_config(tmp_path / "iris-devtester.toml"), engine=object())
    err = project.refused(RefusedError("cpus", "Docker refused the cpus value", "Range of CPUs "
                                       "is from 0.01 to 2.00", "set cpus to at most 2",
                                       instance="a"))
    assert isinstance(err, ConfigError)
    [issue] = err.issues
    assert (issue.key, issue.line, issue.column) == ("instances.a.cpus", 6, 8)
    assert issue.what == "Docker refused the cpus value: Range of CPUs is from 0.01 to 2.00"
    assert issue.fix == "set cpus to at most 2"
    assert "iris-devtester.toml:6:8: instances.a.cpus: Docker refused" in issue.render()
    # a refused image reference: every instance that uses it
    err = project.refused(RefusedError("image", "Docker refused the image value",
                                       "invalid reference format", "fix it", value="Bad:1"))
    assert [(i.key, i.line) for i in err.issues] == [("instances.a.image", 5),
                                                     ("instances.b.image", 9)]


def recording_client():
    """docker-py's APIClient (its create_host_config; no engine is contacted), recording
    the calls which would reach the engine."""
    import io
    import tarfile

    import docker

    class Recording(docker.APIClient):
        def create_container(self, image, **kwargs):
            self.calls.append(("create_container", image, kwargs))
            return {"Id": "c" * 64}

        def put_archive(self, container, path, data):
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                self.calls.append(("put_archive", path, [
                    (m.name, m.uid, m.gid, oct(m.mode),
                     tar.extractfile(m).read() if m.isfile() else None)
                    for m in tar.getmembers()]))

    client = Recording(version="1.41")
    client.calls = []
    return client


def test_a_run_spec_is_translated_into_docker_calls():
    from irisenv.core.runspec import Files, PortBinding, RunSpec, VolumeMount
    from irisenv.engine.docker import DockerEngine

    client = recording_client()
    engine = DockerEngine(client=client)
    spec = RunSpec(name="demo-iris", image="img:1", command=("--flag", "x"), env={"A": "1"},
                   labels={"l": "v"}, ports=(PortBinding(1972, "127.0.0.1", None),
                                             PortBinding(52773, "0.0.0.0", 52000)),
                   memory=1024**3, nano_cpus=1_500_000_000,
                   volumes=(VolumeMount("demo-iris-data", "/data", {"l": "v"}),),
                   tmpfs={"/scratch": "size=64m"}, stop_timeout=7,
                   files=Files({"/home/u/dir/a.txt": b"A", "/home/u/dir/b.txt": b"B"},
                               owner=51773, dirs=("/data/sub",)))
    assert engine.create(spec) == "c" * 64
    engine.put_files("c" * 64, spec.files)
    [(_, image, kwargs), put_dir, put_data] = client.calls
    assert image == "img:1"
    assert kwargs == {
        "command": ["--flag", "x"], "name": "demo-iris", "labels": {"l": "v"},
        "environment": {"A": "1"}, "ports": [1972, 52773], "stop_timeout": 7,
        "hostname": None, "detach": True,
        "host_config": {
            "NetworkMode": "default", "Init": False, "Memory": 1024**3,
            "NanoCpus": 1_500_000_000, "Tmpfs": {"/scratch": "size=64m"},
            "Mounts": [{"Target": "/data", "Source": "demo-iris-data", "Type": "volume",
                        "ReadOnly": False}],
            "PortBindings": {"1972/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
                             "52773/tcp": [{"HostIp": "0.0.0.0", "HostPort": "52000"}]}}}
    # each directory in its parent, made for the owner: files 0600, directories 0700
    assert put_dir == ("put_archive", "/home/u", [
        ("dir", 51773, 51773, "0o700", None),
        ("dir/a.txt", 51773, 51773, "0o600", b"A"), ("dir/b.txt", 51773, 51773, "0o600", b"B")])
    assert put_data == ("put_archive", "/data", [("sub", 51773, 51773, "0o700", None)])


# ------------------------------------------------------------------ the current context
@pytest.mark.parametrize("current, meta_host, expected", [
    (None, None, None), ("default", None, None),
    ("remote", "ssh://me@box", "ssh://me@box"), ("sock", "unix:///run/user/1/docker.sock",
                                                 "unix:///run/user/1/docker.sock"),
    ("missing", "-", None),  # a context without its meta file
])
def test_the_current_context_is_read_as_docker_py_reads_it(tmp_path, monkeypatch, current,
                                                            meta_host, expected):
    import hashlib

    from docker.context import ContextAPI

    from irisenv.engine.docker import _context_host

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": current} if current
                                                     else {"auths": {}}))
    if meta_host and meta_host != "-":
        meta = tmp_path / "contexts" / "meta" / hashlib.sha256(current.encode()).hexdigest()
        meta.mkdir(parents=True)
        (meta / "meta.json").write_text(json.dumps({
            "Name": current, "Metadata": {},
            "Endpoints": {"docker": {"Host": meta_host, "SkipTLSVerify": False}}}))
    ctx = ContextAPI.get_current_context()
    docker_py = ctx.Host if ctx is not None and current not in (None, "default") else None
    assert _context_host() == docker_py == expected


# ------------------------------------------------------------------ registries
# Docker's words for a registry that does not serve an image, as Docker Engine 20.10 says
# them to /distribution (checking a tag) and /images/create (pulling); the first three were
# read from a real `docker-registry` (tests/docker/test_image_registry.py), the Docker Hub one
# from its answer for a private or absent repository.
REGISTRY_ANSWERS = [
    (500, 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
     "unreachable"),
    (404, "manifest for 127.0.0.1:5000/team/iris:nope not found: manifest unknown: manifest "
          "unknown", "missing"),
    (500, 'Head "http://127.0.0.1:5000/v2/team/iris/manifests/v1": no basic auth credentials',
     "denied"),
    (401, "unauthorized: authentication required", "denied"),
    (404, "pull access denied for team/iris, repository does not exist or may require 'docker "
          "login': denied: requested access to the resource is denied", "denied"),
    (500, 'Get "https://registry.example.com/v2/": dial tcp: lookup registry.example.com: no '
          "such host", "unreachable"),
    (500, 'Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client',
     "unreachable"),
    (None, "received unexpected HTTP status: 503 Service Unavailable", "unreachable"),
]


@pytest.mark.parametrize("status, text, reason", REGISTRY_ANSWERS)
def test_a_registry_that_does_not_serve_an_image_is_classified(status, text, reason):
    from irisenv.engine.docker import registry_error
    from irisenv.errors import RegistryError

    ref = "127.0.0.1:5000/team/iris:v1"
    for pulling, doing in ((True, f"image {ref} could not be pulled"),
                           (False, f"cannot check image {ref}")):
        err = registry_error(ref, text, status, pulling=pulling)
        assert isinstance(err, RegistryError) and err.reason == reason
        assert err.what.startswith(f"{doing}: registry 127.0.0.1:5000 ")
        assert err.why == text
    fix = registry_error(ref, text, status).fix
    assert {"unreachable": "start the registry", "missing": "docker push " + ref,
            "denied": "docker login 127.0.0.1:5000"}[reason] in fix


def test_a_pull_failing_on_the_engine_side_is_not_blamed_on_the_registry():
    from irisenv.engine.docker import registry_error
    from irisenv.errors import IrisenvError, RegistryError

    err = registry_error("team/iris:v1", "write /var/lib/docker/tmp/x: no space left on device",
                         None)
    assert isinstance(err, IrisenvError) and not isinstance(err, RegistryError)
    assert err.what == "image team/iris:v1 could not be pulled" and "full disk" in err.fix


@pytest.mark.parametrize("ref, host", [
    ("intersystemsdc/iris-community:latest", "docker.io"), ("busybox", "docker.io"),
    ("containers.intersystems.com/intersystems/iris-community:latest-em",
     "containers.intersystems.com"),
    ("localhost/iris:v1", "localhost"), ("127.0.0.1:5000/iris:v1", "127.0.0.1:5000"),
])
def test_the_registry_of_a_reference(ref, host):
    from irisenv.engine.docker import registry_host

    assert registry_host(ref) == host


class _Distribution:
    """docker-py's APIClient as far as the registry calls go: answers, or raises."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def inspect_distribution(self, ref):
        self.calls.append(ref)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def inspect_image(self, ref):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_the_digest_behind_a_tag_is_the_distribution_descriptor():
    from irisenv.engine.docker import DockerEngine

    digest = "sha256:" + "c" * 64
    client = _Distribution({"Descriptor": {"mediaType": "application/vnd.docker.distribution."
                                           "manifest.v2+json", "digest": digest, "size": 1569},
                            "Platforms": [{"architecture": "amd64", "os": "linux"}]})
    assert DockerEngine("unix:///x.sock", client=client).registry_digest("r:5/a:v1") == digest
    assert client.calls == ["r:5/a:v1"]


@pytest.mark.parametrize("status, text, reason", REGISTRY_ANSWERS[:5])
def test_a_registry_failure_of_a_tag_check_is_a_registry_error_not_a_transient_one(
        status, text, reason):
    from irisenv.engine import retry
    from irisenv.engine.docker import DockerEngine
    from irisenv.errors import RegistryError

    client = _Distribution(api_error(status, text))
    engine = retry.with_retries(DockerEngine("unix:///x.sock", client=client))
    with pytest.raises(RegistryError) as info:
        engine.registry_digest("127.0.0.1:5000/team/iris:v1")
    assert info.value.reason == reason
    assert len(client.calls) == 1  # asked once: a registry's answer is not retried


def test_the_local_image_digests_are_its_repo_digests():
    from irisenv.engine.docker import DockerEngine

    d1, d2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    client = _Distribution({"Id": "sha256:" + "a" * 64,
                            "RepoDigests": [f"127.0.0.1:5000/team/iris@{d1}", f"team/iris@{d2}"]})
    assert DockerEngine("unix:///x.sock", client=client).image_digests("team/iris:v1") == (d1, d2)
    client.answer = {"Id": "sha256:" + "a" * 64, "RepoDigests": []}  # built here
    assert DockerEngine("unix:///x.sock", client=client).image_digests("team/iris:v1") == ()
    client.answer = api_error(404, "No such image: team/iris:v1")
    assert DockerEngine("unix:///x.sock", client=client).image_digests("team/iris:v1") == ()


def test_nested_files_go_in_one_archive_with_every_directory_between():
    """put_files makes missing directories at any depth (the Files contract): files in
    sibling subdirectories of a directory that does not exist yet (an init's src/App/,
    sql/) go in one archive put into the root's parent, with each directory between."""
    from irisenv.core.runspec import Files
    from irisenv.engine.docker import DockerEngine

    client = recording_client()
    engine = DockerEngine(client=client)
    engine.put_files("c" * 64, Files({"/r/init/a/src/App/X.cls": b"X", "/r/init/a/sql/s.sql": b"S"},
                                     owner=51773, dirs=("/r/init",)))
    [put] = client.calls
    assert put[0] == "put_archive" and put[1] == "/r"
    names = [(m[0], m[3]) for m in put[2]]
    assert names == [("init", "0o700"), ("init/a", "0o700"), ("init/a/sql", "0o700"),
                     ("init/a/src", "0o700"), ("init/a/src/App", "0o700"),
                     ("init/a/src/App/X.cls", "0o600"), ("init/a/sql/s.sql", "0o600")]
