"""Where the config file, or the directory around it, is not what irisenv expects: a
deleted working directory, symbolic-link loops and broken links, a UTF-8 byte-order mark,
a target directory that does not exist. Each is a clear what/why/fix, never an internal
error or a traceback, and never silently the zero-config default."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from irisenv.cli.main import main
from irisenv.config import load_config
from irisenv.errors import ConfigError, IrisenvError

ROOT = Path(__file__).resolve().parents[2]
FILE = "iris-devtester.toml"
GOOD = '[project]\nname = "demo"\n'


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_clear(err: str) -> None:
    assert "internal error" not in err and "Traceback" not in err, err
    assert "error: " in err and "  why: " in err and "  fix: " in err, err


# ------------------------------------------------------------------ byte-order mark
def test_a_bom_is_named_as_such(tmp_path):
    path = tmp_path / FILE
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    issue = info.value.issues[0]
    assert (issue.line, issue.column) == (1, 1)
    assert "byte-order mark (BOM)" in issue.what
    assert "without BOM" in issue.fix


def test_a_bom_through_the_cli(tmp_path, capsys, monkeypatch):
    (tmp_path / FILE).write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "config", "validate")
    assert code == 1
    assert_clear(err)
    assert f"{FILE}:1:1" in err and "BOM" in err and "Invalid statement" not in err


# ------------------------------------------------------------------ symbolic links
def test_a_config_that_is_a_symlink_loop(tmp_path, capsys, monkeypatch):
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop.name)  # points at itself
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config(loop, environ={})
    assert "symbolic link loop" in info.value.issues[0].what
    code, _, err = run(capsys, "-c", str(loop), "config", "validate")
    assert code == 1
    assert_clear(err)
    assert "permissions" not in err  # not the generic "cannot read" advice


def test_a_symlink_loop_found_walking_up_is_an_error_not_the_default(tmp_path):
    (tmp_path / FILE).symlink_to(FILE)
    sub = tmp_path / "sub"
    sub.mkdir()
    with pytest.raises(ConfigError) as info:
        load_config(cwd=sub, environ={})
    assert "symbolic link loop" in info.value.issues[0].what
    assert "walking up" in info.value.issues[0].why


def test_a_broken_symlink_found_walking_up_is_an_error_not_the_default(tmp_path):
    (tmp_path / FILE).symlink_to(tmp_path / "gone.toml")
    with pytest.raises(ConfigError) as info:
        load_config(cwd=tmp_path, environ={})
    assert "broken symbolic link" in info.value.issues[0].what
    assert "gone.toml" in info.value.issues[0].what


def test_init_over_a_symlink_loop(tmp_path, capsys):
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop.name)
    code, _, err = run(capsys, "config", "init", "-c", str(loop))
    assert code == 1
    assert_clear(err)
    assert "symbolic link loop" in err


# ------------------------------------------------------------------ writing files
def test_init_into_a_missing_directory(tmp_path, capsys):
    target = tmp_path / "NEW" / "x.toml"
    code, _, err = run(capsys, "config", "init", "-c", str(target))
    assert code == 1
    assert_clear(err)
    assert "does not exist" in err and "mkdir -p" in err
    assert not (tmp_path / "NEW").exists()


def test_schema_into_a_missing_directory(tmp_path, capsys):
    code, _, err = run(capsys, "config", "schema", "-o", str(tmp_path / "NEW" / "s.json"))
    assert code == 1
    assert_clear(err)


# ------------------------------------------------------------------ deleted working directory
def test_load_config_in_a_deleted_working_directory(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with pytest.raises(IrisenvError) as info:
        load_config(environ={})
    assert "working directory" in info.value.what and "no longer exists" in info.value.what
    assert info.value.fix


@pytest.mark.parametrize("argv", [["config", "validate"], ["plan"], ["config", "init"],
                                  ["-c", "/nonexistent/x.toml", "status"]])
def test_cli_in_a_deleted_working_directory(tmp_path, argv):
    gone = tmp_path / "gone"
    gone.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRISENV_")}
    env["PYTHONPATH"] = str(ROOT)
    script = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
    proc = subprocess.run(["sh", "-c", script, "sh", str(gone), sys.executable, "-m", "irisenv",
                           *argv], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert_clear(proc.stderr)
    assert "working directory no longer exists" in proc.stderr
