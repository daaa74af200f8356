"""Database fixtures against real Docker and the stand-in (tests/standin/): export a
namespace's data database from one instance, load it into another, the same globals come
out; a tampered fixture or another IRIS version is refused before anything is copied; a
namespace irisenv does not manage is not exported."""
from __future__ import annotations

import json

import pytest

from helpers import describe, instance_toml
from irisenv.engine.docker import DockerEngine
from irisenv.errors import IrisenvError
from irisenv.iris import fixture as IF


def session(container, ns: str, script: str) -> str:
    res = container.exec_run(["sh", "-c", 'printf "%s" "$S" | iris session IRIS -U "$N"'],
                             environment={"S": script + "\nhalt\n", "N": ns,
                                          "STANDIN_SESSION_PROMPTS": "0"})
    return res.output.decode("utf-8", "replace")


def dump(container, ns: str = "APP") -> str:
    """^Person and ^Order as IRIS reads them (the stand-in has no ZWRITE: a few $Get)."""
    return session(container, ns, 'write "P=",$Get(^Person(1)),"|",$Get(^Person(2,"name")),'
                                  '"|O=",$Get(^Order("x")),!')


@pytest.fixture
def two(project):
    project.write(instance_toml("src") + "\n[instances.src.namespaces.APP]\n",
                  instance_toml("dst") + "\n[instances.dst.namespaces.APP]\n"
                  "[instances.dst.namespaces.OTHER]\n")
    project.ok("sync", "--timeout", "60")
    src, dst = project.container("src"), project.container("dst")
    session(src, "APP", 'set ^Person(1)="Ada",^Person(2,"name")="Grace",^Order("x")=42')
    session(dst, "APP", 'set ^Person(1)="old"')
    return project, src, dst


def test_export_then_load_into_another_instance_gives_the_same_globals(two, tmp_path):
    project, src, dst = two
    before = dump(src)
    assert "P=Ada|Grace|O=42" in before, before
    exp = project.ok("fixture", "export", "APP", str(tmp_path / "fx"), "--instance", "src")
    assert "namespace APP of instance src" in exp.stderr, describe(exp)
    assert sorted(p.name for p in (tmp_path / "fx").iterdir()) == ["IRIS.DAT",
                                                                   "irisenv-fixture.json"]
    manifest = json.loads((tmp_path / "fx" / "irisenv-fixture.json").read_text())
    assert manifest["globals"] == ["^Order", "^Person"] and manifest["namespace"] == "APP"
    assert "2025.1 (Build 223U)" in manifest["iris_version"]
    assert dump(src) == before  # mounted again: the source still reads its data
    project.ok("fixture", "verify", str(tmp_path / "fx"))

    engine = DockerEngine()
    try:
        IF.load(engine, dst.id, "APP", tmp_path / "fx")
    finally:
        engine.close()
    assert "P=Ada|Grace|O=42" in dump(dst), dump(dst)
    leftovers = dst.exec_run(["sh", "-c", "ls /home/irisowner/irisenv"]).output.decode()
    assert "fixture-" not in leftovers  # the staged copy is removed
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_a_tampered_fixture_is_refused_and_the_namespace_keeps_its_data(two, tmp_path):
    project, src, dst = two
    project.ok("fixture", "export", "APP", str(tmp_path / "fx"), "--instance", "src")
    dat = tmp_path / "fx" / "IRIS.DAT"
    dat.write_bytes(dat.read_bytes().replace(b"Ada", b"Eve"))
    verify = project.run("fixture", "verify", str(tmp_path / "fx"))
    assert verify.returncode == 1 and "IRIS.DAT: sha256 differs" in verify.stderr, \
        describe(verify)
    engine = DockerEngine()
    try:
        with pytest.raises(IrisenvError, match="does not match its manifest"):
            IF.load(engine, dst.id, "APP", tmp_path / "fx")
    finally:
        engine.close()
    assert "P=old|" in dump(dst)


def test_a_fixture_of_another_iris_version_is_refused(project, tmp_path):
    project.write(instance_toml("src") + "\n[instances.src.namespaces.APP]\n",
                  instance_toml("dst", env={"STANDIN_VERSION": "2024.1.0.267.0"})
                  + "\n[instances.dst.namespaces.APP]\n")
    project.ok("sync", "--timeout", "60")
    project.ok("fixture", "export", "APP", str(tmp_path / "fx"), "--instance", "src")
    engine = DockerEngine()
    try:
        with pytest.raises(IrisenvError) as err:
            IF.load(engine, project.container("dst").id, "APP", tmp_path / "fx")
    finally:
        engine.close()
    assert "exported from IRIS 2025.1 (Build 223U)" in err.value.why
    assert "runs IRIS 2024.1 (Build 267U)" in err.value.why


def test_a_namespace_irisenv_does_not_manage_is_not_exported(two, tmp_path):
    project, src, _ = two
    proc = project.run("fixture", "export", "USER", str(tmp_path / "fx"), "--instance", "src")
    assert proc.returncode == 1 and "not one irisenv manages" in proc.stderr, describe(proc)
    assert not (tmp_path / "fx").exists()
