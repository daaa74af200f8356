"""Declared init: the config key, the content hash and its cache, SQL splitting, the plan."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from irisenv.config.load import parse_config
from irisenv.core import init
from irisenv.core.iris_plan import InitNamespace, IrisDesired, IrisObserved, plan_iris
from irisenv.core.iris_record import DECLARED, NamespaceRecord
from irisenv.errors import ConfigError


def _project(tmp_path: Path, init_line: str, storage: str = "ephemeral"):
    (tmp_path / "src" / "App").mkdir(parents=True, exist_ok=True)
    (tmp_path / "src" / "App" / "Customer.cls").write_text("Class App.Customer {}\n")
    (tmp_path / "src" / "README.txt").write_text("ignored")
    (tmp_path / "sql").mkdir(exist_ok=True)
    if not (tmp_path / "sql" / "schema.sql").exists():
        (tmp_path / "sql" / "schema.sql").write_text("CREATE TABLE a (x INT);\n")
    text = f'[instances.iris]\nstorage = "{storage}"\n[instances.iris.namespaces.APP]\n{init_line}\n'
    return parse_config(text, tmp_path / "iris-devtester.toml").instances["iris"]


def test_entries_in_order_and_directory_expanded(tmp_path):
    inst = _project(tmp_path, 'init = ["src/", "sql/schema.sql", { run = "##class(A).B()" }]')
    ni = init.declared(inst)["APP"]
    assert [(i.kind, i.rel) for i in ni.items] == [
        ("code", "src/App/Customer.cls"), ("sql", "sql/schema.sql"), ("run", "")]
    assert ni.items[2].run == "##class(A).B()"


@pytest.mark.parametrize("entry, said", [
    ('"../x.sql"', "outside the project"),
    ('"/etc/x.sql"', "outside the project"),
    ('"notes.txt"', "does not exist"),
    ('"missing/"', "does not exist"),
    ('{ run = "a", x = 1 }', "must be { run"),
])
def test_bad_entries_are_config_errors_at_their_line(tmp_path, entry, said):
    with pytest.raises(ConfigError) as e:
        _project(tmp_path, f'init = [\n  "sql/schema.sql",\n  {entry},\n]')
    issue = e.value.issues[0]
    assert said in issue.what and issue.line == 6 and issue.key.endswith("init.1")


def test_init_on_user_is_refused(tmp_path):
    text = '[instances.iris.namespaces.USER]\ninit = ["a.sql"]\n'
    (tmp_path / "a.sql").write_text("select 1")
    with pytest.raises(ConfigError) as e:
        parse_config(text, tmp_path / "iris-devtester.toml")
    assert "built-in namespace" in e.value.issues[0].what


def test_empty_directory_is_an_error(tmp_path):
    inst = _project(tmp_path, 'init = ["sql/"]')
    (tmp_path / "sql" / "schema.sql").unlink()
    with pytest.raises(Exception) as e:
        init.declared(inst)
    assert "holds no class or routine file" in str(e.value)


def test_hash_follows_bytes_not_mtime(tmp_path):
    inst = _project(tmp_path, 'init = ["sql/schema.sql"]')
    first = init.declared(inst)["APP"].digest
    os.utime(tmp_path / "sql" / "schema.sql", (1, 1))
    assert init.declared(inst)["APP"].digest == first
    (tmp_path / "sql" / "schema.sql").write_text("CREATE TABLE b (x INT);\n")
    assert init.declared(inst)["APP"].digest != first


def test_cache_skips_reading_unchanged_files(tmp_path, monkeypatch):
    inst = _project(tmp_path, 'init = ["sql/schema.sql"]')
    old = 1_600_000_000 * 10**9  # a file settled long ago (one just written is hashed again)
    os.utime(tmp_path / "sql" / "schema.sql", ns=(old, old))
    cache = init.HashCache(tmp_path / "state" / "h.json")
    (tmp_path / "state").mkdir()
    first = init.declared(inst, cache)["APP"].digest
    cache.save()
    reads = []
    monkeypatch.setattr(init, "read", lambda item, key: reads.append(item) or b"")
    again = init.HashCache(tmp_path / "state" / "h.json")
    assert init.declared(inst, again)["APP"].digest == first and reads == []
    st = os.stat(tmp_path / "sql" / "schema.sql")
    os.utime(tmp_path / "sql" / "schema.sql", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    init.declared(inst, again)
    assert len(reads) == 1  # size/mtime changed: read (and hashed) again


def test_split_sql_quotes_comments_go_and_lines():
    script = ("-- schema; v1\nCREATE TABLE a (x VARCHAR(5));\n"
              "INSERT INTO a VALUES ('x;y');  /* a ; b\n */\n\n"
              "INSERT INTO a\n  VALUES ('it''s')\nGO\nselect 1")
    assert init.split_sql(script) == [
        (2, "CREATE TABLE a (x VARCHAR(5))"),
        (3, "INSERT INTO a VALUES ('x;y')"),
        (6, "INSERT INTO a\n  VALUES ('it''s')"),
        (9, "select 1")]


# ------------------------------------------------------------------ the plan
def _desired(tmp_path, storage="ephemeral"):
    inst = _project(tmp_path, 'init = ["src/", "sql/schema.sql"]', storage)
    return IrisDesired.of(inst, init.declared(inst))


def _seen(init_field, exists=True):
    recs = {} if init_field is None else {"APP": NamespaceRecord(DECLARED, 5, "sync", init_field)}
    return IrisObserved(records=recs, namespaces={"APP": exists}, callin=True, user_exists=True,
                        password_ok=True, user_change_required=False, user_enabled=True,
                        observed_at=100.0)


def _inits(plan):
    return [a for a in plan.actions if isinstance(a, InitNamespace)]


def test_unchanged_init_plans_nothing(tmp_path):
    d = _desired(tmp_path)
    assert plan_iris(d, _seen(d.inits[0].digest)).empty


def test_fresh_namespace_is_initialised_without_reset(tmp_path):
    d = _desired(tmp_path)
    (a,) = _inits(plan_iris(d, _seen(None), fresh=True))
    assert not a.reset and a.describe() == "namespace APP: initialise (2 entries)"
    (a,) = _inits(plan_iris(d, _seen(None, exists=False)))  # created by this converge
    assert not a.reset


def test_changed_init_resets_and_names_the_file(tmp_path):
    d = _desired(tmp_path)
    old = dict(d.inits[0].files(), **{"sql/schema.sql": "0" * 64})
    (a,) = _inits(plan_iris(d, _seen("f" * 32), previous={"f" * 32: old}.get))
    assert a.reset and not a.destroys and a.changed == ("sql/schema.sql",)
    assert a.describe() == ("namespace APP: init changed (sql/schema.sql) -> databases reset "
                            "and re-initialised")
    assert a.created == 5  # the record keeps its creation time


def test_changed_init_on_a_volume_needs_the_opt_in(tmp_path):
    d = _desired(tmp_path, "volume")
    p = plan_iris(d, _seen("f" * 32))
    assert not _inits(p) and p.init_kept == ("APP",)
    p = plan_iris(d, _seen("f" * 32), drop_durable=True)
    assert _inits(p)[0].destroys and p.drops == tuple(_inits(p))


def test_a_failed_init_is_retried_with_a_reset_that_is_no_destroy(tmp_path):
    d = _desired(tmp_path, "volume")
    (a,) = _inits(plan_iris(d, _seen(init.PENDING)))
    assert a.reset and not a.destroys and "did not complete" in a.describe()


def test_a_namespace_irisenv_did_not_make_is_never_initialised(tmp_path):
    d = _desired(tmp_path)
    assert not _inits(plan_iris(d, _seen(None)))  # exists, no record, not fresh


# ------------------------------------------------------------------ applying (a scripted IRIS)
class _Iris:
    """Answers `iris session` like IRIS: the values the script writes, the sentinel; a SQL
    statement named in ``fail_sql`` fails with an SQL error after its step marker."""

    def __init__(self, fail_sql: str = ""):
        import re

        self.re, self.fail_sql = re, fail_sql
        self.sessions, self.files, self.removed = [], {}, []

    def put_files(self, cid, files):
        self.files.update(files.contents)

    def exec(self, cid, cmd, *, stdin=None, env=None, user=None, timeout=60):
        from irisenv.engine.base import ExecResult

        if cmd[:2] == ["rm", "-rf"]:
            self.removed.extend(cmd[3:])
            return ExecResult(0, "", "")
        text = stdin.decode()
        self.sessions.append((cmd[4], text, dict(env or {})))
        out = []
        for line in text.splitlines():
            step = self.re.search(r'IRISENV-VAL:step=(\d+)', line)
            if step:
                out.append(f"IRISENV-VAL:step={step.group(1)}")
            m = self.re.search(r'GetEnviron\("(IRISENV_SQL_\d+)"\)', line)
            if m and self.fail_sql and self.fail_sql in env[m.group(1)]:
                out.append("IRISENV-ERR:<SQL ERROR> SQLCODE: -30 Table 'NOPE' not found")
                return ExecResult(2, "\n".join(out) + "\n", "")
            if "%ExistsId" in line:
                k = self.re.search(r'cls\.(\d+)', line).group(1)
                out.append(f"IRISENV-VAL:cls.{k}=1")
            sentinel = self.re.match(r'write "(IRISENV-OK-[0-9a-f]+)"', line)
            if sentinel:
                out.append(sentinel.group(1))
        return ExecResult(0, "\n".join(out) + "\n", "")


def _records(iris):
    return [env[k] for _, _, env in iris.sessions for k in env if k.startswith("IRISENV_REC_VALUE")]


def test_apply_runs_each_entry_and_records_the_hash_last(tmp_path, monkeypatch):
    from irisenv.iris import init as iris_init

    monkeypatch.setenv("IRISENV_STATE_DIR", str(tmp_path / "state"))
    d = _desired(tmp_path)
    (a,) = _inits(plan_iris(d, _seen(None), fresh=True))
    iris = _Iris()
    iris_init.apply(iris, "c1", d, a)
    assert _records(iris)[0].endswith("^pending") and _records(iris)[-1].endswith(d.inits[0].digest)
    scripts = "".join(t for _, t, _ in iris.sessions)
    assert "$SYSTEM.OBJ.ImportDir(" in scripts and "%SQL.Statement).%ExecDirect(" in scripts
    assert any(env.get("IRISENV_SQL_0") == "CREATE TABLE a (x INT)" for _, _, env in iris.sessions)
    assert {ns for ns, _, env in iris.sessions if "IRISENV_SQL_0" in env} == {"APP"}
    assert iris.removed == [f"{iris_init.INIT_DIR}/app"]  # the copies are removed
    assert init.applied()[d.inits[0].digest] == d.inits[0].files()


def test_a_failing_statement_names_file_and_line_and_stays_pending(tmp_path, monkeypatch):
    from irisenv.errors import IrisenvError
    from irisenv.iris import init as iris_init

    monkeypatch.setenv("IRISENV_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "schema.sql").write_text(
        "CREATE TABLE a (x INT);\n\n-- then\nINSERT INTO nope\n VALUES (1);\n")
    d = _desired(tmp_path)
    (a,) = _inits(plan_iris(d, _seen(None), fresh=True))
    iris = _Iris(fail_sql="nope")
    with pytest.raises(IrisenvError) as e:
        iris_init.apply(iris, "c1", d, a)
    assert "failed in sql/schema.sql line 4" in e.value.what
    assert "SQLCODE: -30 Table 'NOPE' not found" in e.value.why
    assert all(r.endswith("^pending") for r in _records(iris))  # never recorded as done
    assert iris.removed  # copies removed even so
