"""A declared init that starts from a database fixture: `init = [{ fixture = "dir" }, ...]`.
The config entry (first only, inside the project), its content hash (the manifest's
IRIS.DAT sha256, the big file unread), and applying it through the fake engine, whose
container keeps files and runs cp, rm and sha256sum (test_fixture.FsEngine)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_fixture import DATA, DIR, FsEngine, instance, make_fixture  # tests/unit is on sys.path

from irisenv.config.load import parse_config
from irisenv.core import fixture as F
from irisenv.core import init
from irisenv.core.iris_plan import InitNamespace, IrisDesired, IrisObserved, plan_iris
from irisenv.core.iris_record import DECLARED, NamespaceRecord
from irisenv.errors import ConfigError, IrisenvError

NEW = b"fixture data" * 500


def _config(tmp_path: Path, init_line: str):
    (tmp_path / "sql").mkdir(exist_ok=True)
    (tmp_path / "sql" / "seed.sql").write_text("INSERT INTO a VALUES (1);\n")
    text = f'[instances.iris]\n[instances.iris.namespaces.APP]\n{init_line}\n'
    return parse_config(text, tmp_path / "iris-devtester.toml").instances["iris"]


def _project(tmp_path: Path, init_line: str = 'init = [{ fixture = "fixtures/app" }, '
                                              '"sql/seed.sql"]'):
    make_fixture(tmp_path / "fixtures" / "app", NEW)
    return _config(tmp_path, init_line)


# ------------------------------------------------------------------ the config entry
def test_a_fixture_entry_is_read_with_its_directory(tmp_path):
    inst = _project(tmp_path)
    (e, sql) = inst.namespaces[0].init
    assert (e.kind, e.rel, e.path) == ("fixture", "fixtures/app", tmp_path / "fixtures" / "app")
    assert sql.kind == "sql"


@pytest.mark.parametrize("line, said, at", [
    ('init = [\n  "sql/seed.sql",\n  { fixture = "fixtures/app" },\n]', "must be the first", 5),
    ('init = [\n  { fixture = "fixtures/app" },\n  { fixture = "fixtures/app" },\n]',
     "must be the first", 5),
    ('init = [\n  { fixture = "../elsewhere" },\n]', "outside the project", 4),
    ('init = [\n  { fixture = "/srv/fx" },\n]', "outside the project", 4),
    ('init = [\n  { fixture = "fx", run = "1" },\n]', "{ fixture = ", 4),
    ('init = [\n  { fixture = 3 },\n]', "fixture directory", 4),
])
def test_bad_fixture_entries_are_config_errors_at_their_line(tmp_path, line, said, at):
    make_fixture(tmp_path / "fixtures" / "app", NEW)
    with pytest.raises(ConfigError) as e:
        _config(tmp_path, line)
    issue = e.value.issues[0]
    assert said in issue.what + issue.why, issue
    assert issue.line == at and ".init." in issue.key


def test_config_show_writes_the_fixture_entry_back_as_a_table(tmp_path):
    from irisenv.config.kinds import InitList

    inst = _project(tmp_path)
    assert InitList().show(inst.namespaces[0].init) == [{"fixture": "fixtures/app"},
                                                        "sql/seed.sql"]


# ------------------------------------------------------------------ the content hash
def test_the_hash_takes_the_manifest_sha256_without_reading_the_database_file(tmp_path,
                                                                               monkeypatch):
    inst = _project(tmp_path)
    monkeypatch.setattr(F, "file_digest", lambda *a: pytest.fail("IRIS.DAT was hashed"))
    ni = init.declared(inst)["APP"]
    want = F.read(tmp_path / "fixtures" / "app").files["IRIS.DAT"]["sha256"]
    assert [(i.kind, i.rel, i.sha) for i in ni.items][0] == ("fixture", "fixtures/app", want)
    assert ni.files()["fixtures/app"] == want


def test_a_fixture_exported_again_changes_the_hash_and_the_plan_names_it(tmp_path):
    inst = _project(tmp_path)
    before = init.declared(inst)["APP"]
    fx = tmp_path / "fixtures" / "app"
    for p in fx.iterdir():
        p.unlink()
    make_fixture(fx, NEW + b"more")
    after = init.declared(inst)["APP"]
    assert after.digest != before.digest
    d = IrisDesired.of(inst, {"APP": after})
    seen = IrisObserved(records={"APP": NamespaceRecord(DECLARED, 5, "sync", before.digest)},
                        namespaces={"APP": True}, callin=True, user_exists=True,
                        password_ok=True, user_change_required=False, user_enabled=True,
                        observed_at=100.0)
    (a,) = [x for x in plan_iris(d, seen, previous={before.digest: before.files()}.get).actions
            if isinstance(x, InitNamespace)]
    assert a.describe().startswith("namespace APP: init changed (fixtures/app) -> databases reset")


@pytest.mark.parametrize("breakage, said", [
    (lambda fx: [p.unlink() for p in fx.iterdir()] and fx.rmdir(), "does not exist"),
    (lambda fx: (fx / F.MANIFEST).unlink(), "has no manifest"),
    (lambda fx: (fx / F.MANIFEST).write_text("{"), "is not valid"),
])
def test_a_missing_or_unreadable_fixture_is_an_error_naming_the_entry(tmp_path, breakage,
                                                                      said):
    inst = _project(tmp_path)
    breakage(tmp_path / "fixtures" / "app")
    with pytest.raises(IrisenvError) as e:
        init.declared(inst)
    assert e.value.what.startswith("instances.iris.namespaces.APP.init: fixture fixtures/app")
    assert said in e.value.what + e.value.why


# ------------------------------------------------------------------ applying it
class Engine(FsEngine):
    """FsEngine that also keeps, in order, what happened: the record's init field written,
    the fixture's swap (dismount, cp, mount) and each SQL statement run."""

    def __init__(self):
        super().__init__()
        self.seen: list = []

    def exec(self, container_id, cmd, *, stdin=None, env=None, user=None, timeout=60):
        for k, v in (env or {}).items():
            if k.startswith("IRISENV_REC_VALUE"):
                self.seen.append(("record", v.rsplit("^", 1)[1]))
            if k.startswith("IRISENV_SQL_"):
                self.seen.append(("sql", v))
        n = len(self.steps)
        res = super().exec(container_id, cmd, stdin=stdin, env=env, user=user, timeout=timeout)
        self.seen.extend(self.steps[n:])
        return res


def _apply(tmp_path, monkeypatch, engine, change=None):
    """Apply APP's init (a fixture, then sql/seed.sql) on a fresh namespace, after
    ``change(fixture_dir)``."""
    from irisenv.iris import init as iris_init

    monkeypatch.setenv("IRISENV_STATE_DIR", str(tmp_path / "state"))
    inst = _project(tmp_path)
    ni = init.declared(inst)
    d = IrisDesired.of(inst, ni)
    if change is not None:
        change(tmp_path / "fixtures" / "app")
    cid = instance(engine)
    (a,) = [x for x in plan_iris(d, _fresh(), fresh=True).actions
            if isinstance(x, InitNamespace)]
    iris_init.apply(engine, cid, d, a)
    return cid, ni["APP"]


def _fresh():
    return IrisObserved(records={}, namespaces={"APP": True}, callin=True, user_exists=True,
                        password_ok=True, user_change_required=False, user_enabled=True,
                        observed_at=100.0)


def test_the_fixture_is_loaded_first_then_the_rest_and_the_hash_recorded_last(tmp_path,
                                                                              monkeypatch):
    engine = Engine()
    cid, ni = _apply(tmp_path, monkeypatch, engine)
    assert engine.containers[cid]["fs"][DIR + "IRIS.DAT"] == NEW
    assert engine.seen == [("record", init.PENDING), "DismountDatabase", "cp", "MountDatabase",
                           ("sql", "INSERT INTO a VALUES (1)"), ("record", ni.digest)]
    # the fixture's file travels by itself (iris/fixture.py), not with the init's files
    assert not any(p.startswith("/home/irisowner/irisenv/init/")
                   for p in engine.containers[cid]["fs"])


def test_a_tampered_fixture_fails_naming_the_entry_and_stays_pending(tmp_path, monkeypatch):
    def tamper(fx):
        (fx / "IRIS.DAT").write_bytes((fx / "IRIS.DAT").read_bytes().replace(b"fixture",
                                                                             b"mixture"))

    engine = Engine()
    with pytest.raises(IrisenvError) as e:
        _apply(tmp_path, monkeypatch, engine, tamper)
    what = e.value.what
    assert what.startswith("instance iris: init of namespace APP failed in fixture fixtures/app")
    assert "does not match its manifest" in what and "sha256 differs" in e.value.why
    assert "stays marked not initialised" in e.value.fix
    assert [r for r in engine.seen if r[0] == "record"] == [("record", init.PENDING)]
    assert engine.steps == [] and not any(r[0] == "sql" for r in engine.seen)
    cid = next(iter(engine.containers))
    assert engine.containers[cid]["fs"][DIR + "IRIS.DAT"] == DATA  # the old data untouched


def test_a_fixture_of_another_iris_version_fails_with_both_versions(tmp_path, monkeypatch):
    from test_fixture import V2024

    def other_version(fx):
        data = json.loads((fx / F.MANIFEST).read_text())
        data["iris_version"] = V2024
        (fx / F.MANIFEST).write_text(json.dumps(data))

    engine = Engine()
    with pytest.raises(IrisenvError) as e:
        _apply(tmp_path, monkeypatch, engine, other_version)
    assert "failed in fixture fixtures/app" in e.value.what
    assert "2024.1 (Build 267U)" in e.value.why and "2025.1 (Build 223U)" in e.value.why
    assert [r for r in engine.seen if r[0] == "record"] == [("record", init.PENDING)]
