"""Creating pool copies inside IRIS (irisenv/iris/pool.py): two processes that grow the pool
at once (two leases, or a lease and the resetter) each merge their own copy. An engine
double records each `iris merge` with the text of the file it names at that moment."""
from __future__ import annotations

from types import SimpleNamespace

from irisenv.engine.base import ExecResult
from irisenv.iris import pool, runner


class Engine:
    """put_files writes the container's files; `iris merge IRIS <path>` reads one. ``during``
    runs inside the first put_files: another process's create, interleaved."""

    def __init__(self):
        self.files, self.merged, self.during = {}, [], None

    def put_files(self, cid, files):
        self.files.update(files.contents)
        during, self.during = self.during, None
        if during is not None:
            during()

    def exec(self, cid, cmd, *, timeout=60, **kw):
        if cmd[:3] == ["rm", "-f", "--"]:
            self.files.pop(cmd[3], None)
        else:
            assert cmd[:3] == ["iris", "merge", "IRIS"], cmd
            self.merged.append(self.files[cmd[3]].decode())
        return ExecResult(0, "", "")


def test_two_creates_at_once_each_merge_their_own_copy(monkeypatch):
    monkeypatch.setattr(runner, "run", lambda *a, **kw: SimpleNamespace(values={}))
    d = SimpleNamespace(storage="/durable")
    eng = Engine()
    eng.during = lambda: pool._create(eng, "c", d, [("APP_P4", "APP", "h1")], timeout=5)
    pool._create(eng, "c", d, [("APP_P3", "APP", "h1")], timeout=5)
    later, first = eng.merged  # P4's merge ran inside P3's, between its write and merge
    assert "Name=APP_P4," in later and "APP_P3" not in later
    assert "Name=APP_P3," in first and "APP_P4" not in first
    assert eng.files == {}  # each merge file removed after its merge
