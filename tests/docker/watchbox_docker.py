"""The monitoring watcher (irisenv/iris/watch.sh) alone in a stand-in container: the container
is created with the run spec's command (so iris-main's --after hook starts the watcher), the
watcher's files are put into its monitor directory before the first start, and the `iris`
command the watcher pipes suspend.cos / resume.cos into is a wrapper that records each call
(uptime, which file) before it runs the stand-in's `iris session`. The .cos files only print
the success line: this tests the watcher, not the IRIS side.

Shared by tests/docker/test_watch_docker.py and bench/bench_monitor.py.
"""
from __future__ import annotations

import os
import pathlib
import uuid

from test_standin import tar_bytes  # tests/docker is on sys.path

from irisenv.core.desired import MONDIR

ROOT = pathlib.Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("IRISENV_STANDIN_IMAGE", "irisenv-standin:latest")
LABELS = {"io.irisenv.test": "watch"}
RECORDER = "/home/irisowner/iris-rec"
MiB = 1024 * 1024

# the iris command as the watcher sees it: records "<uptime> <first line of the script>"
RECORDER_SH = """#!/bin/sh
read -r up _ </proc/uptime
cat >/tmp/iris-rec.in
printf '%s %s\\n' "$up" "$(head -n 1 /tmp/iris-rec.in)" >>/home/irisowner/iris-calls
exec iris "$@" </tmp/iris-rec.in
"""


def policy(**kw) -> str:
    values = dict(enabled=1, interval_s=30, retention_s=3600, cpu_disable=90, cpu_enable=85,
                  memory_disable=95, memory_enable=90, sample_ms=250, disable_window_ms=500,
                  enable_window_ms=2000, spdir="/usr/irissys/mgr/irisenv-sysperf/")
    values.update(kw)
    return "".join(f"{k}={v}\n" for k, v in values.items())


def command() -> list[str]:
    """The command irisenv creates an instance's container with (iris-main's arguments)."""
    from irisenv.config.model import Config, Instance
    from irisenv.core.desired import desired_container
    from irisenv.core.runspec import run_spec

    d = desired_container(Config(project="w", instances={}), Instance(name="iris", image=IMAGE))
    return list(run_spec(d, d.name).command)


class WatchContainer:
    """cpu_shares: the container's cgroup competes with every other runnable task on the
    machine as ONE task of that weight; at Docker's default (1024) a container on a busy
    2-CPU machine (other test workers) gets less than its quota and never looks saturated.
    64x the default lets two burners fill a 0.5-CPU quota there too."""

    def __init__(self, client, *, cpus: float = 0.5, cpu_shares: int = 64 * 1024,
                 memory: int = 256 * MiB,
                 tmpfs: dict | None = None, policy_text: str | None = None, install: bool = True):
        self.c = client.containers.create(
            IMAGE, command=command(), name=f"irisenv-test-watch-{uuid.uuid4().hex[:8]}",
            labels=LABELS, nano_cpus=int(cpus * 1e9), cpu_shares=cpu_shares, mem_limit=memory,
            tmpfs=tmpfs or {},
            environment={"STANDIN_BOOT_SECONDS": "0", "IRISENV_MON_IRIS": RECORDER}, detach=True)
        if install:
            self.install(policy_text or policy())
        self.c.start()

    def install(self, policy_text: str) -> None:
        files = {
            "irisenv-monitor/watch.sh": (ROOT / "irisenv" / "iris" / "watch.sh").read_text(),
            "irisenv-monitor/policy": policy_text,
            "irisenv-monitor/suspend.cos": 'set x="suspend"\nwrite "IRISENV-MON-OK",!\nhalt\n',
            "irisenv-monitor/resume.cos": 'set x="resume"\nwrite "IRISENV-MON-OK",!\nhalt\n',
            "iris-rec": RECORDER_SH,
        }
        data = {path: text.encode() for path, text in files.items()}
        assert self.c.put_archive("/home/irisowner", tar_bytes(
            data, ("irisenv-monitor",), executable=("iris-rec", ".sh")))

    def sh(self, script: str, detach: bool = False) -> str:
        res = self.c.exec_run(["sh", "-c", script], detach=detach)
        if detach:
            return ""
        out = res.output.decode("utf-8", "replace")
        assert res.exit_code == 0, f"{script}: exit {res.exit_code}: {out}"
        return out

    def read(self, name: str) -> str:
        return self.sh(f"cat {MONDIR}/{name} 2>/dev/null || true")

    def state(self) -> dict:
        line = self.read("state").strip()
        return dict(w.split("=", 1) for w in line.split()) if line else {}

    def calls(self) -> list[tuple[float, str]]:
        """(uptime, "suspend"|"resume") of each call of the iris command."""
        out = self.sh("cat /home/irisowner/iris-calls 2>/dev/null || true")
        calls = []
        for line in out.splitlines():
            up, _, first = line.partition(" ")
            calls.append((float(up), first.split('"')[1]))
        return calls

    def transitions(self) -> list[list[str]]:
        return [line.split()[1:] for line in self.read("transitions.log").splitlines()]

    def watchers(self) -> list[int]:
        out = self.sh("ps -o pid,args")
        return [int(line.split()[0]) for line in out.splitlines()
                if "watch.sh run" in line and "ps -o" not in line]

    def uptime(self) -> float:
        return float(self.sh("cat /proc/uptime").split()[0])

    def burn(self, n: int = 2) -> float:
        """Start n CPU burners; the container's uptime when they started."""
        out = self.sh("read up _ </proc/uptime; echo $up; "
                      + "; ".join(["(sh -c 'echo $$ >>/tmp/burners; while :; do :; done'"
                                   " </dev/null >/dev/null 2>&1 &)"] * n))
        return float(out.split()[0])

    def stop_burning(self) -> float:
        out = self.sh("kill $(cat /tmp/burners); rm -f /tmp/burners; read up _ </proc/uptime; echo $up")
        return float(out.split()[0])

    def remove(self) -> None:
        try:
            self.c.remove(force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
