"""`irisenv fixture verify` and `fixture export` on the command line: exit codes (0 ok, 1 a
fixture that does not match, or a namespace irisenv does not manage, 64 usage) and what
they print; export runs in process against the in-memory engine."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from test_fixture import DATA, FsEngine, instance, make_fixture  # noqa: E402

from irisenv.cli.main import main  # noqa: E402
from irisenv.core import labels as L  # noqa: E402
from irisenv.engine import retry  # noqa: E402

CONFIG = ('[project]\nname = "demo"\n\n[instances.iris]\n'
          'image = "containers.intersystems.com/intersystems/iris-community:2025.1"\n\n'
          "[instances.iris.namespaces.APP]\n")


def test_verify_exits_0_and_summarises_a_sound_fixture(tmp_path, capsys):
    fx = make_fixture(tmp_path / "fx")
    assert main(["fixture", "verify", str(fx)]) == 0
    out = capsys.readouterr().out
    assert "ok (namespace APP, IRIS 2025.1 (Build 223U)" in out and "2 global(s)" in out
    assert main(["fixture", "verify", str(fx), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["globals"] == ["^A", "^B"]


def test_verify_exits_1_naming_what_differs(tmp_path, capsys):
    fx = make_fixture(tmp_path / "fx")
    (fx / "IRIS.DAT").write_bytes(DATA[:-1] + b"!")
    (fx / "extra.bin").write_bytes(b"x")
    assert main(["fixture", "verify", str(fx)]) == 1
    err = capsys.readouterr().err
    assert "does not match its manifest" in err
    assert "IRIS.DAT: sha256 differs" in err and "extra.bin: not listed" in err
    assert main(["fixture", "verify", str(fx), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["exit_code"] == 1


def test_verify_exits_1_for_a_bad_manifest_and_64_for_a_bad_command_line(tmp_path, capsys):
    fx = make_fixture(tmp_path / "fx")
    (fx / "irisenv-fixture.json").write_text("[]")
    assert main(["fixture", "verify", str(fx)]) == 1
    assert "not a JSON object" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["fixture", "verify"])
    assert exc.value.code == 64
    with pytest.raises(SystemExit) as exc:
        main(["fixture"])
    assert exc.value.code == 64


def test_verify_needs_no_config_and_imports_nothing_heavy(tmp_path):
    fx = make_fixture(tmp_path / "fx")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "irisenv", "fixture",
                           "verify", str(fx)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:")}
    assert not {n for n in names if n.split(".")[0] in ("docker", "rich", "tenacity")}


@pytest.fixture
def fake(monkeypatch, tmp_path):
    eng = FsEngine()
    monkeypatch.setattr("irisenv.engine.open_engine",
                        lambda endpoint=None, *, default=None: retry.with_retries(eng))
    (tmp_path / "iris-devtester.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IRISENV_STATE_DIR", str(tmp_path / "state"))
    return eng


def add_instance(fake, **kw) -> str:
    cid = instance(fake, **kw)
    fake.containers[cid]["name"] = L.container_name("demo", "iris")
    fake.containers[cid]["labels"] = {L.MANAGED_BY: L.MANAGED_BY_VALUE, L.PROJECT: "demo",
                                      L.INSTANCE: "iris"}
    return cid


def test_export_writes_the_fixture_and_verify_accepts_it(fake, tmp_path, capsys):
    add_instance(fake)
    assert main(["fixture", "export", "APP", "fx"]) == 0
    assert "namespace APP of instance iris" in capsys.readouterr().err
    assert (tmp_path / "fx" / "IRIS.DAT").read_bytes() == DATA
    assert main(["fixture", "verify", "fx"]) == 0
    assert fake.steps == ["DismountDatabase", "cp", "MountDatabase"]


def test_export_of_a_namespace_irisenv_does_not_manage_exits_1(fake, tmp_path, capsys):
    add_instance(fake, owned=False)
    assert main(["fixture", "export", "APP", "fx", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert "not one irisenv manages" in doc["error"] and doc["exit_code"] == 1
    assert fake.steps == [] and not (tmp_path / "fx").exists()


def test_export_of_a_bad_namespace_name_is_a_usage_error(fake, tmp_path, capsys):
    add_instance(fake)
    assert main(["fixture", "export", 'APP"x', "fx"]) == 64
    assert "namespace" in capsys.readouterr().err
    assert fake.calls("exec") == []
