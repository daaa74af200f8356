"""The namespace pool against a real IRIS (the real-IRIS lane: IRISENV_IRIS_IMAGE set; see
tests/iris/test_real_iris.py): the scenarios of tests/docker/test_pool.py. What the
stand-in only imitates (tests/standin/README.md, "The namespace pool") is checked here:
that a namespace whose Routines database is another namespace's code database sees its
compiled classes and its SQL tables, that %Library.File.CopyFile copies a dismounted
IRIS.DAT which MountDatabase then mounts, and that a copy reset so reads back the
template's initialised rows and none of what a test wrote."""
from __future__ import annotations

from irisenv import statedir
from irisenv.leases import LeaseTable
from test_real_iris import INSTANCE, SYNC_TIMEOUT, RealProject, describe, real_project  # noqa: F401

SETUP = """Class Irisenv.Pool.Setup Extends %RegisteredObject
{

ClassMethod Run() As %Status
{
    set ^IrisenvPool("seeded")=$Get(^IrisenvPool("seeded"))+1
    quit $$$OK
}

}
"""
SCHEMA = ("CREATE TABLE IrisenvPool.Customer (id INT, name VARCHAR(50));\n"
          "INSERT INTO IrisenvPool.Customer (id, name) VALUES (1, 'Ada');\n")
READ = [
    'write "IRISENV-T:cls=",##class(%Dictionary.CompiledClass).%ExistsId("Irisenv.Pool.Setup"),!',
    'write "IRISENV-T:seeded=",$Get(^IrisenvPool("seeded")),"|",$Get(^IrisenvDirty),!',
    'set r=##class(%SQL.Statement).%ExecDirect(,"SELECT COUNT(*) AS n FROM '
    'IrisenvPool.Customer") do r.%Next() write "IRISENV-T:rows=",r.%Get("n"),!',
]


def _table(p: RealProject) -> LeaseTable:
    (found,) = statedir.directory("pools").glob(f"{p.name}.*.json")
    t = LeaseTable(None, p.name)
    t.path, t.lock_path = found, found.with_suffix(".lock")
    return t


def test_pool_on_real_iris(real_project: RealProject):
    p = real_project
    (p.path / "src" / "Irisenv" / "Pool").mkdir(parents=True)
    (p.path / "src" / "Irisenv" / "Pool" / "Setup.cls").write_text(SETUP)
    (p.path / "sql").mkdir()
    (p.path / "sql" / "schema.sql").write_text(SCHEMA)
    p.config.write_text(p.config.read_text().replace(
        f"[instances.{INSTANCE}.namespaces.APP]",
        f'[instances.{INSTANCE}.namespaces.APP]\ninit = ["src/", "sql/schema.sql", '
        '{ run = "##class(Irisenv.Pool.Setup).Run()" }]\npool = 2'))
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    for copy in ("APP_P1", "APP_P2"):
        vals = p.objectscript(READ, namespace=copy)
        assert vals == {"cls": "1", "seeded": "1|", "rows": "1"}, (copy, vals)
    assert p.run("plan", "--detailed-exitcode").returncode == 0

    t = _table(p)
    got = t.lease(f"{INSTANCE}/APP", timeout=10).copy
    name = got.split("/")[1]
    p.objectscript(['set ^IrisenvDirty=1 write "IRISENV-T:set=1",!',
                    'do ##class(%SQL.Statement).%ExecDirect(,"INSERT INTO IrisenvPool.Customer '
                    '(id) VALUES (2)") write "IRISENV-T:ins=1",!'], namespace=name)
    t.release(got)
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    assert p.objectscript(READ, namespace=name) == {"cls": "1", "seeded": "1|", "rows": "1"}

    (p.path / "sql" / "schema.sql").write_text(
        SCHEMA + "INSERT INTO IrisenvPool.Customer (id, name) VALUES (3, 'Grace');\n")
    sync = p.run("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    assert sync.returncode == 0, describe(sync)
    for copy in ("APP_P1", "APP_P2"):
        assert p.objectscript(READ, namespace=copy)["rows"] == "2", copy
    p.finished = True
