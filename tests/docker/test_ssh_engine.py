"""irisenv against an ssh:// engine, for real: a real OpenSSH server on the second engine's
host (engines.SshServer, on 10.213.N.2 in the engine's network namespace) runs `docker
system dial-stdio` for that engine, and irisenv reaches it through the system's `ssh`
(docker-py's use_ssh_client) with a client config of the test's own. The whole lifecycle
through DOCKER_HOST and through `[project] engine`, and what a refused key and a port with
no sshd say."""
from __future__ import annotations

import json
import socket

import docker
import pytest
from helpers import DockerProject, describe


@pytest.fixture
def remote_client(second_engine):
    """The second engine over its unix socket: the test's own view, not through ssh."""
    c = docker.DockerClient(base_url=second_engine.unix, timeout=60)
    yield c
    c.close()


@pytest.fixture
def over_ssh(tmp_path, ssh_server, remote_client, state_dir):
    """A project whose engine is the second one over ssh://, with the accepted key."""
    p = DockerProject(tmp_path, remote_client)  # its teardown cleans the second engine
    for var in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "SSH_AUTH_SOCK"):
        p.env.pop(var, None)
    p.env["DOCKER_HOST"] = ssh_server.endpoint
    p.env["PATH"] = ssh_server.path_for("accepted")
    p.env["IRISENV_STATE_DIR"] = str(state_dir)
    yield p
    p.cleanup()


@pytest.mark.parametrize("chosen_by", ["DOCKER_HOST", "[project] engine"])
def test_the_whole_lifecycle_over_ssh(over_ssh, ssh_server, second_engine, client, chosen_by):
    p = over_ssh
    if chosen_by == "[project] engine":
        del p.env["DOCKER_HOST"]
        p.configure(ports={"host_ip": "engine-host"})
        p.config_path.write_text(p.config_path.read_text().replace(
            "[project]\n", f'[project]\nengine = "{ssh_server.endpoint}"\n', 1))
    else:
        p.configure(ports={"host_ip": "engine-host"})
    p.ok("sync", "--progress", "plain")
    c = p.container()  # on the second engine, not on the main one
    assert client.containers.list(all=True, filters={"label": f"io.irisenv.project={p.name}"}) == []
    bindings = c.attrs["HostConfig"]["PortBindings"]["1972/tcp"]
    assert [b["HostIp"] for b in bindings] == [second_engine.host]
    status = p.run("status", "--json")
    assert status.returncode == 0, describe(status)
    assert json.loads(status.stdout)["instances"][0]["state"] == "running"
    env = json.loads(p.ok("env", "--format", "json").stdout)
    assert env["IRIS_HOST"] == second_engine.host
    with socket.create_connection((env["IRIS_HOST"], int(env["IRIS_PORT"])), timeout=5):
        pass  # the superserver port, reached from this machine on the engine's host
    checks = {c["check"]: c for c in json.loads(p.run("doctor", "--json").stdout)["checks"]}
    assert checks["engine"]["status"] == "ok"
    assert checks["engine"]["detail"].endswith(
        f"at {ssh_server.endpoint} (remote), chosen by {chosen_by}"), checks["engine"]
    p.ok("sync")  # a no-op
    p.ok("down")
    assert p.containers() == []
    assert "Accepted publickey for root" in ssh_server.log_tail(200)


@pytest.mark.parametrize("fault", ["a key the server refuses", "a port no sshd listens on"])
def test_an_ssh_engine_that_cannot_be_reached_says_why_and_how_to_fix(over_ssh, ssh_server,
                                                                       second_engine, fault):
    p = over_ssh
    p.configure(ports={"host_ip": "engine-host"})
    if fault == "a key the server refuses":
        p.env["PATH"] = ssh_server.path_for("stranger")
        endpoint = ssh_server.endpoint
        port = ssh_server.port
        what, why = "ssh could not log in", "Permission denied (publickey)"
        fix = f"`ssh-copy-id -p {port} root@{second_engine.host}`"
    else:
        port = ssh_server.port + 1
        endpoint = f"ssh://root@{second_engine.host}:{port}"
        p.env["DOCKER_HOST"] = endpoint
        what, why, fix = "no ssh server answers", "Connection refused", "sshd listens on the port"
    for verb in ("sync", "status"):
        proc = p.run(verb, timeout=180)
        assert proc.returncode == 1, describe(proc)
        err = proc.stderr
        assert f"cannot reach the Docker engine at {endpoint}: {what}" in err, describe(proc)
        assert why in err and fix in err, describe(proc)
        assert f"`ssh -p {port} root@{second_engine.host} docker version`" in err, describe(proc)
        assert "Traceback" not in err and "this is a bug" not in err, describe(proc)
    assert p.containers() == []
