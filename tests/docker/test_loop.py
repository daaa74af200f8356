"""The reconcile loop against a real engine and the stand-in IRIS image.

empty -> sync -> no-op plan -> drift (memory) -> replace -> stopped by hand -> start ->
orphan kept, then removed on request -> down; and durable storage on a named volume.
Every claim is checked on Docker's side (SDK), not on irisenv's own report.
"""
from __future__ import annotations

import json
import uuid

import docker.errors
import pytest
from helpers import HASH_LABEL, MANAGED_LABEL, instance_toml, qlist

GiB = 1024**3


def test_the_loop(project, client):
    name = project.name

    # empty: the plan wants to add, nothing exists yet
    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "+ container " + f"{name}-iris" in p.stdout
    assert project.containers() == []

    # sync from nothing
    project.ok("sync")
    c1 = project.container("iris")
    assert c1.name == f"{name}-iris"
    assert c1.status == "running"
    assert c1.labels[MANAGED_LABEL] == "irisenv"
    assert c1.attrs["HostConfig"]["Memory"] == 2 * GiB
    assert "^running, since" in qlist(c1)

    # converged: no changes
    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "No changes" in p.stdout

    # a container-level change forces a replacement
    project.ok("config", "set", "instances.iris.memory", "3g")
    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "-/+" in p.stdout and "memory" in p.stdout and "3g" in p.stdout
    assert project.container("iris").id == c1.id  # plan is read-only
    project.ok("sync")
    c2 = project.container("iris")
    assert c2.id != c1.id
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(c1.id)
    assert c2.name == f"{name}-iris" and c2.status == "running"
    assert c2.labels[HASH_LABEL] != c1.labels[HASH_LABEL]
    assert c2.attrs["HostConfig"]["Memory"] == 3 * GiB
    assert "^running, since" in qlist(c2)
    assert project.run("plan", "--detailed-exitcode").returncode == 0

    # stopped by hand: the plan starts it again, same container
    c2.stop(timeout=1)
    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 2, p.stdout + p.stderr
    assert f"~ container {name}-iris" in p.stdout and "started" in p.stdout
    doc = json.loads(project.ok("plan", "--json").stdout)
    assert doc["summary"]["start"] == 1 and doc["summary"]["replace"] == 0
    project.ok("sync")
    c3 = project.container("iris")
    assert c3.id == c2.id and c3.status == "running"
    assert "^running, since" in qlist(c3)

    # a second instance appears, then leaves the config: an orphan, kept until asked
    iris_table = instance_toml("iris", memory="3g")
    project.write(iris_table, instance_toml("db"))
    project.ok("sync")
    db = project.container("db")
    assert db.name == f"{name}-db" and db.status == "running"
    project.write(iris_table)
    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "orphan" in p.stdout and f"{name}-db" in p.stdout
    s = project.ok("sync")
    assert "orphan" in s.stderr
    assert project.container("db").id == db.id
    p = project.run("plan", "--remove-orphans", "--detailed-exitcode")
    assert p.returncode == 2 and f"- container {name}-db" in p.stdout, p.stdout
    project.ok("sync", "--remove-orphans")
    assert project.containers("db") == []
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(db.id)
    assert project.container("iris").id == c3.id  # untouched

    # down: nothing labelled for the project is left
    project.ok("down")
    assert project.containers() == []
    assert client.containers.list(all=True, filters={"name": f"^/{name}-"}) == []


def test_volume_storage_survives_replace_and_down(project, client):
    project.configure(storage="volume")
    project.ok("sync")
    c1 = project.container("iris")
    vols = project.volumes()
    assert len(vols) == 1, vols
    vol = vols[0]
    assert vol.attrs["Labels"][MANAGED_LABEL] == "irisenv"
    assert vol.attrs["Labels"]["io.irisenv.instance"] == "iris"
    mounts = [m for m in c1.attrs["Mounts"] if m["Type"] == "volume"]
    assert [m["Name"] for m in mounts] == [vol.name]

    marker = f"keep-{uuid.uuid4().hex[:8]}"
    project.ok("exec", "--instance", "iris", "--", "sh", "-c", f"echo {marker} > /irisenv-data/iris/marker.txt")

    project.ok("sync", "--recreate")
    c2 = project.container("iris")
    assert c2.id != c1.id and c2.status == "running"
    assert [v.name for v in project.volumes()] == [vol.name]
    out = project.ok("exec", "--instance", "iris", "--", "cat", "/irisenv-data/iris/marker.txt").stdout
    assert out.strip() == marker
    # the new container booted on the existing durable %SYS (stand-in log line)
    assert "reusing existing data" in c2.logs().decode()

    project.ok("down")
    assert project.containers() == []
    assert [v.name for v in project.volumes()] == [vol.name]  # down keeps data

    project.ok("sync")
    out = project.ok("exec", "--instance", "iris", "--", "cat", "/irisenv-data/iris/marker.txt").stdout
    assert out.strip() == marker

    project.ok("down", "--volumes")
    assert project.containers() == []
    assert project.volumes() == []
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get(vol.name)
