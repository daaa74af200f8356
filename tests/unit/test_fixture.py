"""Database fixtures: the manifest and its verification (core/fixture.py, no engine), and
export / load through the engine (iris/fixture.py) against the fake engine, whose
container keeps files (put_files, get_files) and runs cp, rm and sha256sum on them."""
from __future__ import annotations

import hashlib
import json

import pytest
from fake_engine import FakeEngine  # tests/unit is on sys.path

from irisenv.core import fixture as F
from irisenv.engine.base import ExecResult
from irisenv.errors import IrisenvError
from irisenv.iris import fixture as IF

V2025 = ("IRIS for UNIX (Ubuntu Server LTS for x86-64 Containers) 2025.1 (Build 223U) "
         "Mon Mar 24 2025 12:00:00 EDT")
V2024 = ("IRIS for UNIX (Ubuntu Server LTS for x86-64 Containers) 2024.1 (Build 267U) "
         "Tue Apr 30 2024 16:06:39 EDT")
DIR = "/usr/irissys/mgr/irisenv/app-data/"
DATA = b"the database" * 1000


def make_fixture(path, data: bytes = DATA, version: str = V2025, globals_=("^A", "^B")):
    path.mkdir(parents=True, exist_ok=True)
    (path / F.DATA_FILE).write_bytes(data)
    F.write(path, F.describe(path, iris_version=version, namespace="APP", database="APP_DATA",
                             globals_=globals_, created="2026-01-01T00:00:00Z", irisenv="t"))
    return path


# ------------------------------------------------------------------ the manifest
def test_the_manifest_records_size_sha256_version_namespace_and_globals(tmp_path):
    fx = make_fixture(tmp_path / "fx")
    data = json.loads((fx / F.MANIFEST).read_text())
    assert data["irisenv_fixture"] == F.FORMAT
    assert data["files"] == {"IRIS.DAT": {"size": len(DATA),
                                          "sha256": hashlib.sha256(DATA).hexdigest()}}
    assert (data["iris_version"], data["namespace"], data["database"]) == (V2025, "APP",
                                                                           "APP_DATA")
    assert data["globals"] == ["^A", "^B"]
    assert F.verify(fx).globals == ("^A", "^B")


@pytest.mark.parametrize("change, said", [
    (lambda fx: (fx / "IRIS.DAT").write_bytes(DATA[:-1] + b"X"), "sha256 differs"),
    (lambda fx: (fx / "IRIS.DAT").write_bytes(DATA + b"more"), "bytes, the manifest says"),
    (lambda fx: (fx / "IRIS.DAT").unlink(), "IRIS.DAT: missing"),
    (lambda fx: (fx / "notes.txt").write_text("x"), "notes.txt: not listed"),
    (lambda fx: (fx / "iris.lck").write_text("x"), "iris.lck: not listed"),
])
def test_a_changed_fixture_is_refused_naming_what_changed(tmp_path, change, said):
    fx = make_fixture(tmp_path / "fx")
    change(fx)
    with pytest.raises(F.FixtureError) as err:
        F.verify(fx)
    assert said in err.value.why and "does not match its manifest" in err.value.what


def edit_manifest(fx, fn):
    data = json.loads((fx / F.MANIFEST).read_text())
    fn(data)
    (fx / F.MANIFEST).write_text(json.dumps(data))


@pytest.mark.parametrize("fn, said", [
    (lambda d: d.pop("irisenv_fixture"), "format version"),
    (lambda d: d.update(irisenv_fixture=True), "format version"),
    (lambda d: d.update(namespace=""), '"namespace"'),
    (lambda d: d.pop("iris_version"), '"iris_version"'),
    (lambda d: d.update(files={}), '"files"'),
    (lambda d: d["files"]["IRIS.DAT"].update(sha256="XYZ"), "64 lower-case hex"),
    (lambda d: d["files"]["IRIS.DAT"].update(size="12"), '"size"'),
    (lambda d: d["files"].update({"../x": d["files"]["IRIS.DAT"]}), "not a plain file name"),
    (lambda d: d.update(globals="^A"), '"globals"'),
])
def test_a_malformed_manifest_is_refused_with_the_reason(tmp_path, fn, said):
    fx = make_fixture(tmp_path / "fx")
    edit_manifest(fx, fn)
    with pytest.raises(F.FixtureError) as err:
        F.verify(fx)
    assert "is not valid" in err.value.what and said in err.value.why


def test_no_manifest_not_json_and_a_newer_format_are_refused(tmp_path):
    fx = make_fixture(tmp_path / "fx")
    (fx / F.MANIFEST).write_text("{not json")
    with pytest.raises(F.FixtureError, match="not JSON"):
        F.verify(fx)
    (fx / F.MANIFEST).unlink()
    with pytest.raises(F.FixtureError, match="has no manifest"):
        F.verify(fx)
    fx2 = make_fixture(tmp_path / "fx2")
    edit_manifest(fx2, lambda d: d.update(irisenv_fixture=F.FORMAT + 1))
    with pytest.raises(F.FixtureError, match="upgrade irisenv"):
        F.verify(fx2)
    with pytest.raises(F.FixtureError, match="does not exist"):
        F.verify(tmp_path / "nowhere")


def test_the_version_must_match_in_version_and_build(tmp_path):
    manifest = F.verify(make_fixture(tmp_path / "fx"))
    assert IF.version_mismatch(manifest, V2025) is None
    why = IF.version_mismatch(manifest, V2024)
    assert "2025.1 (Build 223U)" in why and "2024.1 (Build 267U)" in why
    other_build = V2025.replace("223U", "224U")
    assert IF.version_mismatch(manifest, other_build) is not None


# ------------------------------------------------------------------ through the engine
class FsEngine(FakeEngine):
    """The fake engine whose container runs cp, rm -rf and sha256sum on its files, and whose
    `iris session` fails MountDatabase when ``mount_fails`` (and records the order of
    dismount, copy and mount)."""

    def __init__(self):
        super().__init__()
        self.mount_fails = False
        self.steps: list = []
        self.scripts: list = []

    def exec(self, container_id, cmd, *, stdin=None, env=None, user=None, timeout=60):
        fs = self.containers[container_id].setdefault("fs", {})
        if cmd[:2] == ["cp", "--"]:
            self.steps.append("cp")
            fs[cmd[3]] = fs[cmd[2]]
            return ExecResult(0, "", "")
        if cmd[:3] == ["rm", "-rf", "--"]:
            for p in [p for p in fs if any(p.startswith(d.rstrip("/") + "/") for d in cmd[3:])]:
                del fs[p]
            return ExecResult(0, "", "")
        if cmd[:2] == ["sha256sum", "--"]:
            return ExecResult(0, hashlib.sha256(fs[cmd[2]]).hexdigest() + "  " + cmd[2], "")
        if cmd[:2] == ["iris", "session"]:
            text = (stdin or b"").decode()
            self.scripts.append(text)
            for step in ("DismountDatabase", "MountDatabase"):
                if f"SYS.Database).{step}(" in text:
                    self.steps.append(step)
                    if step == "MountDatabase" and self.mount_fails:
                        return ExecResult(0, "IRISENV-ERR:ERROR #5001: cannot mount\n", "")
        return super().exec(container_id, cmd, stdin=stdin, env=env, user=user,
                            timeout=timeout)


def instance(engine, *, version=V2025, globals_=("^A", "^B"), owned=True):
    iris = {"version": version, "db": "APP_DATA", "dir": DIR,
            **{f"glob.{i}": g for i, g in enumerate(globals_, 1)}}
    if owned:
        iris["rec.1"] = "APP^declared^1700000000^sync^"
    cid = engine.add("proj-iris", {}, iris=iris)
    engine.containers[cid]["fs"] = {DIR + "IRIS.DAT": DATA}
    return cid


def test_export_copies_the_dismounted_file_out_and_writes_the_manifest(tmp_path):
    engine = FsEngine()
    cid = instance(engine)
    manifest = IF.export(engine, cid, "app", tmp_path / "fx")
    assert engine.steps == ["DismountDatabase", "cp", "MountDatabase"]
    assert (tmp_path / "fx" / "IRIS.DAT").read_bytes() == DATA
    assert F.verify(tmp_path / "fx") == manifest
    assert (manifest.namespace, manifest.database, manifest.globals) == ("APP", "APP_DATA",
                                                                          ("^A", "^B"))
    assert sorted(engine.containers[cid]["fs"]) == [DIR + "IRIS.DAT"]  # staging removed
    # names and directories travel in the environment, never in the script
    assert engine.scripts and not any("APP" in s or DIR in s for s in engine.scripts)


def test_export_refuses_a_namespace_irisenv_does_not_manage_before_touching_it(tmp_path):
    engine = FsEngine()
    cid = instance(engine, owned=False)
    with pytest.raises(IrisenvError, match="not one irisenv manages"):
        IF.export(engine, cid, "APP", tmp_path / "fx")
    assert engine.steps == [] and not (tmp_path / "fx").exists()


@pytest.mark.parametrize("name", ["APP;kill", 'A"B', "../x", "", "A" * 65])
def test_a_bad_namespace_name_never_reaches_objectscript(tmp_path, name):
    engine = FsEngine()
    cid = instance(engine)
    with pytest.raises(ValueError):
        IF.export(engine, cid, name, tmp_path / "fx")
    assert engine.calls("exec") == []


def test_export_into_a_non_empty_directory_is_refused(tmp_path):
    engine = FsEngine()
    cid = instance(engine)
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "keep.txt").write_text("mine")
    with pytest.raises(IrisenvError, match="not an empty directory"):
        IF.export(engine, cid, "APP", tmp_path / "fx")
    assert engine.steps == []


def test_a_database_left_dismounted_is_reported_loudly_with_the_recovery(tmp_path):
    engine = FsEngine()
    engine.mount_fails = True
    cid = instance(engine)
    with pytest.raises(IrisenvError) as err:
        IF.export(engine, cid, "APP", tmp_path / "fx")
    assert "IS DISMOUNTED" in err.value.what and "cannot mount" in err.value.why
    assert f'MountDatabase("{DIR}")' in err.value.fix
    assert sorted(engine.containers[cid]["fs"]) == [DIR + "IRIS.DAT"]  # staging removed


def test_load_replaces_the_database_file_and_checks_the_globals(tmp_path):
    engine = FsEngine()
    cid = instance(engine)
    new = b"fixture data" * 500
    make_fixture(tmp_path / "fx", new)
    IF.load(engine, cid, "APP", tmp_path / "fx")
    assert engine.containers[cid]["fs"] == {DIR + "IRIS.DAT": new}
    assert engine.steps == ["DismountDatabase", "cp", "MountDatabase"]


@pytest.mark.parametrize("setup, said", [
    (lambda fx: (fx / "IRIS.DAT").write_bytes(b"tampered"), "does not match its manifest"),
    (lambda fx: edit_manifest(fx, lambda d: d.update(iris_version=V2024)), "2024.1"),
])
def test_load_refuses_a_tampered_or_foreign_fixture_before_copying_anything(tmp_path, setup,
                                                                            said):
    engine = FsEngine()
    cid = instance(engine)
    fx = make_fixture(tmp_path / "fx", b"fixture data")
    setup(fx)
    with pytest.raises(IrisenvError) as err:
        IF.load(engine, cid, "APP", fx)
    assert said in err.value.render()
    assert engine.calls("put_files") == [] and engine.steps == []
    assert engine.containers[cid]["fs"] == {DIR + "IRIS.DAT": DATA}


def test_load_says_so_when_the_globals_after_differ_from_the_manifest(tmp_path):
    engine = FsEngine()
    cid = instance(engine, globals_=("^A",))
    make_fixture(tmp_path / "fx", globals_=("^A", "^B"))
    with pytest.raises(IrisenvError, match="does not hold the fixture's globals") as err:
        IF.load(engine, cid, "APP", tmp_path / "fx")
    assert "^B" in err.value.why
