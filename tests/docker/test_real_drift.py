"""Drift the labels cannot see: the container's real settings (docker inspect) are compared
with the config, so an out-of-band `docker update` or a look-alike container carrying
copied irisenv labels is replaced like any other drift."""
from __future__ import annotations

from helpers import STANDIN_IMAGE

GiB = 1024**3


def test_memory_changed_with_docker_update_is_drift_and_sync_replaces(project, client):
    project.ok("sync")
    first = project.container("iris")
    client.api.update_container(first.id, mem_limit="1g")

    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "~ memory (container): 1g -> 2g   # forces replacement" in p.stdout, p.stdout
    status = project.ok("status", "--json").stdout
    assert '"drift": true' in status, status

    project.ok("sync")
    second = project.container("iris")
    assert second.id != first.id
    assert second.attrs["HostConfig"]["Memory"] == 2 * GiB
    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 0, p.stdout + p.stderr


def test_look_alike_with_copied_labels_published_on_every_interface_is_drift(project, client):
    project.ok("sync")
    made = project.container("iris")
    labels, env = dict(made.labels), list(made.attrs["Config"]["Env"])
    cmd, name = list(made.attrs["Config"]["Cmd"]), made.name
    made.remove(force=True)
    # the same image, resources, labels and environment, but published on 0.0.0.0
    twin = client.containers.run(STANDIN_IMAGE, cmd, name=name, labels=labels, environment=env,
                                 mem_limit=2 * GiB, detach=True,
                                 ports={"1972/tcp": ("0.0.0.0", None),
                                        "52773/tcp": ("0.0.0.0", None)})

    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "~ host_ip (container): 0.0.0.0 -> 127.0.0.1   # forces replacement" in p.stdout, \
        p.stdout

    project.ok("sync")
    fresh = project.container("iris")
    assert fresh.id != twin.id
    bindings = fresh.attrs["HostConfig"]["PortBindings"]
    assert {b["HostIp"] for v in bindings.values() for b in v} == {"127.0.0.1"}
    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 0, p.stdout + p.stderr
