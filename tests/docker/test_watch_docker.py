"""The monitoring watcher in a real container (the stand-in, cgroup of this engine), started
by iris-main's --after hook of the run spec's command (tests/docker/watchbox_docker.py).
The windows are the contract's except a 2 s enable window, to keep the tests short. No
timing is asserted; bench/bench_monitor.py measures the latencies."""
from __future__ import annotations

import pytest
from helpers import wait_for  # tests/docker is on sys.path (no __init__.py)
from watchbox_docker import MONDIR, MiB, WatchContainer, policy


@pytest.fixture
def make(client):
    made = []

    def make_(**kw) -> WatchContainer:
        w = WatchContainer(client, **kw)
        made.append(w)
        return w

    yield make_
    for w in made:
        w.remove()


def _state_is(w, state, reason=None, timeout=60.0):
    def check():
        s = w.state()
        return s if s.get("state") == state and (reason is None or s.get("reason") == reason) else None

    return wait_for(check, timeout=timeout, step=0.2, what=f"state={state} (now {w.state()})")


def test_the_after_hook_starts_the_watcher_and_a_cpu_burner_suspends_then_resumes(make):
    w = make()  # 0.5 CPUs, and a weight that gets it on a busy machine (WatchContainer)
    s = _state_is(w, "collecting")
    assert s["pid"] and len(w.watchers()) == 1
    wait_for(lambda: w.state()["cpu"] != "-", what="a first CPU figure")
    w.burn(2)
    _state_is(w, "suspended", "cpu")
    suspended = w.transitions()[0]
    assert suspended[:2] == ["suspended", "cpu"] and float(suspended[2][4:]) > 90, suspended
    stopped = w.stop_burning()
    _state_is(w, "collecting")
    # Suspend, resume. (On a machine so busy that the burners get less than 85 % of the
    # quota for the enable window, the watcher rightly resumes and suspends again
    # meanwhile: calls alternate, and the last resume comes after the burners stopped.)
    calls = w.calls()
    assert [c[1] for c in calls] == ["suspend", "resume"] * (len(calls) // 2), calls
    assert calls[-1][0] >= stopped
    assert [t[:2] for t in w.transitions()] == [["suspended", "cpu"], ["collecting", "-"]] * (
        len(calls) // 2)
    samples = w.read("samples.log").splitlines()
    assert samples and all(len(line.split()) == 3 for line in samples)


def test_a_memory_hog_under_the_limit_suspends_then_resumes(make):
    w = make(memory=256 * MiB, tmpfs={"/hog": "size=300m,uid=51773,mode=0700"},
             policy_text=policy(memory_disable=80, memory_enable=70))
    _state_is(w, "collecting")
    # tmpfs pages are charged to the container and are not inactive file cache
    w.sh("dd if=/dev/zero of=/hog/x bs=1M count=220 2>/dev/null")
    _state_is(w, "suspended", "memory")
    suspended = w.transitions()[0]
    assert suspended[:2] == ["suspended", "memory"] and 80 < float(suspended[3][4:]) < 95
    w.sh("rm -f /hog/x")
    s = _state_is(w, "collecting")
    assert float(s["mem"]) < 70
    assert [c[1] for c in w.calls()] == ["suspend", "resume"]


def test_a_restart_brings_the_watcher_back_and_a_pause_survives_it(make):
    w = make()
    first = _state_is(w, "collecting")
    w.sh(f"date +%s >{MONDIR}/pause")
    _state_is(w, "paused", "manual")
    assert [c[1] for c in w.calls()] == ["suspend"]
    w.c.restart(timeout=10)
    s = wait_for(lambda: (lambda s: s if s.get("pid") != first["pid"] and s.get("cpu") != "-" else None)(
        w.state()), timeout=60, step=0.2, what="a watcher of the new start")
    assert (s["state"], s["reason"]) == ("paused", "manual") and len(w.watchers()) == 1
    # load and quiet again for longer than the enable window: the pause holds
    w.burn(2)
    _state_is(w, "paused")
    w.stop_burning()
    up = w.uptime()
    wait_for(lambda: w.uptime() > up + 4, what="twice the enable window")
    assert w.state()["state"] == "paused" and [c[1] for c in w.calls()] == ["suspend"]
    w.sh(f"rm {MONDIR}/pause")  # `irisenv monitor resume`
    _state_is(w, "collecting")
    assert [c[1] for c in w.calls()] == ["suspend", "resume"]


def test_a_container_without_the_watcher_starts_as_before(make):
    w = make(install=False)
    logs = wait_for(lambda: (lambda text: text if "executed command" in text else None)(
        w.c.logs().decode()), what="the --after command to run")
    assert "watch.sh start; exit 0' (status 0)" in logs
    assert w.c.reload() is None and w.c.status == "running"
    assert w.watchers() == []
