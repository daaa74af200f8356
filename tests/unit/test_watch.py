"""The in-container watcher (irisenv/iris/watch.sh), run on the host under dash (what the
Ubuntu-based IRIS images run as sh) and busybox sh (the stand-in) against a fake cgroup tree
(v1 and v2 layouts), a fake clock and a fake `iris` command (tests/unit/watchbox.py).

`once` is one sample and decision, so the windows are checked sample by sample with the
clock the test moves; the loop itself (`run`, `start`, `stop`) is checked with the real clock
for what only it does: re-reading the policy, one watcher at a time, detaching."""
import os
import subprocess
import time

import pytest
from watchbox import WATCH, MiB, Box, parse_state, shell

BOTH = pytest.mark.parametrize("sh", ["dash", "busybox"])
LAYOUTS = pytest.mark.parametrize("v", [1, 2])


@BOTH
@LAYOUTS
def test_cpu_over_the_threshold_suspends_after_the_disable_window_not_before(tmp_path, sh, v):
    box = Box(tmp_path, sh, v)
    assert box.once()["cpu"] == "-"  # no previous sample yet
    assert box.step(cpu=20)["state"] == "collecting"
    # the CPU figure is the rate over the disable window (500 ms, two samples)
    s = box.step(cpu=100)  # 250 ms at 100 %, 250 ms at 20 %
    assert (s["state"], s["cpu"]) == ("collecting", "60.0") and box.calls() == []
    s = box.step(cpu=100)  # 500 ms at 100 %: suspend
    assert (s["state"], s["reason"]) == ("suspended", "cpu")
    assert box.calls() == ["do suspend"]
    assert box.transitions() == [["suspended", "cpu", "cpu=100.0", "mem=25.0"]]
    box.step(cpu=100, n=3)
    assert box.calls() == ["do suspend"]  # once


@BOTH
def test_a_sample_over_the_threshold_samples_faster_until_the_window_is_covered(tmp_path, sh):
    """The suspend comes within 50 ms of the window's end instead of up to a sample later."""
    box = Box(tmp_path, sh)
    box.step(cpu=10, n=2)
    assert box.next_sample == 0.25
    box.step(cpu=100)  # the burn began mid-way through this sample: 100 % from here on
    assert box.next_sample == 0.05
    box.sample_cs = 5
    states = [box.step(cpu=100)["state"] for _ in range(5)]
    assert states == ["collecting"] * 4 + ["suspended"]
    assert box.next_sample == 0.25  # suspended: the normal cadence


def test_the_fast_cadence_lasts_one_window_per_10_s(tmp_path):
    """A bursty load (100 %, 70 %, 100 %, ... : 85 % on average, never suspended) crosses the
    threshold every other sample: the fast samples stop after one window plus a sample, and
    the next episode may start 10 s after the first."""
    box = Box(tmp_path)
    box.step(cpu=0, n=2)
    box.sample_cs = 5
    fast = []
    for i in range(200):  # 10 s
        box.step(cpu=100 if i % 2 == 0 else 70)
        fast.append(box.next_sample == 0.05)
    assert box.state()["state"] == "collecting" and box.calls() == []
    assert fast[:15] == [True, False] * 7 + [True] and not any(fast[15:])
    box.step(cpu=100)
    assert box.next_sample == 0.05


@BOTH
def test_a_dip_under_the_threshold_restarts_the_disable_window(tmp_path, sh):
    box = Box(tmp_path, sh)
    box.step(cpu=0)
    for load in (95, 50, 95, 80, 95):
        assert box.step(cpu=load)["state"] == "collecting"
    assert box.calls() == []
    assert box.step(cpu=95)["state"] == "suspended"


@BOTH
@LAYOUTS
def test_resume_only_after_the_enable_window_below_both_enable_thresholds(tmp_path, sh, v):
    box = Box(tmp_path, sh, v)
    box.step(cpu=0)
    box.step(cpu=100, n=2)
    assert box.state()["state"] == "suspended"
    # between the thresholds (85..90 %): neither suspends again nor starts the window
    assert box.step(cpu=87, n=60)["state"] == "suspended"
    # under both for 9.5 s, then 500 ms over cpu_enable (its first sample still averages
    # 48 %: 9.75 s under): still suspended, and the window starts again
    assert box.step(cpu=10, n=38)["state"] == "suspended"
    assert box.step(cpu=86, n=2)["state"] == "suspended"
    assert box.step(cpu=10, n=39)["state"] == "suspended"
    assert box.calls() == ["do suspend"]
    s = box.step(cpu=10)  # 10 s under both
    assert (s["state"], s["reason"]) == ("collecting", "-")
    assert box.calls() == ["do suspend", "do resume"]
    assert [t[:2] for t in box.transitions()] == [["suspended", "cpu"], ["collecting", "-"]]


@BOTH
def test_memory_over_the_threshold_suspends_and_blocks_the_resume(tmp_path, sh):
    box = Box(tmp_path, sh, 2, mem_limit=100 * MiB)
    box.step(cpu=5)
    box.set_memory(97 * MiB)
    box.step(cpu=5, n=2)
    s = box.state()
    assert (s["state"], s["reason"], s["mem"]) == ("suspended", "memory", "97.0")
    box.set_memory(89 * MiB + 512 * 1024)  # 89.5 %: under memory_enable (90)
    box.step(cpu=5, n=39)
    box.set_memory(int(90.5 * MiB))  # over memory_enable: the window starts again
    box.step(cpu=5)
    box.set_memory(50 * MiB)
    assert box.step(cpu=5, n=39)["state"] == "suspended"
    assert box.step(cpu=5)["state"] == "collecting"


@BOTH
@LAYOUTS
def test_memory_is_usage_minus_the_inactive_file_cache(tmp_path, sh, v):
    """v2 subtracts memory.stat inactive_file, v1 total_inactive_file (Docker's figure);
    the other layout's key holds a different number that must not be used."""
    box = Box(tmp_path, sh, v, mem_limit=200 * MiB)
    box.set_memory(150 * MiB, inactive=70 * MiB)
    assert box.once()["mem"] == "40.0"
    box.set_memory(10 * MiB, inactive=30 * MiB)  # more cache than usage: 0, not negative
    assert box.once()["mem"] == "0.0"


@BOTH
@LAYOUTS
def test_without_limits_the_host_memory_and_the_cpuset_count(tmp_path, sh, v):
    """No memory limit ("max" / the v1 huge number): the host's MemTotal; no CPU quota
    ("max" / -1): the CPUs of the cpuset."""
    box = Box(tmp_path, sh, v, cpus="0-2,5", quota=None, mem_limit=None)
    box.set_memory(2048 * MiB)
    box.once()
    box.ncpus = 1  # one CPU busy of the four allowed
    box.advance(cpu=100)
    s = box.once()
    assert (s["cpu"], s["mem"]) == ("25.0", "25.0")


@BOTH
def test_a_fractional_quota_and_a_quota_over_the_cpuset(tmp_path, sh):
    box = Box(tmp_path, sh, 2, quota=(150000, 100000))  # 1.5 CPUs
    box.once()
    box.ncpus = 0.75
    assert box.step(cpu=100)["cpu"] == "50.0"
    (box.cg / "cpu.max").write_text("800000 100000\n")  # 8 CPUs on a 2-CPU cpuset: 2
    box.ncpus = 1
    assert box.step(cpu=100, n=3)["cpu"] == "50.0"


@BOTH
def test_a_manual_pause_is_never_undone(tmp_path, sh):
    box = Box(tmp_path, sh)
    box.step(cpu=10, n=2)
    (box.mon / "pause").write_text("1764468000\n")
    s = box.step(cpu=10)
    assert (s["state"], s["reason"]) == ("paused", "manual")
    assert box.calls() == ["do suspend"]  # collection is suspended while paused
    box.step(cpu=100, n=4)
    assert box.step(cpu=5, n=80)["state"] == "paused"  # 20 s under both thresholds
    assert box.calls() == ["do suspend"]
    (box.mon / "pause").unlink()  # `monitor resume`
    s = box.step(cpu=5)
    assert (s["state"], s["reason"]) == ("collecting", "-")
    assert box.calls() == ["do suspend", "do resume"]


@BOTH
def test_a_pause_while_suspended_and_a_resume_under_load(tmp_path, sh):
    box = Box(tmp_path, sh)
    box.step(cpu=10)
    box.step(cpu=100, n=2)
    (box.mon / "pause").write_text("1764468000\n")
    assert box.step(cpu=100)["state"] == "paused"
    assert box.calls() == ["do suspend"]  # already suspended: no second suspend
    (box.mon / "pause").unlink()
    s = box.step(cpu=100)  # resumed by the user while over the threshold: stays suspended
    assert (s["state"], s["reason"]) == ("suspended", "cpu")
    assert box.calls() == ["do suspend"]


@BOTH
def test_enabled_0_turns_the_watcher_off_and_acts_on_nothing(tmp_path, sh):
    box = Box(tmp_path, sh)
    box.step(cpu=10)
    box.policy(enabled=0)
    s = box.step(cpu=100, n=5)
    assert (s["state"], s["reason"]) == ("off", "disabled")
    (box.mon / "pause").write_text("1\n")
    assert box.step(cpu=100)["state"] == "off"
    assert box.calls() == []
    assert [t[:2] for t in box.transitions()] == [["off", "disabled"]]
    (box.mon / "pause").unlink()
    box.policy(enabled=1)
    assert box.step(cpu=10)["state"] == "collecting"


@BOTH
def test_the_policy_thresholds_and_windows_are_read_from_the_policy(tmp_path, sh):
    box = Box(tmp_path, sh)
    box.policy(cpu_disable=50, cpu_enable=40, disable_window_ms=1000, enable_window_ms=500,
               unknown_key=7)
    box.step(cpu=10)
    box.step(cpu=60, n=3)
    assert box.state()["state"] == "collecting"  # 750 ms over 50 %
    assert box.step(cpu=60)["state"] == "suspended"  # 1 s at 60 %
    # the CPU figure is the rate over 1 s: 45 % after 250 ms at 0, 30 % after 500 ms (under
    # 40 %: the enable window starts with that sample); 500 ms later resumed
    assert box.step(cpu=0, n=2)["state"] == "suspended"
    assert box.step(cpu=0)["state"] == "collecting"


@BOTH
def test_a_threshold_is_reached_at_its_value_so_100_means_full(tmp_path, sh):
    """config: "pause collection when memory use reaches this percent"; memory can never
    exceed its limit, so memory_disable = 100 must trigger at 100.0 %."""
    box = Box(tmp_path, sh, 2, mem_limit=100 * MiB)
    box.policy(memory_disable=100, memory_enable=99, cpu_disable=100, cpu_enable=99)
    box.step(cpu=5)
    box.set_memory(100 * MiB)
    s = box.step(cpu=5, n=2)
    assert (s["state"], s["reason"], s["mem"]) == ("suspended", "memory", "100.0")
    box2 = Box(tmp_path / "cpu", sh, 2)
    box2.policy(cpu_disable=100, cpu_enable=99)
    box2.step(cpu=5)
    assert box2.step(cpu=100, n=2)["state"] == "suspended"


@BOTH
def test_policy_values_with_leading_zeros_are_decimal(tmp_path, sh):
    """A shell reads 080 in $(( )) as a bad octal number and exits: the loop would die."""
    box = Box(tmp_path, sh)
    box.policy(cpu_disable="080", cpu_enable="070", disable_window_ms="0500")
    box.step(cpu=85, n=2)
    assert box.step(cpu=85)["state"] == "suspended"


@BOTH
def test_a_failed_action_is_logged_and_retried_later(tmp_path, sh):
    box = Box(tmp_path, sh)
    box.answer("%SYS>IRISENV-ERR:<UNDEFINED> x\n%SYS>\n")
    box.step(cpu=10)
    s = box.step(cpu=100, n=2)
    assert s["state"] == "collecting"
    err = box.transitions()
    assert err[0][:2] == ["error", "cpu"] and "suspend failed: IRISENV-ERR:<UNDEFINED> x" in \
        " ".join(err[0])
    box.answer("IRISENV-MON-OK\n", rc=0)
    box.step(cpu=100, n=39)  # no new attempt within 10 s
    assert box.calls() == ["do suspend"]
    assert box.step(cpu=100)["state"] == "suspended"
    assert box.calls() == ["do suspend", "do suspend"]


@BOTH
@pytest.mark.parametrize("out,rc,ok", [
    ("IRISENV-MON-OK\n", 0, True),
    ("\n%SYS>IRISENV-MON-OK\r\n%SYS>\n", 0, True),  # prompts around it
    ("IRISENV-MON-OK\n", 1, False),  # the session failed
    ("IRISENV-MON-OK\nIRISENV-ERR: later\n", 0, False),
    ("<SYNTAX>\n", 0, False),
    ("", 0, False),
])
def test_only_the_ok_line_last_counts_as_success(tmp_path, sh, out, rc, ok):
    box = Box(tmp_path, sh)
    box.answer(out, rc)
    box.step(cpu=10)
    assert box.step(cpu=100, n=2)["state"] == ("suspended" if ok else "collecting")


def test_a_missing_cos_file_is_a_logged_failure(tmp_path):
    box = Box(tmp_path)
    (box.mon / "suspend.cos").unlink()
    box.step(cpu=10)
    box.step(cpu=100, n=2)
    assert box.calls() == [] and box.transitions()[0][-4:] == ["suspend", "failed:", "no",
                                                                "suspend.cos"]


@BOTH
def test_a_restarted_watcher_keeps_the_state_it_finds(tmp_path, sh):
    """After `docker restart` the state file says suspended (IRIS keeps its task suspended):
    the new watcher must go on from there, not assume collection runs."""
    box = Box(tmp_path, sh)
    (box.mon / "state").write_text("state=suspended reason=memory cpu=1.0 mem=97.0 since=1700000000"
                                   " updated=1700000001 pid=12\n")
    s = box.step(cpu=10, n=3)
    assert (s["state"], s["reason"], s["since"]) == ("suspended", "memory", "1700000000")
    assert box.step(cpu=10, n=40)["state"] == "collecting"
    assert box.calls() == ["do resume"]


def test_state_line_format(tmp_path):
    box = Box(tmp_path)
    box.step(cpu=10, n=2)
    line = (box.mon / "state").read_text()
    assert line.endswith("\n") and line.count("\n") == 1
    keys = [w.split("=")[0] for w in line.split()]
    assert keys == ["state", "reason", "cpu", "mem", "since", "updated", "pid"]
    s = parse_state(line)
    assert s["cpu"] == "10.0" and int(s["updated"]) >= int(s["since"]) > 1_600_000_000


@BOTH
def test_samples_every_5_s_and_trimmed_to_the_retention(tmp_path, sh):
    box = Box(tmp_path, sh)
    box.policy(retention_s=600)
    now = int(time.time())
    (box.mon / "samples.log").write_text(f"{now - 900} 1.0 2.0\n{now - 700} 1.0 2.0\n"
                                         f"{now - 100} 3.0 4.0\n")
    box.once()
    for _ in range(8):
        box.step(cpu=10, n=10)  # 2.5 s a time
    lines = (box.mon / "samples.log").read_text().splitlines()
    assert lines[0] == f"{now - 100} 3.0 4.0"
    new = lines[1:]
    assert len(new) == 4 and all(line.split()[1:] == ["10.0", "25.0"] for line in new)


def test_transitions_log_is_trimmed_to_the_last_1000_lines(tmp_path):
    box = Box(tmp_path)
    (box.mon / "transitions.log").write_text("".join(f"{i} collecting - cpu=1.0 mem=1.0\n"
                                                     for i in range(1100)))
    box.step(cpu=10)
    box.step(cpu=100, n=2)
    lines = (box.mon / "transitions.log").read_text().splitlines()
    assert len(lines) == 1000 and lines[0].startswith("101 ") and "suspended cpu" in lines[-1]


@pytest.mark.parametrize("spdir,purged", [("irisenv-sysperf/", True), ("irisenv-sysperf", True),
                                          ("elsewhere/", False)])
def test_report_files_older_than_retention_plus_a_run_are_purged(tmp_path, spdir, purged):
    box = Box(tmp_path)
    sp = tmp_path / "mgr" / spdir
    sp.mkdir(parents=True)
    box.policy(retention_s=600, spdir=str(sp))  # run length 600 s: purge after 20 minutes
    old, young = sp / "c1_IRIS_20260101_000000_irisenv.html", sp / "c1_IRIS_now_irisenv.html"
    for f in (old, young):
        f.write_text("x")
    os.utime(old, (time.time() - 22 * 60,) * 2)
    os.utime(young, (time.time() - 18 * 60,) * 2)
    # the loop purges when it starts (and every minute): start it, stop it
    proc = subprocess.Popen([*box.sh, str(WATCH), "run"], env=box.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: (box.mon / "state").exists())
    finally:
        proc.terminate()
        proc.wait(10)
    assert old.exists() is not purged and young.exists()


def _wait(cond, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _watchers(box) -> list[int]:
    """Processes running watch.sh run for this box. A loop's child between its fork and its
    exec (of sleep, mv, ...) still shows the loop's command line: children of a match are
    not counted."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            env = open(f"/proc/{pid}/environ", "rb").read()
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        if b"run" in cmd and any(c.endswith(b"watch.sh") for c in cmd) and \
                f"IRISENV_MON_DIR={box.mon}".encode() in env:
            found[int(pid)] = int(stat[stat.rindex(")") + 2:].split()[1])  # its parent
    return sorted(pid for pid, parent in found.items() if parent not in found)


@pytest.fixture
def live_box(tmp_path):
    """A box for the real loop (real clock: no fake uptime)."""
    box = Box(tmp_path)
    os.unlink(box.proc / "uptime")
    os.symlink("/proc/uptime", box.proc / "uptime")
    yield box
    box.run("stop")
    for pid in _watchers(box):
        os.kill(pid, 9)


def test_start_detaches_is_idempotent_and_stop_stops(live_box):
    box = live_box
    # start returns at once although the daemon runs on: it holds no inherited pipe
    proc = subprocess.Popen(["sh", str(WATCH), "start"], env=box.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and out == err == b""
    _wait(lambda: (box.mon / "watch.pid").exists() and len(_watchers(box)) == 1)
    pid = int((box.mon / "watch.pid").read_text().split()[0])
    assert _watchers(box) == [pid]
    starts = [subprocess.Popen(["sh", str(WATCH), "start"], env=box.env()) for _ in range(5)]
    assert [p.wait(10) for p in starts] == [0] * 5
    time.sleep(2.5)  # a duplicate would notice watch.pid names another within 2 s and exit
    assert _watchers(box) == [pid]
    _wait(lambda: parse_state((box.mon / "state").read_text())["cpu"] != "-")
    assert box.run("stop").returncode == 0
    assert not (box.mon / "watch.pid").exists()
    _wait(lambda: _watchers(box) == [])


def test_concurrent_first_starts_leave_one_watcher(live_box):
    box = live_box
    starts = [subprocess.Popen(["sh", str(WATCH), "start"], env=box.env()) for _ in range(6)]
    assert [p.wait(10) for p in starts] == [0] * 6
    _wait(lambda: len(_watchers(box)) == 1 and (box.mon / "watch.pid").exists()
          and int((box.mon / "watch.pid").read_text().split()[0]) in _watchers(box))


def test_start_replaces_a_watcher_that_runs_an_older_script(live_box, tmp_path):
    """Sync installs a new watch.sh and runs `start`: the running loop still executes the
    old code (a shell parses it once), so start must replace it, and only then."""
    box = live_box
    script = tmp_path / "watch.sh"
    script.write_text(WATCH.read_text())
    assert subprocess.run(["sh", str(script), "start"], env=box.env(), timeout=10).returncode == 0
    _wait(lambda: len(_watchers(box)) == 1 and (box.mon / "watch.pid").exists())
    old = _watchers(box)
    assert subprocess.run(["sh", str(script), "start"], env=box.env(), timeout=10).returncode == 0
    time.sleep(1)
    assert _watchers(box) == old  # the same script: left alone
    script.write_text(WATCH.read_text() + "# a newer version\n")
    assert subprocess.run(["sh", str(script), "start"], env=box.env(), timeout=10).returncode == 0
    _wait(lambda: len(_watchers(box)) == 1 and _watchers(box) != old
          and (box.mon / "watch.pid").exists()
          and int((box.mon / "watch.pid").read_text().split()[0]) == _watchers(box)[0])
    assert "replacing watcher" in (box.mon / "watch.log").read_text()


def test_a_stale_pid_file_does_not_stop_a_start(live_box):
    """After a container restart watch.pid names a process of the previous start (or a pid
    now used by another process): start must not take it for a live watcher."""
    box = live_box
    (box.mon / "watch.pid").write_text(f"{os.getpid()} 12345\n")  # a live pid, wrong start time
    assert box.run("start").returncode == 0
    _wait(lambda: len(_watchers(box)) == 1)


@pytest.mark.parametrize("sh", ["dash", "busybox"])
def test_the_loop_picks_up_a_policy_change(live_box, sh):
    box = live_box
    proc = subprocess.Popen([*shell(sh), str(WATCH), "run"],
                            env=box.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(lambda: (box.mon / "state").exists())
        assert parse_state((box.mon / "state").read_text())["state"] == "collecting"
        box.policy(enabled=0)
        _wait(lambda: parse_state((box.mon / "state").read_text())["state"] == "off")
        # the fake memory (25 %) is now over the threshold
        box.policy(enabled=1, memory_disable=20, memory_enable=10, disable_window_ms=0)
        _wait(lambda: parse_state((box.mon / "state").read_text())["state"] == "suspended")
        assert box.calls() == ["do suspend"]
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.stderr.read().decode().count("started") == 1

