"""A namespace removed from the config: its data is destroyed only where that is expected.

On durable storage (storage = "volume") `sync` keeps it and says why and how; `plan` and
`sync --drop-namespaces` show and carry out the destroy. On ephemeral storage the drop
happens on a plain sync, counted as a destroy. Real Docker, stand-in image."""
from __future__ import annotations

import json

from helpers import describe, instance_toml


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
