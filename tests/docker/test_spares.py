"""Warm spares on the stand-in (docs/spares.md), booting in 10 s as the issue asks: a sync
under reuse = "never" promotes a spare booted by an earlier sync, which takes the
instance's own port; a changed config drains stale spares; a killed promotion is repaired;
concurrent syncs never share a spare. Behaviour is asserted, never timings."""
from __future__ import annotations

import json
import socket
import time
from datetime import datetime

import pytest
from helpers import describe, instance_toml, wait_for

BOOT = "10"
SPARE_LABEL = "io.irisenv.role"


def configure(project, boot: str = BOOT, **keys) -> None:
    project.write(instance_toml("iris", boot=boot, **{"reuse": "never", "spares": 1, **keys}))


def spares(project) -> list:
    return [c for c in project.containers("iris") if c.labels.get(SPARE_LABEL) == "spare"
            and c.name != f"{project.name}-iris"]


def instance(project):
    [c] = [c for c in project.containers("iris") if c.name == f"{project.name}-iris"]
    return c


def ready_spares(project, n: int = 1, timeout: float = 90) -> list:
    """Wait until status counts ``n`` ready spares; their containers."""
    def ready():
        p = project.ok("status", "--json")
        return json.loads(p.stdout)["instances"][0]["spares"]["ready"] >= n
    wait_for(ready, timeout=timeout, step=0.5, what=f"{n} ready spare(s)")
    return spares(project)


def events(proc) -> list:
    return [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]


def started_at(c) -> float:
    c.reload()
    text = c.attrs["State"]["StartedAt"]
    return datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00").timestamp()


def published(c) -> dict:
    c.reload()
    return {k: int(v[0]["HostPort"]) for k, v in (c.attrs["NetworkSettings"]["Ports"] or {}).items()
            if v}


def session(container, script: str) -> str:
    res = container.exec_run(["sh", "-c", 'printf "%s" "$S" | iris session IRIS -U USER'],
                             environment={"S": script + "halt\n"})
    return res.output.decode("utf-8", "replace")


def test_a_second_sync_promotes_the_spare_the_first_one_booted(project):
    configure(project)
    project.ok("sync")
    first = instance(project)
    port = published(first)["1972/tcp"]
    [spare] = spares(project)
    assert published(spare) == {}  # a spare publishes nothing while it boots
    assert spare.attrs["NetworkSettings"]["Networks"] == {}
    ready_spares(project)
    session(first, 'set ^Dirty=1\n')  # what a test run leaves behind
    assert "1" in session(first, 'write $data(^Dirty),!\n')

    before = time.time()
    p = project.ok("sync", "--progress", "json")
    said = events(p)
    kinds = [e["event"] for e in said]
    assert "promote" in kinds and "create" not in kinds and "replace" not in kinds, describe(p)
    now = instance(project)
    assert now.id == spare.id != first.id  # the spare the previous sync booted
    assert started_at(now) < before  # started before this sync: no boot was waited for
    assert first.id not in {c.id for c in project.containers()}  # the old one is gone
    assert published(now)["1972/tcp"] == port  # the instance's stable port moved with it
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # something listens behind it: the promoted container
    assert "0" in session(now, 'write $data(^Dirty),!\n')  # a clean IRIS
    [following] = spares(project)  # the next spare, created by this sync, booting
    assert following.id not in (first.id, spare.id) and published(following) == {}
    summary = next(e for e in said if e["event"] == "summary")
    assert summary["summary"]["promote"] == 1 and summary["summary"]["spare"] == 1


def test_without_a_ready_spare_the_sync_boots_and_says_so(project):
    configure(project)
    project.ok("sync")  # the first spare boots alongside the instance: ready at its end
    project.ok("sync")  # promotes it and starts the next one, which boots 10 s
    [booting] = spares(project)
    p = project.ok("sync", "--progress", "plain")  # at once: the spare is still booting
    assert "no ready spare (1 still booting)" in p.stderr, describe(p)
    assert instance(project).id != booting.id
    assert [c.id for c in spares(project)] == [booting.id]  # kept: no second one booted


def test_a_config_change_drains_stale_spares(project):
    configure(project, boot="1")
    project.ok("sync")
    [old] = ready_spares(project)
    configure(project, boot="1", memory="3g")
    p = project.run("plan")
    assert "- spare" in p.stdout and "older spec (memory)" in p.stdout, describe(p)
    p = project.ok("sync", "--progress", "plain")
    assert "promot" not in p.stderr, describe(p)  # a stale spare is never swapped in
    assert old.id not in {c.id for c in project.containers()}
    [new] = spares(project)
    assert new.attrs["HostConfig"]["Memory"] == 3 * 1024**3
    assert instance(project).attrs["HostConfig"]["Memory"] == 3 * 1024**3


def assert_repaired(project, context: str) -> None:
    """One instance container, attached and publishing its port; every spare detached."""
    c = instance(project)
    assert c.status == "running" and "1972/tcp" in published(c), context
    for s in spares(project):
        assert published(s) == {}, f"{context}: spare {s.name} publishes ports"
    p = project.ok("status", "--json")
    assert json.loads(p.stdout)["instances"][0]["iris"] == "running", context


def test_a_sync_killed_during_promotion_is_repaired(project):
    configure(project, boot="1")
    project.ok("sync")
    ready_spares(project)
    proc = project.popen("sync", "--progress", "plain")
    lines = []

    def promoting():
        line = proc.stderr.readline()
        lines.append(line)
        return "promoting spare" in line or not line

    wait_for(promoting, timeout=60, step=0, what="the promotion to start")
    proc.kill()
    proc.communicate(timeout=30)
    p = project.run("sync", "--progress", "plain", "--timeout", "60")
    assert p.returncode == 0, "".join(lines) + describe(p)
    assert_repaired(project, "after a kill during promotion")


@pytest.mark.parametrize("left", ["old removed", "renamed, not attached"])
def test_each_state_a_killed_promotion_leaves_is_repaired(project, client, left):
    """The states between the promotion's operations, made directly (a kill lands in them
    only by chance)."""
    configure(project, boot="1")
    project.ok("sync")
    [spare] = ready_spares(project)
    instance(project).remove(force=True)
    if left == "renamed, not attached":
        spare.rename(f"{project.name}-iris")
    p = project.run("sync", "--progress", "plain", "--timeout", "60")
    assert p.returncode == 0, describe(p)
    if left == "old removed":  # the spare is promoted as usual
        assert "promoting spare" in p.stderr and instance(project).id == spare.id, describe(p)
    else:  # the instance's name on a container that publishes nothing: replaced
        assert "a spare's promotion was interrupted" in p.stderr, describe(p)
        assert instance(project).id != spare.id
    assert_repaired(project, left)


def test_four_concurrent_syncs_never_promote_the_same_spare(project):
    configure(project, spares=2)
    project.ok("sync")
    booted = {c.id for c in ready_spares(project, 2)}
    procs = [project.popen("sync", "--progress", "json") for _ in range(4)]
    promoted, outs = [], []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        outs.append(err)
        assert proc.returncode == 0, out + err
        said = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        promoted += [e["message"].split()[1] for e in said if e["event"] == "promoted"]
    assert len(promoted) == len(set(promoted)), "\n".join(outs)  # never shared
    assert set(promoted) & {i[:12] for i in booted}, "\n".join(outs)
    assert_repaired(project, "after 4 concurrent syncs")
