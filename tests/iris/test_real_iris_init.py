"""Declared init against a real IRIS (the real-IRIS lane: IRISENV_IRIS_IMAGE set; see
tests/iris/test_real_iris.py). What the stand-in only imitates (tests/standin/README.md,
"Declared init") is checked here: ImportDir compiles a class directory, %ExecDirect runs
the split script and reports a missing table with a negative %SQLCODE, the run entry's
%Status is checked, a failing file leaves the init pending and the next sync retries it.
Not covered yet: a .gof entry (it needs a %GOF file exported by IRIS itself)."""
from __future__ import annotations

import re

from test_real_iris import INSTANCE, SYNC_TIMEOUT, RealProject, describe, real_project  # noqa: F401

SETUP = """Class Irisenv.Init.Setup Extends %RegisteredObject
{

ClassMethod Run() As %Status
{
    set ^IrisenvInit("seeded")=$Get(^IrisenvInit("seeded"))+1
    quit $$$OK
}

}
"""
SCHEMA = "CREATE TABLE IrisenvInit.Customer (id INT, name VARCHAR(50));\n" \
         "INSERT INTO IrisenvInit.Customer (id, name) VALUES (1, 'Ada; Lovelace');\n"


def test_init_on_real_iris(real_project: RealProject):
    p = real_project
    (p.path / "src" / "Irisenv" / "Init").mkdir(parents=True)
    (p.path / "src" / "Irisenv" / "Init" / "Setup.cls").write_text(SETUP)
    (p.path / "sql").mkdir()
    (p.path / "sql" / "schema.sql").write_text(SCHEMA + "INSERT INTO IrisenvInit.Nope (id) VALUES (1);\n")
    text = p.config.read_text().replace(
        f"[instances.{INSTANCE}.namespaces.APP]",
        f'[instances.{INSTANCE}.namespaces.APP]\ninit = ["src/", "sql/schema.sql", '
        '{ run = "##class(Irisenv.Init.Setup).Run()" }]')
    p.config.write_text(text)

    sync = p.run("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    assert sync.returncode == 1, describe(sync)
    assert "sql/schema.sql line 3" in sync.stderr, describe(sync)
    rec = p.objectscript(['write "IRISENV-T:rec=",$Get(^IRISENV("ns","APP")),!'])["rec"]
    assert rec.split("^")[3] == "pending", rec

    (p.path / "sql" / "schema.sql").write_text(SCHEMA)
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    vals = p.objectscript([
        'write "IRISENV-T:cls=",##class(%Dictionary.CompiledClass).%ExistsId("Irisenv.Init.Setup"),!',
        'write "IRISENV-T:seeded=",$Get(^IrisenvInit("seeded")),!',
        'write "IRISENV-T:rows=",##class(%SQL.Statement).%ExecDirect(,"SELECT COUNT(*) FROM '
        'IrisenvInit.Customer").%Next(),!',
    ], namespace="APP")
    assert vals["cls"] == "1" and vals["seeded"] == "1", vals
    rec = p.objectscript(['write "IRISENV-T:rec=",$Get(^IRISENV("ns","APP")),!'])["rec"]
    assert re.fullmatch(r"[0-9a-f]{32}", rec.split("^")[3]), rec
    assert p.run("plan", "--detailed-exitcode").returncode == 0
    p.finished = True
