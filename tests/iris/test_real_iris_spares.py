"""Warm spares against a real IRIS (the real-IRIS lane: IRISENV_IRIS_IMAGE set; see
tests/iris/test_real_iris.py): the scenario of tests/docker/test_spares.py. What only the
stand-in showed (docs/spares.md, docs/verification.md) is checked here: that a real IRIS
boots to readiness in a container attached to no network (a spare), that attaching it to
the bridge at promotion publishes the instance's own port so the driver reaches it, and
that the promoted IRIS is a fresh one (a global set in the previous instance is gone)."""
from __future__ import annotations

import time

from test_real_iris import SYNC_TIMEOUT, RealProject, describe, real_project  # noqa: F401

MARK = ['set ^IRISENVSPARE=1 write "IRISENV-T:set=1",!']
READ = ['write "IRISENV-T:mark=",$Get(^IRISENVSPARE,"none"),!']


def test_spares_on_real_iris(real_project: RealProject):
    p = real_project
    text = p.config.read_text()
    p.config.write_text(text.replace('stop_timeout = "60s"\n',
                                     'stop_timeout = "60s"\nreuse = "never"\nspares = 1\n', 1))
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT))
    first = p.json("status")["instances"][0]
    port = first["port"]
    assert port, first
    p.objectscript(MARK, namespace="USER")

    # the spare the first sync started boots with no network: wait until its IRIS answers
    deadline = time.monotonic() + SYNC_TIMEOUT
    while (p.json("status")["instances"][0].get("spares") or {}).get("ready", 0) < 1:
        assert time.monotonic() < deadline, "the spare never became ready on real IRIS"
        time.sleep(5)

    sync = p.run("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    assert sync.returncode == 0, describe(sync)
    assert "no ready spare" not in sync.stderr, describe(sync)
    second = p.json("status")["instances"][0]
    assert second["id"] != first["id"] and second["port"] == port, (first, second)
    assert second["iris"] == "running", second
    assert p.objectscript(READ, namespace="USER")["mark"] == "none"  # a fresh IRIS
    p.finished = True
