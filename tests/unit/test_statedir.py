"""The per-user state directory (irisenv/statedir.py) and the pytest plugin's run markers in
it (irisenv/runs.py): where it is, that it is private, that no link there is followed, and
that a run's markers go when the run ends (or, for a crashed run, after a day)."""
from __future__ import annotations

import os
import sys
import time

import pytest

from irisenv import runs, statedir
from irisenv.errors import IrisenvError

ENDPOINT = "unix:///var/run/docker.sock"


def test_the_variable_names_the_directory(state_dir):
    assert statedir.root() == state_dir
    assert statedir.directory("locks") == state_dir / "locks"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG layout is Linux's")
def test_default_is_the_xdg_state_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("IRISENV_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert statedir.root() == tmp_path / "xdg" / "irisenv"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert statedir.root() == tmp_path / "home" / ".local" / "state" / "irisenv"


def test_directories_are_private(tmp_path, monkeypatch):
    monkeypatch.setenv("IRISENV_STATE_DIR", str(tmp_path / "new" / "state"))
    d = statedir.directory("runs", "r1")
    for p in (tmp_path / "new" / "state", d.parent, d):
        assert p.stat().st_mode & 0o777 == 0o700, p


def test_write_file_replaces_atomically_and_privately(state_dir):
    path = statedir.directory("x") / "data"
    statedir.write_file(path, "one")
    statedir.write_file(path, "two")
    assert path.read_text() == "two" and path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["data"]  # no temporary file left
    assert statedir.read_text(path) == "two"


def test_write_and_read_never_follow_a_link(tmp_path, state_dir):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = statedir.directory("x") / "data"
    link.symlink_to(victim)
    with pytest.raises(IrisenvError) as info:
        statedir.write_file(link, "overwritten")
    assert "symbolic link" in info.value.what and str(link) in info.value.fix
    assert victim.read_text() == "precious" and link.is_symlink()
    assert statedir.read_text(link) is None


def test_safe_name():
    assert statedir.safe_name("gw0/../x y") == "gw0_.._x_y"
    assert statedir.safe_name("..") == "_."
    assert statedir.safe_name("") == "_"
    assert len(statedir.safe_name("a" * 200)) == 64


# ---------------------------------------------------------------- run markers
def test_a_marker_per_run_and_engine_project(state_dir):
    assert not runs.synced("run-a", ENDPOINT, "demo")
    runs.mark_synced("run-a", ENDPOINT, "demo")
    assert runs.synced("run-a", ENDPOINT, "demo")
    assert runs.synced("run-a", "unix:///var/run/docker.sock/", "demo")  # same engine
    assert not runs.synced("run-b", ENDPOINT, "demo")
    assert not runs.synced("run-a", ENDPOINT, "other")
    assert not runs.synced("run-a", "tcp://remote:2375", "demo")


def test_a_run_end_removes_its_markers_only(state_dir):
    runs.mark_synced("run-a", ENDPOINT, "demo")
    runs.mark_synced("run-b", ENDPOINT, "demo")
    runs.end_run("run-a")
    assert not runs.synced("run-a", ENDPOINT, "demo")
    assert runs.synced("run-b", ENDPOINT, "demo")
    assert sorted(p.name for p in (state_dir / "runs").iterdir()) == ["run-b"]
    runs.end_run("never-was")  # nothing to do, no error


def test_end_run_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("IRISENV_STATE_DIR", str(tmp_path / "state"))
    runs.end_run("run-a")
    runs.prune()
    assert not (tmp_path / "state").exists()


def test_crashed_runs_are_pruned_after_a_day(state_dir):
    runs.mark_synced("crashed", ENDPOINT, "demo")
    runs.mark_synced("live", ENDPOINT, "demo")
    old = time.time() - runs.MAX_AGE - 60
    os.utime(state_dir / "runs" / "crashed", (old, old))
    runs.prune()
    assert sorted(p.name for p in (state_dir / "runs").iterdir()) == ["live"]


def test_cleaning_runs_never_follows_a_link(tmp_path, state_dir):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "run-a").mkdir(parents=True)
    (elsewhere / "run-a" / "keep").write_text("mine")
    old = time.time() - runs.MAX_AGE - 60
    os.utime(elsewhere / "run-a", (old, old))
    (state_dir / "runs").symlink_to(elsewhere)
    runs.end_run("run-a")
    runs.prune()
    assert (elsewhere / "run-a" / "keep").read_text() == "mine"
    (state_dir / "runs").unlink()
    (state_dir / "runs").mkdir()
    (state_dir / "runs" / "run-b").symlink_to(elsewhere)  # a link in place of a run's dir
    runs.end_run("run-b")
    assert (elsewhere / "run-a" / "keep").exists() and not (state_dir / "runs" / "run-b").exists()
