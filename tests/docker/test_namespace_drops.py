"""A namespace removed from the config: its data is destroyed only where that is expected.

On durable storage (storage = "volume") `sync` keeps it and says why and how; `plan` and
`sync --drop-namespaces` show and carry out the destroy. On ephemeral storage the drop
happens on a plain sync, counted as a destroy. Real Docker, stand-in image."""
from __future__ import annotations

import json
import re
import time

import pytest

from helpers import describe, instance_toml
from irisenv.core.iris_plan import TEMP_TTL


def exists(container, ns: str) -> bool:
    """%SYS.Namespace.Exists, asked of IRIS itself (ns is a plain name chosen by the test)."""
    script = f'write "EXISTS=",##class(%SYS.Namespace).Exists("{ns}"),!\nhalt\n'
    res = container.exec_run(["sh", "-c", 'printf "%s" "$S" | iris session IRIS -U %SYS'],
                             environment={"S": script})
    text = res.output.decode("utf-8", "replace")
    assert "EXISTS=" in text, text
    return "EXISTS=1" in text


def configure(p, storage: str, *namespaces: str) -> None:
    tables = "".join(f"\n[instances.iris.namespaces.{n}]\n" for n in namespaces)
    p.write(instance_toml("iris", storage=storage) + tables)


def test_durable_namespace_is_kept_until_the_flag_is_given(project):
    storage = "volume"
    configure(project, storage, "APP", "OLD")
    project.ok("sync", "--timeout", "60")
    c = project.container()
    assert exists(c, "OLD") and exists(c, "APP")

    configure(project, storage, "APP")
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, describe(plan)  # nothing will change without the flag
    assert "namespace OLD is no longer declared but kept" in plan.stdout
    assert "--drop-namespaces" in plan.stdout
    sync = project.ok("sync", "--timeout", "60")
    assert "namespace OLD is no longer declared but kept" in sync.stderr, describe(sync)
    assert exists(c, "OLD"), "a plain sync dropped a namespace on durable storage"
    status = json.loads(project.ok("status", "--json").stdout)["instances"][0]["iris_state"]
    assert status["kept_namespaces"] == ["OLD"] and status["pending"] == []
    assert "kept: namespace OLD" in project.ok("status").stdout

    plan = project.run("plan", "--drop-namespaces", "--detailed-exitcode")
    assert plan.returncode == 2, describe(plan)
    assert "- namespace OLD and its databases" in plan.stdout and "its data will be lost" in plan.stdout
    assert "1 to destroy" in plan.stdout
    js = json.loads(project.ok("plan", "--drop-namespaces", "--json").stdout)
    assert js["summary"]["destroy"] == 1
    sync = project.ok("sync", "--drop-namespaces", "--timeout", "60")
    assert "1 destroyed" in sync.stderr, describe(sync)
    assert not exists(c, "OLD") and exists(c, "APP")
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_ephemeral_namespace_is_dropped_by_a_plain_sync_and_counted(project):
    configure(project, "ephemeral", "APP", "OLD")
    project.ok("sync", "--timeout", "60")
    c = project.container()
    configure(project, "ephemeral", "APP")
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2 and "1 to destroy" in plan.stdout, describe(plan)
    sync = project.ok("sync", "--timeout", "60")
    assert "1 destroyed" in sync.stderr, describe(sync)
    assert not exists(c, "OLD") and exists(c, "APP")


def test_replaced_volume_instance_keeps_the_undeclared_namespace(project):
    """A replace (memory changed) carries the volume's namespaces over: the kept namespace
    is not dropped by the converge that follows the replace."""
    configure(project, "volume", "APP", "OLD")
    project.ok("sync", "--timeout", "60")
    project.write(instance_toml("iris", storage="volume", memory="3g")
                  + "\n[instances.iris.namespaces.APP]\n")
    plan = project.ok("plan")
    assert "namespace OLD is no longer declared but kept" in plan.stdout, describe(plan)
    project.ok("sync", "--timeout", "60")
    assert exists(project.container(), "OLD")


# --------------------------------------------------------------------- the older record
def session(container, script: str) -> str:
    res = container.exec_run(["sh", "-c", 'printf "%s" "$S" | iris session IRIS -U %SYS'],
                             environment={"S": script + "halt\n"})
    return res.output.decode("utf-8", "replace")


def merge_by_hand(container, storage: str, *names: str) -> None:
    """Namespaces made with `iris merge` in the container, where irisenv puts its own."""
    from irisenv.iris.converge import db_dir

    lines = ["[Actions]"]
    for n in names:
        lines += [f"CreateDatabase:Name={n}_DATA,Directory={db_dir(storage, n, 'data')}",
                  f"CreateDatabase:Name={n}_CODE,Directory={db_dir(storage, n, 'code')}",
                  f"CreateNamespace:Name={n},Globals={n}_DATA,Routines={n}_CODE,Interop=0"]
    res = container.exec_run(["sh", "-c", 'printf "%s\\n" "$M" > /tmp/hand.cpf && '
                              "iris merge IRIS /tmp/hand.cpf"], environment={"M": "\n".join(lines)})
    assert res.exit_code == 0, res.output.decode()


@pytest.mark.parametrize("storage", ["ephemeral", "volume"])
def test_a_record_in_the_older_format_is_migrated_by_sync_and_keeps_its_meaning(project, storage):
    """An instance synced by irisenv before the per-namespace record holds three strings in
    %SYS (written here by hand, as that version did). This version's sync keeps what they
    said: the owned OLD, no longer declared, is dropped (ephemeral) or kept (volume), a
    test-run namespace is dropped only once abandoned, a hand-made one never; the record is
    rewritten as one node per namespace and the old nodes are gone."""
    configure(project, storage, "APP", "OLD")
    project.ok("sync", "--timeout", "60")
    c = project.container()
    merge_by_hand(c, storage, "HAND", "TRUN", "TSTALE")
    now = int(time.time())
    stale = now - TEMP_TTL - 600
    out = session(c, 'kill ^IRISENV\n'
                     'set ^IRISENV("owned")="APP,OLD",^IRISENV("syschange")="sticky"\n'
                     f'set ^IRISENV("temp")="TRUN@{now - 60},TSTALE@{stale}"\n')
    assert "<" not in out, out

    configure(project, storage, "APP")
    status = json.loads(project.ok("status", "--json").stdout)["instances"][0]["iris_state"]
    assert status["owned_namespaces"] == ["APP", "OLD"]  # read from the older strings
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2, describe(plan)
    assert "one node per namespace" in plan.stdout, describe(plan)
    assert "namespace TSTALE and its databases (left by a test run" in plan.stdout
    sync = project.ok("sync", "--timeout", "60")
    assert exists(c, "APP") and exists(c, "HAND") and exists(c, "TRUN")
    assert not exists(c, "TSTALE")
    if storage == "volume":
        assert exists(c, "OLD"), "a plain sync dropped a namespace on durable storage"
        assert "namespace OLD is no longer declared but kept" in sync.stderr, describe(sync)
    else:
        assert not exists(c, "OLD")

    out = session(c, 'set n="" for { set n=$Order(^IRISENV("ns",n)) quit:n=""  '
                     'write "NODE:",n,"=",^IRISENV("ns",n),! }\n'
                     'write "OLD:",$Data(^IRISENV("owned")),$Data(^IRISENV("temp")),'
                     '$Data(^IRISENV("syschange")),!\n'
                     'write "INSTANCE:",$Get(^IRISENV("instance","syschange")),!\n')
    nodes = dict(re.findall(r"NODE:(\w+)=(\S*)", out))
    expected = {"APP": "declared^0^sync^", "TRUN": f"test-run^{now - 60}^^"}
    if storage == "volume":
        expected["OLD"] = "declared^0^sync^"
    assert nodes == expected, out
    assert "OLD:000" in out and "INSTANCE:sticky" in out, out
    assert project.run("plan", "--detailed-exitcode").returncode == 0
