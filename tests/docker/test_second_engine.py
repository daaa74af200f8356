"""irisenv against a second, remote Docker engine (engines.py: another dockerd in a network
namespace of its own, its host 10.213.N.2, reached over tcp:// only): the whole
lifecycle through DOCKER_HOST, IRIS_HOST:IRIS_PORT reached from this machine, the plan
problem for the default loopback host_ip, doctor's port check on the engine's host, the
engine-side lock on a fresh engine, and two "machines" (separate state directories, so no
shared file lock) syncing one project at once."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
import uuid

import docker
import pytest
from helpers import STANDIN_IMAGE, DockerProject, describe, instance_toml, wait_for

LOCK_IMAGE = "irisenv-lock:1"


@pytest.fixture
def remote_client(second_engine):
    c = docker.DockerClient(base_url=second_engine.tcp, timeout=60)
    yield c
    c.close()


def remote_project(path, second_engine, client, state_dir) -> DockerProject:
    p = DockerProject(path, client)  # its teardown cleans the second engine
    for var in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        p.env.pop(var, None)
    p.env["DOCKER_HOST"] = second_engine.tcp
    p.env["IRISENV_STATE_DIR"] = str(state_dir)
    return p


@pytest.fixture
def remote(tmp_path, second_engine, remote_client, state_dir):
    p = remote_project(tmp_path, second_engine, remote_client, state_dir)
    yield p
    p.cleanup()


def lock_containers(client) -> list:
    return client.containers.list(all=True, filters={"name": "irisenv-lock."})


def test_the_default_loopback_host_ip_is_a_plan_problem_and_nothing_is_made(remote,
                                                                           remote_client):
    remote.configure()
    plan = remote.run("plan")
    assert plan.returncode == 1, describe(plan)
    assert "ports.host_ip 127.0.0.1 cannot be reached from this machine" in plan.stdout + plan.stderr
    sync = remote.run("sync", "--progress", "plain")
    assert sync.returncode == 1, describe(sync)
    assert 'host_ip = "engine-host"' in sync.stderr
    assert remote.containers() == [] and lock_containers(remote_client) == []


@pytest.mark.parametrize("host_ip", ["engine-host", "0.0.0.0"])
def test_the_whole_lifecycle_through_docker_host_tcp(remote, remote_client, second_engine,
                                                     host_ip):
    remote.configure(ports={"host_ip": host_ip})
    remote.ok("sync", "--progress", "plain")
    c = remote.container()
    bindings = c.attrs["HostConfig"]["PortBindings"]["1972/tcp"]
    assert [b["HostIp"] for b in bindings] == [second_engine.host if host_ip == "engine-host"
                                               else "0.0.0.0"]
    status = remote.run("status", "--json")
    assert status.returncode == 0, describe(status)
    assert json.loads(status.stdout)["instances"][0]["state"] == "running"
    env = json.loads(remote.ok("env", "--format", "json").stdout)
    assert env["IRIS_HOST"] == second_engine.host
    # from this machine: the superserver port takes a connection, the web port answers
    with socket.create_connection((env["IRIS_HOST"], int(env["IRIS_PORT"])), timeout=5):
        pass
    url = f"http://{env['IRIS_HOST']}:{env['IRIS_WEB_PORT']}/csp/sys/UtilHome.csp"
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.status == 200
    assert lock_containers(remote_client) == []  # taken for the changes, released
    remote.ok("sync")  # a no-op
    remote.ok("down")
    assert remote.containers() == []
    # the "auto" ports were leased from this machine's registry (checked free on the
    # engine's host): the same ones come back after down and sync
    listed = json.loads(remote.ok("ports", "--json").stdout)
    mine = {(e["instance"], e["kind"]): e["port"] for e in listed["entries"]
            if e["project"] == remote.name}
    assert mine == {("iris", "superserver"): int(env["IRIS_PORT"]),
                    ("iris", "web"): int(env["IRIS_WEB_PORT"])}
    remote.ok("sync", "--no-wait")
    again = json.loads(remote.ok("env", "--format", "json").stdout)
    assert (again["IRIS_PORT"], again["IRIS_WEB_PORT"]) == (env["IRIS_PORT"], env["IRIS_WEB_PORT"])


def test_two_machines_syncing_one_project_on_one_engine_take_turns(
        tmp_path_factory, second_engine, remote_client):
    """Two processes with state directories of their own (so no shared file lock), started
    together: the second waits for the first's engine-side lock, then finds the container
    made; neither meets a conflict, both exit 0, one container."""
    a = remote_project(tmp_path_factory.mktemp("machine-a"), second_engine, remote_client,
                       tmp_path_factory.mktemp("state-a"))
    b = DockerProject(tmp_path_factory.mktemp("machine-b"), remote_client)
    b.name, b.env = a.name, {**a.env, "IRISENV_STATE_DIR": str(tmp_path_factory.mktemp("state-b"))}
    try:
        for p in (a, b):  # the same project, a boot long enough for the two to overlap
            p.configure(boot="2", ports={"host_ip": "engine-host"})
        procs = [p.popen("sync", "--progress", "plain") for p in (a, b)]
        results = [(proc.wait(timeout=120), *proc.communicate()) for proc in procs]
        for code, out, err in results:
            assert code == 0, f"exit {code}\n--- stdout\n{out}\n--- stderr\n{err}"
        errs = [err for _, _, err in results]
        assert not any("replan" in e or "conflict" in e.lower() for e in errs), errs
        assert sum("waiting for another irisenv working on this project on the engine" in e
                   for e in errs) == 1, errs
        assert len(a.containers()) == 1 and a.container().status == "running"
        assert lock_containers(remote_client) == []
    finally:
        a.cleanup()


def test_doctor_checks_a_fixed_port_on_the_engines_host(remote, remote_client, second_engine):
    taken = remote_client.containers.run(
        STANDIN_IMAGE, detach=True, name=f"{remote.name}-squatter",
        environment={"STANDIN_BOOT_SECONDS": "0"},
        ports={"1972/tcp": (second_engine.host, None)})
    port = int(wait_for(lambda: (taken.reload() or taken.ports.get("1972/tcp") or [{}])[0]
                        .get("HostPort"), what="the squatter's port"))
    free = port + 1 if port < 65535 else port - 1
    remote.configure(ports={"host_ip": "engine-host", "superserver": port, "web": free})
    out = json.loads(remote.run("doctor", "--json").stdout)
    checks = {c["check"]: c for c in out["checks"]}
    assert checks[f"iris: port {port}"]["status"] == "fail"
    assert f"in use on {second_engine.host}" in checks[f"iris: port {port}"]["detail"]
    assert checks[f"iris: port {free}"] == {"check": f"iris: port {free}", "status": "ok",
                                            "detail": f"free on {second_engine.host}"}
    assert "(remote), chosen by DOCKER_HOST" in checks["engine"]["detail"]
    remote.configure()  # loopback on a remote engine
    checks = {c["check"]: c for c in json.loads(remote.run("doctor", "--json").stdout)["checks"]}
    assert checks["iris: host_ip"]["status"] == "fail"


@pytest.mark.parametrize("via", ["tcp", "unix"])
def test_the_engine_lock_on_a_fresh_engine(second_engine, remote_client, via):
    """The lock image is made on first use; a second create of the name is a conflict;
    read and remove by ID. Over docker-py (tcp) and over the socket client (unix)."""
    from irisenv.engine.docker import DockerEngine
    from irisenv.errors import ConflictError

    try:
        remote_client.images.remove(LOCK_IMAGE, force=True)
    except docker.errors.ImageNotFound:
        pass
    engine = DockerEngine(getattr(second_engine, via))
    name = f"irisenv-lock.t-{via}"
    labels = {"io.irisenv.managed-by": "irisenv", "io.irisenv.lock.token": via}
    lock_id = engine.create_lock(name, labels)
    try:
        assert remote_client.images.get(LOCK_IMAGE).attrs["Size"] == 0
        with pytest.raises(ConflictError):
            engine.create_lock(name, {"io.irisenv.lock.token": "other"})
        record = engine.read_lock(name)
        assert record.id == lock_id and record.labels["io.irisenv.lock.token"] == via
        assert remote_client.containers.get(lock_id).status == "created"
    finally:
        engine.remove_lock(lock_id)
    engine.remove_lock(lock_id)  # gone already: fine
    assert engine.read_lock(name) is None
    engine.close()


def test_a_cold_sync_on_a_fresh_local_socket_engine_makes_the_lock_without_docker_py(
        tmp_path, second_engine, remote_client, state_dir):
    """The first sync on an engine imports the lock image: over the socket client too, so a
    cold sync on a local socket still never imports docker-py."""
    try:
        remote_client.images.remove(LOCK_IMAGE, force=True)
    except docker.errors.ImageNotFound:
        pass
    p = remote_project(tmp_path, second_engine, remote_client, state_dir)
    p.env["DOCKER_HOST"] = second_engine.unix
    try:
        p.configure()
        code = ("import sys\nfrom irisenv.cli.main import main\nrc = main(sys.argv[1:])\n"
                "sys.stderr.write('\\nimported: ' + ' '.join(sorted(m for m in ('docker', "
                "'requests', 'urllib3') if m in sys.modules)) + '\\n')\nsys.exit(rc)")
        proc = subprocess.run([sys.executable, "-c", code, "sync", "--no-wait"], cwd=p.path,
                              capture_output=True, text=True, env=p.env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.splitlines()[-1] == "imported: ", proc.stderr
        assert remote_client.images.get(LOCK_IMAGE).attrs["Size"] == 0
        assert lock_containers(remote_client) == []
    finally:
        p.cleanup()


@pytest.fixture(scope="module")
def link_registry(second_engine, tmp_path_factory):
    """A registry on this machine's side of the second engine's link: the remote engine
    pulls from it over the network, as from a registry on another machine."""
    from registries import Registry, RegistryUnavailable

    r = Registry(tmp_path_factory.mktemp("link-registry"), address=second_engine.client_address)
    try:
        r.start()
    except RegistryUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield r
    r.stop()


def _remote_build(second_engine, ref: str, line: str) -> None:
    second_engine.docker("build", "-q", "-t", ref, "-", input=f"FROM {STANDIN_IMAGE}\n{line}\n",
                         timeout=300)


def test_the_remote_engine_pulls_from_a_registry_and_sees_a_moved_tag(
        remote, remote_client, second_engine, link_registry):
    """The image is absent on the remote engine: sync has the engine pull it (with
    progress) from a registry it reaches over the network; with pull = "always" a tag moved
    in the registry is a visible replace, asked of the remote engine (one round trip)."""
    ref = link_registry.repository("remote") + ":v1"
    token = uuid.uuid4().hex
    _remote_build(second_engine, ref, f"RUN echo {token} > /home/irisowner/irisenv-test-layer")
    second_engine.docker("push", ref, timeout=120)
    second_engine.docker("rmi", ref)
    with pytest.raises(docker.errors.ImageNotFound):
        remote_client.images.get(ref)
    remote.write(instance_toml("iris", pull="always", ports={"host_ip": "engine-host"})
                 .replace(f'image = "{STANDIN_IMAGE}"', f'image = "{ref}"'))
    try:
        plan = remote.run("plan", "--detailed-exitcode")
        assert plan.returncode == 2 and f"+ image {ref}\n" in plan.stdout, describe(plan)
        proc = remote.run("sync", "--progress", "json", "--timeout", "60")
        assert proc.returncode == 0, describe(proc)
        kinds = [json.loads(line)["event"] for line in proc.stderr.splitlines()
                 if line.startswith("{")]
        assert kinds.index("pull") < kinds.index("pulled") < kinds.index("create"), kinds
        old = remote.container()
        out = old.exec_run(["cat", "/home/irisowner/irisenv-test-layer"]).output.decode()
        assert out.strip() == token
        assert remote.run("plan", "--detailed-exitcode").returncode == 0  # asked: not moved

        # another machine pushes a new image behind the tag; this engine keeps the old one
        moved = uuid.uuid4().hex
        _remote_build(second_engine, ref, f'LABEL io.irisenv.test.moved="{moved}"')
        second_engine.docker("push", ref, timeout=120)
        second_engine.docker("tag", old.image.id, ref)
        plan = remote.run("plan", "--detailed-exitcode")
        assert plan.returncode == 2, describe(plan)
        assert f"+ image {ref} (newer behind the tag: " in plan.stdout
        assert f"-/+ container {remote.name}-iris ({old.short_id})" in plan.stdout
        remote.ok("sync", "--progress", "plain")
        new = remote.container()
        assert new.id != old.id and new.image.labels.get("io.irisenv.test.moved") == moved
    finally:
        remote.cleanup()
        second_engine.docker("image", "rm", "-f", ref, check=False)
        for image in remote_client.images.list(name=ref.rsplit(":", 1)[0]):
            remote_client.images.remove(image.id, force=True)


def test_monitor_pause_and_report_through_a_remote_engine(remote, tmp_path):
    """`monitor` reaches the container's files through the engine: pause's exec and
    report's copies work over tcp:// as on the local engine (tests/docker/test_monitor.py
    writes the watcher's files the same way)."""
    from test_monitor import MONDIR, OFF, _exists, _install

    remote.write(instance_toml("iris", ports={"host_ip": "engine-host"}) + OFF)
    remote.ok("sync", "--progress", "quiet")
    c = remote.container()
    _install(c, samples=30, reports=1)
    remote.ok("monitor", "pause", "iris")
    assert _exists(c, f"{MONDIR}/pause")
    out = tmp_path / "reports"
    said = json.loads(remote.ok("monitor", "report", "--out", str(out), "--json").stdout)
    assert said["reports"] == ["c0ffee_IRIS_20261130_000000_irisenv.html"]
    assert (out / said["reports"][0]).read_text().strip() == "<html><body>report 0</body></html>"
    assert len((out / "samples.log").read_text().splitlines()) == 30
    assert (out / "overview.html").read_text().count('data-series="cpu"') == 1
