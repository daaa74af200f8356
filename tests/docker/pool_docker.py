"""Helpers for the pool's Docker tests (test_pool.py, test_pool_leases.py): a project with a
pooled namespace APP on the stand-in (a class and a seed global as its init), ObjectScript
run in a namespace through `iris session`, the IRIS-side record, the lease table."""
from __future__ import annotations

import re

from helpers import instance_toml

from irisenv import statedir
from irisenv.leases import LeaseTable

SEED = '^Seed(1)="one"\n^Seed("a",2)="{v}"\n'


def session(container, ns: str, script: str) -> str:
    res = container.exec_run(["sh", "-c", 'printf "%s" "$S" | iris session IRIS -U "$N"'],
                             environment={"S": script + "\nhalt\n", "N": ns,
                                          "STANDIN_SESSION_PROMPTS": "0"})
    return res.output.decode("utf-8", "replace")


def values(container, ns: str) -> dict:
    out = session(container, ns, "\n".join([
        'write "seed=",$Get(^Seed("a",2)),!',
        'write "dirty=",$Get(^Dirty),!',
        'write "cls=",##class(%Dictionary.CompiledClass).%ExistsId("App.Customer"),!']))
    return dict(re.findall(r"^(\w+)=(.*)$", out, re.M))


def record(container, ns: str) -> list:
    out = session(container, "%SYS", 'write "rec=",$Get(^IRISENV("ns","' + ns + '")),!')
    m = re.search(r"^rec=(.*)$", out, re.M)
    return m.group(1).split("^") if m and m.group(1) else []


def write_project(project, seed="two", pool="2"):
    p = project.path
    (p / "src" / "App").mkdir(parents=True, exist_ok=True)
    (p / "src" / "App" / "Customer.cls").write_text(
        "Class App.Customer Extends %Persistent\n{\n\nProperty Name As %String;\n\n}\n")
    (p / "data").mkdir(exist_ok=True)
    (p / "data" / "seed.gof").write_text(SEED.format(v=seed))
    project.write(instance_toml("iris") + "\n[instances.iris.namespaces.APP]\n"
                  f'init = ["src/", "data/seed.gof"]\npool = {pool}\n')


def table(project) -> LeaseTable:
    """The project's lease table, as the CLI wrote it (found by its file name)."""
    found = list(statedir.directory("pools").glob(f"{project.name}.*.json"))
    assert len(found) == 1, found
    t = LeaseTable(None, project.name)
    t.path, t.lock_path = found[0], found[0].with_suffix(".lock")
    return t
