"""Declared init (`[instances.<i>.namespaces.<NS>] init`) against real Docker and the
stand-in (tests/standin/, "Declared init"): applied on the first sync, nothing spent on an
unchanged init, exactly the changed namespace re-initialised in the same container, a
failing file named with IRIS's text and retried by the next sync, a durable namespace
kept until --drop-namespaces."""
from __future__ import annotations

import re
import time

import pytest

from helpers import describe, instance_toml

SETUP = """Class App.Setup Extends %RegisteredObject
{

ClassMethod Run() As %Status
{
    set ^App("seeded")=$Get(^App("seeded"))+1
    quit 1
}

}
"""
SCHEMA = """-- the application's schema
CREATE TABLE Customer (
  id INT,
  name VARCHAR(50)
);
INSERT INTO Customer (id, name) VALUES (1, 'Ada; Lovelace');
"""


def session(container, ns: str, script: str) -> str:
    res = container.exec_run(["sh", "-c", 'printf "%s" "$S" | iris session IRIS -U "$N"'],
                             environment={"S": script + "\nhalt\n", "N": ns,
                                          "STANDIN_SESSION_PROMPTS": "0"})
    return res.output.decode("utf-8", "replace")


def state(container, ns: str = "APP") -> dict:
    """What IRIS says of the namespace: class compiled, globals, the table (a second
    CREATE TABLE is SQLCODE -201 when it exists), irisenv's record."""
    out = session(container, ns, "\n".join([
        'write "cls=",##class(%Dictionary.CompiledClass).%ExistsId("App.Customer"),!',
        'write "seeded=",$Get(^App("seeded")),!',
        'write "gof=",$Get(^Seed("a",2)),!',
        'write "marker=",$Get(^Marker),!',
        'set r=##class(%SQL.Statement).%ExecDirect(,"CREATE TABLE Customer (id INT)") '
        'write "table=",r.%SQLCODE,! '
        'if r.%SQLCODE=0 { set r=##class(%SQL.Statement).%ExecDirect(,"DROP TABLE Customer") }',
    ]))
    rec = session(container, "%SYS", 'write "rec=",$Get(^IRISENV("ns","' + ns + '")),!')
    vals = dict(re.findall(r"^(\w+)=(.*)$", out + rec, re.M))
    vals["init"] = vals.get("rec", "").split("^")[3] if vals.get("rec", "").count("^") >= 3 else ""
    return vals


def write_project(project, storage="ephemeral", namespaces=("APP",), run='##class(App.Setup).Run()'):
    p = project.path
    (p / "src" / "App").mkdir(parents=True, exist_ok=True)
    (p / "src" / "App" / "Setup.cls").write_text(SETUP)
    (p / "src" / "App" / "Customer.cls").write_text(
        "Class App.Customer Extends %Persistent\n{\n\nProperty Name As %String;\n\n}\n")
    (p / "sql").mkdir(exist_ok=True)
    if not (p / "sql" / "schema.sql").exists():
        (p / "sql" / "schema.sql").write_text(SCHEMA)
    (p / "data").mkdir(exist_ok=True)
    (p / "data" / "seed.gof").write_text('^Seed(1)="one"\n^Seed("a",2)="two"\n')
    entries = f'["src/", "sql/schema.sql", "data/seed.gof", {{ run = "{run}" }}]'
    tables = "".join(f"\n[instances.iris.namespaces.{ns}]\ninit = {entries}\n" for ns in namespaces)
    project.write(instance_toml("iris", storage=storage) + tables)


def init_sessions(project, since: float, ns: str = "APP") -> list:
    """The `iris session ... -U <ns>` execs the engine saw since ``since`` (init and its
    verification run in the namespace; the probe runs in %SYS)."""
    c = project.container()
    events = project.client.events(since=int(since), until=int(time.time()) + 1, decode=True,
                                   filters={"container": c.id, "event": "exec_start"})
    return [e["Action"] for e in events if e.get("timeNano", 0) >= since * 1e9
            and "iris session" in e.get("Action", "") and f"-U {ns}" in e["Action"]]


def test_init_applied_on_first_sync_then_nothing_spent_while_unchanged(project):
    write_project(project)
    project.ok("sync", "--timeout", "60")
    c = project.container()
    s = state(c)
    assert s["cls"] == "1" and s["seeded"] == "1" and s["gof"] == "two", s
    assert s["table"] == "-201", s  # CREATE TABLE Customer ran: it exists
    assert re.fullmatch(r"[0-9a-f]{32}", s["init"]), s

    time.sleep(1.1)  # the events API counts whole seconds
    t0 = time.time()
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, describe(plan)
    project.ok("sync", "--timeout", "60")
    time.sleep(1.1)
    assert init_sessions(project, t0) == []
    assert state(c)["seeded"] == "1"  # the run entry was not called again


def test_one_changed_file_reinitialises_exactly_that_namespace_in_the_same_container(project):
    write_project(project, namespaces=("APP", "OTHER"))
    project.ok("sync", "--timeout", "60")
    c = project.container()
    for ns in ("APP", "OTHER"):
        session(c, ns, "set ^Marker=1")
    first = state(c)["init"]

    # OTHER's schema is another file: only APP's changes
    (project.path / "sql" / "other.sql").write_text(SCHEMA)
    text = project.config_path.read_text()
    head, other = text.split("[instances.iris.namespaces.OTHER]")
    project.config_path.write_text(head + "[instances.iris.namespaces.OTHER]"
                                   + other.replace("sql/schema.sql", "sql/other.sql"))
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2 and "namespace OTHER: init changed" in plan.stdout, describe(plan)
    project.ok("sync", "--timeout", "60")
    session(c, "OTHER", "set ^Marker=1")

    (project.path / "sql" / "schema.sql").write_text(SCHEMA + "INSERT INTO Customer (id) VALUES (2);\n")
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2, describe(plan)
    assert "~ namespace APP: init changed (sql/schema.sql)" in plan.stdout, describe(plan)
    assert "OTHER" not in plan.stdout, describe(plan)
    project.ok("sync", "--timeout", "60")
    assert project.container().id == c.id
    app, oth = state(c, "APP"), state(c, "OTHER")
    assert app["marker"] == "" and app["seeded"] == "1" and app["cls"] == "1", app  # reset, re-applied
    assert app["init"] != first and re.fullmatch(r"[0-9a-f]{32}", app["init"])
    assert oth["marker"] == "1", oth  # untouched
    assert project.run("plan", "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize("kind", ["sql", "class", "run"])
def test_a_failing_file_is_named_with_iris_text_and_retried_next_sync(project, kind):
    run = "##class(App.Setup).Run()"
    if kind == "run":
        run = '$SYSTEM.Status.Error(5001,\\"seeding failed\\")'
    elif kind == "sql":
        (project.path / "sql").mkdir()
        (project.path / "sql" / "schema.sql").write_text(
            SCHEMA + "\n-- the next one is wrong\nINSERT INTO Nope (id)\n  VALUES (1);\n")
    write_project(project, run=run)
    if kind == "class":
        (project.path / "src" / "App" / "Customer.cls").write_text(
            "Class App.Customer\n{\n\nClassMethod X()\n{\n  STANDIN-SYNTAX-ERROR\n}\n\n}\n")
    sync = project.run("sync", "--timeout", "60")
    assert sync.returncode == 1, describe(sync)
    err = sync.stderr
    if kind == "sql":
        assert "failed in sql/schema.sql line 9" in err and "Table 'SQLUSER.NOPE' not found" in err, err
    elif kind == "class":
        assert "failed in src/App/Customer.cls" in err and "ERROR #5030" in err, err
        assert "App.Customer.cls(+6)" in err, err
    else:
        assert "ERROR #5001: seeding failed" in err, err
    assert "stays marked not initialised" in err, err
    c = project.container()
    assert state(c)["init"] == "pending"
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2 and "namespace APP" in plan.stdout, describe(plan)

    # fixed: the next sync resets and applies the whole init
    write_project(project)
    (project.path / "sql" / "schema.sql").write_text(SCHEMA)
    (project.path / "src" / "App" / "Customer.cls").write_text("Class App.Customer\n{\n}\n")
    project.ok("sync", "--timeout", "60")
    s = state(c)
    assert re.fullmatch(r"[0-9a-f]{32}", s["init"]) and s["cls"] == "1" and s["seeded"] == "1", s
    assert project.container().id == c.id


def test_durable_namespace_keeps_its_data_until_drop_namespaces(project):
    write_project(project, storage="volume")
    project.ok("sync", "--timeout", "60")
    c = project.container()
    session(c, "APP", "set ^Marker=1")
    (project.path / "data" / "seed.gof").write_text('^Seed("a",2)="three"\n')
    write_project_keep_seed = project.config_path.read_text()  # config unchanged
    assert write_project_keep_seed
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, describe(plan)
    assert "APP" in plan.stdout and "--drop-namespaces" in plan.stdout, describe(plan)
    sync = project.ok("sync", "--timeout", "60")
    assert "--drop-namespaces" in sync.stderr, describe(sync)
    assert state(c)["marker"] == "1"
    plan = project.run("plan", "--drop-namespaces", "--detailed-exitcode")
    assert plan.returncode == 2 and "init changed (data/seed.gof)" in plan.stdout, describe(plan)
    project.ok("sync", "--drop-namespaces", "--timeout", "60")
    s = state(c)
    assert s["marker"] == "" and s["gof"] == "three", s
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_a_table_missing_after_a_reported_success_fails_the_sync(project):
    """IRIS's word is checked: a CREATE TABLE that reports success but leaves no table
    (the stand-in's STANDIN_NOT_CREATED convention) fails the init, which stays pending."""
    (project.path / "sql").mkdir()
    (project.path / "sql" / "schema.sql").write_text(
        SCHEMA + "\nCREATE TABLE App.STANDIN_NOT_CREATED_X (id INT);\n")
    write_project(project)
    sync = project.run("sync", "--timeout", "60")
    assert sync.returncode == 1, describe(sync)
    assert ("table App.STANDIN_NOT_CREATED_X does not exist after sql/schema.sql (created at "
            "line 8)") in sync.stderr, describe(sync)
    assert "TableExists" in sync.stderr and "stays marked not initialised" in sync.stderr
    assert state(project.container())["init"] == "pending"


def test_a_statement_over_128_kib_reaches_iris(project):
    """Linux refuses one environment string over 128 KiB (MAX_ARG_STRLEN): a statement that
    long travels in parts, joined in ObjectScript."""
    (project.path / "sql").mkdir()
    big = "x" * (200 * 1024)
    (project.path / "sql" / "schema.sql").write_text(
        SCHEMA + f"INSERT INTO Customer (id, name) VALUES (2, '{big}');\n")
    write_project(project)
    project.ok("sync", "--timeout", "60")
    s = state(project.container())
    assert re.fullmatch(r"[0-9a-f]{32}", s["init"]) and s["table"] == "-201", s
    # both INSERTs ran: the stand-in keeps the table's row count in its bookkeeping file
    res = project.container().exec_run(
        ["sh", "-c", "cat $(find / -path '*standin-sql/SQLUSER.CUSTOMER' 2>/dev/null)"])
    assert res.output.decode().split() == ["2"], res.output
