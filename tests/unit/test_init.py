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

    def __init__(self, fail_sql: str = "", vanish: str = ""):
        import re

        self.re, self.fail_sql = re, fail_sql
        self.vanish = vanish  # a CREATE TABLE naming it reports success, creates nothing
        self.sessions, self.files, self.removed = [], {}, []
        self.tables: set = set()

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
            if "%ExecDirect" in line:  # the statement: its environment parts, joined
                sql = "".join(env[n] for n in self.re.findall(r'GetEnviron\("([A-Z0-9_]+)"\)', line))
                t = self.re.match(r"CREATE TABLE ([\w.]+)", sql, self.re.I)
                if t and t.group(1) != self.vanish:
                    self.tables.add(t.group(1).upper())
            if "TableExists" in line:
                k = self.re.search(r'tbl\.(\d+)', line).group(1)
                name = env[f"IRISENV_TBL_{k}"].upper()
                out.append(f"IRISENV-VAL:tbl.{k}={int(name in self.tables)}")
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


# ------------------------------------------------------------------ tables a script creates
@pytest.mark.parametrize("sql, text, key", [
    ("CREATE TABLE a (x INT)", "a", ("", "A")),
    ("create table App.Customer(id INT)", "App.Customer", ("APP", "CUSTOMER")),
    ("CREATE  TABLE\n IF NOT EXISTS  App . Customer (id INT)", "App.Customer",
     ("APP", "CUSTOMER")),
    ('CREATE TABLE "My Schema"."Odd ""Name""" (x INT)', '"My Schema"."Odd ""Name"""',
     ("MY SCHEMA", 'ODD "NAME"')),
    ("CREATE TABLE %Z_t.x1 AS SELECT * FROM b", "%Z_t.x1", ("%Z_T", "X1")),
])
def test_created_table_names(sql, text, key):
    t = init.created_table(sql)
    assert (t.text, t.key) == (text, key)


@pytest.mark.parametrize("sql", [
    "INSERT INTO a VALUES (1)", "CREATE GLOBAL TEMPORARY TABLE t (x INT)",
    "CREATE INDEX i ON a (x)", "SELECT 'CREATE TABLE a (x INT)'", "CREATE TABLE (x INT)",
])
def test_other_statements_create_no_table(sql):
    assert init.created_table(sql) is None


def test_tables_to_verify_once_each_and_not_when_dropped_later():
    stmts = init.split_sql(
        "CREATE TABLE a (x INT);\nCREATE TABLE App.B (x INT);\nINSERT INTO a VALUES (1);\n"
        "CREATE TABLE IF NOT EXISTS A (x INT);\nCREATE TABLE tmp (x INT);\n"
        "DROP TABLE IF EXISTS TMP;\n")
    assert [(line, t.text) for line, t in init.tables_to_verify(stmts)] == [
        (1, "a"), (2, "App.B")]


def _apply_script(tmp_path, monkeypatch, script: str, **iris_kw):
    from irisenv.iris import init as iris_init

    monkeypatch.setenv("IRISENV_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "sql").mkdir(exist_ok=True)
    (tmp_path / "sql" / "schema.sql").write_text(script)
    d = _desired(tmp_path)
    (a,) = _inits(plan_iris(d, _seen(None), fresh=True))
    iris = _Iris(**iris_kw)
    return iris, lambda: iris_init.apply(iris, "c1", d, a)


def test_a_table_missing_after_a_reported_success_is_an_error_and_stays_pending(
        tmp_path, monkeypatch):
    from irisenv.errors import IrisenvError

    iris, apply = _apply_script(tmp_path, monkeypatch,
                                "CREATE TABLE a (x INT);\n\nCREATE TABLE App.Gone (x INT);\n",
                                vanish="App.Gone")
    with pytest.raises(IrisenvError) as e:
        apply()
    assert "table App.Gone does not exist after sql/schema.sql (created at line 3)" in e.value.what
    assert "TableExists" in e.value.why and "not initialised" in e.value.fix
    assert all(r.endswith("^pending") for r in _records(iris))
    # the check runs in the script's last session, with the names from the environment
    _, text, env = iris.sessions[-1]
    assert "##class(%SYSTEM.SQL.Schema).TableExists($System.Util.GetEnviron(" in text
    assert [env[k] for k in sorted(env) if k.startswith("IRISENV_TBL_")] == ["a", "App.Gone"]


def test_env_parts_stay_under_the_limit_and_never_cut_a_character():
    from irisenv.iris.runner import env_long, env_parts

    value = "é" * 100_000 + "x"  # 200,001 bytes in UTF-8
    parts = env_parts(value, 65_537)
    assert "".join(parts) == value and all(len(p.encode()) <= 65_537 for p in parts)
    assert len(parts) == 4
    env, expr = env_long("IRISENV_SQL_3", value)
    assert sorted(env) == [f"IRISENV_SQL_3_P{k}" for k in range(4)]
    assert expr == "_".join(f'$System.Util.GetEnviron("IRISENV_SQL_3_P{k}")' for k in range(4))
    assert env_long("IRISENV_SQL_3", "select 1") == (
        {"IRISENV_SQL_3": "select 1"}, '$System.Util.GetEnviron("IRISENV_SQL_3")')


def test_a_long_statement_travels_in_parts_and_every_session_stays_under_arg_max(
        tmp_path, monkeypatch):
    """Linux refuses an exec with one environment string over 128 KiB (MAX_ARG_STRLEN) or
    all of them over ARG_MAX (2 MiB usually)."""
    from irisenv.iris import init as iris_init

    rows = ",".join(f"({i}, '{'v' * 200}')" for i in range(2000))  # ~420 KiB
    big = f"INSERT INTO a (x, y) VALUES {rows}"
    script = "CREATE TABLE a (x INT, y VARCHAR(200));\n" + f"{big};\n" * 3
    iris, apply = _apply_script(tmp_path, monkeypatch, script)
    apply()
    sql_sessions = [env for _, _, env in iris.sessions if any("SQL" in k for k in env)]
    assert len(sql_sessions) >= 2  # never the whole script at once
    for env in sql_sessions:
        assert max(len(k) + 1 + len(v.encode()) for k, v in env.items()) < 128 * 1024
        assert sum(len(k) + 1 + len(v.encode()) for k, v in env.items()) < 1536 * 1024
    sent = "".join(env[k] for env in sql_sessions
                   for k in sorted((k for k in env if k.startswith("IRISENV_SQL_1_P")),
                                   key=lambda k: int(k.rsplit("P", 1)[1])))
    assert sent == big
    assert iris_init.SQL_BATCH < iris_init.STATEMENT_LIMIT


def test_a_statement_over_the_limit_names_file_and_line_before_it_runs(tmp_path, monkeypatch):
    from irisenv.errors import IrisenvError
    from irisenv.iris import init as iris_init

    big = "INSERT INTO a VALUES ('" + "v" * iris_init.STATEMENT_LIMIT + "')"
    iris, apply = _apply_script(tmp_path, monkeypatch, f"CREATE TABLE a (x INT);\n{big};\n")
    with pytest.raises(IrisenvError) as e:
        apply()
    assert "sql/schema.sql line 2: the statement is 1024 KiB" in e.value.what
    assert "split it" in e.value.fix
    assert not any("IRISENV_SQL_0" in env for _, _, env in iris.sessions)
