"""Database fixtures against a real IRIS (the real-IRIS lane: IRISENV_IRIS_IMAGE set; see
tests/iris/test_real_iris.py). What the stand-in only imitates is checked here: that
SYS.Database.DismountDatabase / MountDatabase return a good %Status on a namespace's data
database, that $Order(^$|ns|GLOBAL(name)) lists its globals with their caret, and that an
IRIS.DAT copied while dismounted, loaded into another namespace, reads back the same
globals; a tampered fixture is refused."""
from __future__ import annotations

import json

import pytest

from irisenv.engine.docker import DockerEngine
from irisenv.errors import IrisenvError
from irisenv.iris import fixture as IF
from test_real_iris import INSTANCE, SYNC_TIMEOUT, RealProject, describe, real_project  # noqa: F401

SET = 'set ^IrisenvFx(1)="Ada",^IrisenvFx(2,"name")="Grace",^IrisenvFy="y"'
READ = ('write "IRISENV-T:fx=",$Get(^IrisenvFx(1)),"|",$Get(^IrisenvFx(2,"name")),"|",'
        '$Get(^IrisenvFy),!')


def test_export_and_load_on_real_iris(real_project: RealProject, tmp_path):
    p = real_project
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    p.objectscript([SET, 'write "IRISENV-T:set=1",!'], namespace="APP")  # it needs a value
    assert p.objectscript([READ], namespace="APP")["fx"] == "Ada|Grace|y"

    fx = tmp_path / "fx"
    proc = p.run("fixture", "export", "APP", str(fx), "--instance", INSTANCE, timeout=600)
    assert proc.returncode == 0, describe(proc)
    manifest = json.loads((fx / "irisenv-fixture.json").read_text())
    assert {"^IrisenvFx", "^IrisenvFy"} <= set(manifest["globals"]), manifest["globals"]
    # mounted again: APP still reads and writes its data
    assert p.objectscript([READ], namespace="APP")["fx"] == "Ada|Grace|y"
    assert p.run("fixture", "verify", str(fx)).returncode == 0

    import docker

    client = docker.from_env(timeout=60)
    try:
        (container,) = client.containers.list(filters={"label": [
            f"io.irisenv.project={p.name}", f"io.irisenv.instance={INSTANCE}"]})
    finally:
        client.close()
    cid = container.id
    engine = DockerEngine()
    try:
        IF.load(engine, cid, "TEST", fx)
        assert p.objectscript([READ], namespace="TEST")["fx"] == "Ada|Grace|y"

        data = bytearray((fx / "IRIS.DAT").read_bytes())
        data[-1] ^= 0xFF
        (fx / "IRIS.DAT").write_bytes(bytes(data))
        with pytest.raises(IrisenvError, match="does not match its manifest"):
            IF.load(engine, cid, "TEST", fx)
    finally:
        engine.close()
    assert p.run("plan", "--detailed-exitcode").returncode == 0
