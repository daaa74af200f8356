"""A fake container for irisenv/iris/watch.sh on the host: a cgroup tree (v1 or v2 layout),
a fake /proc (uptime as a clock the test moves, meminfo), a monitor directory and a fake
`iris` command that records each call and answers what the test says.

`Box.step(cpu=..)` moves the clock by one sample, adds the CPU time that load means to the
cgroup's counter and runs `watch.sh once` (one sample and decision) under the given shell.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

WATCH = pathlib.Path(__file__).resolve().parents[2] / "irisenv" / "iris" / "watch.sh"
SHELLS = {"dash": ["dash"], "busybox": ["busybox", "sh"]}
MiB = 1024 * 1024
HOST_MEM = 8 * 1024 * MiB  # the fake host's MemTotal

FAKE_IRIS = """#!/bin/sh
# fake iris: records "args | first line of stdin", prints iris.out, exits with iris.rc
read -r first
printf '%s | %s\\n' "$*" "$first" >>"{box}/calls"
cat "{box}/iris.out"
exit $(cat "{box}/iris.rc")
"""


def shell(name: str) -> list[str]:
    argv = SHELLS[name]
    assert shutil.which(argv[0]), f"{argv[0]} is needed to test watch.sh (apt-get install {argv[0]})"
    return argv


def policy_text(**kw) -> str:
    values = dict(enabled=1, interval_s=30, retention_s=3600, cpu_disable=90, cpu_enable=85,
                  memory_disable=95, memory_enable=90, sample_ms=250, disable_window_ms=500,
                  enable_window_ms=10000, spdir="/nonexistent/irisenv-sysperf/")
    values.update(kw)
    return "".join(f"{k}={v}\n" for k, v in values.items())


class Box:
    def __init__(self, root: pathlib.Path, sh: str = "dash", cgroup: int = 2, *,
                 cpus: str = "0-1", quota: tuple | None = (100000, 100000),
                 mem_limit: int | None = 256 * MiB):
        self.root, self.sh, self.v = root, shell(sh), cgroup
        self.cg, self.proc, self.mon = root / "cg", root / "proc", root / "mon"
        for d in (self.cg, self.proc, self.mon):
            d.mkdir(parents=True, exist_ok=True)
        self.now_cs = 100_000  # uptime 1000.00 s
        self.usage_us = 0
        self.sample_cs = 25
        self.instance = "IRISTEST"
        self.ncpus = quota[0] / quota[1] if quota else len(_expand(cpus))
        (self.proc / "meminfo").write_text(f"MemTotal: {HOST_MEM // 1024} kB\nMemFree: 1 kB\n")
        if cgroup == 2:
            (self.cg / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
            (self.cg / "cpuset.cpus.effective").write_text(cpus + "\n")
            (self.cg / "cpu.max").write_text(f"{quota[0]} {quota[1]}\n" if quota else "max 100000\n")
            (self.cg / "memory.max").write_text(f"{mem_limit}\n" if mem_limit else "max\n")
        else:
            for c in ("cpu", "cpuacct", "memory", "cpuset"):
                (self.cg / c).mkdir(exist_ok=True)
            (self.cg / "cpuset" / "cpuset.cpus").write_text(cpus + "\n")
            (self.cg / "cpu" / "cpu.cfs_quota_us").write_text(f"{quota[0] if quota else -1}\n")
            (self.cg / "cpu" / "cpu.cfs_period_us").write_text(f"{quota[1] if quota else 100000}\n")
            (self.cg / "memory" / "memory.limit_in_bytes").write_text(
                f"{mem_limit}\n" if mem_limit else "9223372036854771712\n")
        self.set_memory(64 * MiB)
        self.iris = root / "iris"
        self.iris.write_text(FAKE_IRIS.replace("{box}", str(root)))
        self.iris.chmod(0o755)
        self.answer("%SYS>IRISENV-MON-OK\n%SYS>\n")
        (self.mon / "policy").write_text(policy_text())
        (self.mon / "suspend.cos").write_text('do suspend\nwrite "IRISENV-MON-OK",!\n')
        (self.mon / "resume.cos").write_text('do resume\nwrite "IRISENV-MON-OK",!\n')
        self._write_clock()

    # ---- the fake container's figures
    def answer(self, out: str, rc: int = 0) -> None:
        (self.root / "iris.out").write_text(out)
        (self.root / "iris.rc").write_text(f"{rc}\n")

    def set_memory(self, used: int, inactive: int = 0, other_inactive: int | None = None) -> None:
        """used = what the cgroup charges; inactive = the inactive file cache the watcher
        must subtract. other_inactive goes under the key the layout must NOT use."""
        wrong = inactive * 3 + 7 * MiB if other_inactive is None else other_inactive
        if self.v == 2:
            (self.cg / "memory.current").write_text(f"{used}\n")
            (self.cg / "memory.stat").write_text(
                f"anon {used}\nfile 0\nactive_file 5\ninactive_anon {wrong}\n"
                f"inactive_file {inactive}\nslab 1\n")
        else:
            (self.cg / "memory" / "memory.usage_in_bytes").write_text(f"{used}\n")
            (self.cg / "memory" / "memory.stat").write_text(
                f"cache 0\nrss {used}\ninactive_file {wrong}\nactive_file 5\n"
                f"total_rss {used}\ntotal_inactive_file {inactive}\n")

    def policy(self, **kw) -> None:
        (self.mon / "policy").write_text(policy_text(**kw))

    def _write_clock(self) -> None:
        (self.proc / "uptime").write_text(f"{self.now_cs // 100}.{self.now_cs % 100:02d} 12.00\n")
        if self.v == 2:
            (self.cg / "cpu.stat").write_text(
                f"usage_usec {self.usage_us}\nuser_usec {self.usage_us}\nsystem_usec 0\n")
        else:
            (self.cg / "cpuacct" / "cpuacct.usage").write_text(f"{self.usage_us * 1000}\n")

    def advance(self, cpu: float, cs: int | None = None) -> None:
        """Move the clock by cs centiseconds (one sample by default) with the container
        using cpu % of the CPUs it is allowed."""
        cs = self.sample_cs if cs is None else cs
        self.now_cs += cs
        self.usage_us += round(cs * 10_000 * self.ncpus * cpu / 100)
        self._write_clock()

    # ---- running the script
    def env(self) -> dict:
        return {**os.environ, "IRISENV_MON_DIR": str(self.mon), "IRISENV_MON_CGROUP": str(self.cg),
                "IRISENV_MON_PROC": str(self.proc), "IRISENV_MON_IRIS": str(self.iris),
                "IRISENV_MON_INSTANCE": self.instance}

    def run(self, *args: str, timeout: float = 20) -> subprocess.CompletedProcess:
        return subprocess.run([*self.sh, str(WATCH), *args], env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def once(self) -> dict:
        """One step; the state line as a dict. The loop's next pause (seconds) is left in
        self.next_sample."""
        res = self.run("once")
        assert res.returncode == 0, res.stderr
        assert res.stderr == "", res.stderr
        state, nxt = res.stdout.splitlines()
        assert nxt.startswith("next_sample="), res.stdout
        self.next_sample = float(nxt.split("=", 1)[1])
        return parse_state(state)

    def step(self, cpu: float, n: int = 1) -> dict:
        state = {}
        for _ in range(n):
            self.advance(cpu)
            state = self.once()
        return state

    def calls(self) -> list[str]:
        """The first line of each script piped into the iris command (each call checked to
        be `iris session <instance> -U %SYS`)."""
        p = self.root / "calls"
        lines = p.read_text().splitlines() if p.exists() else []
        assert all(line.split(" | ")[0] == f"session {self.instance} -U %SYS" for line in lines), lines
        return [line.split(" | ")[1] for line in lines]

    def transitions(self) -> list[list[str]]:
        p = self.mon / "transitions.log"
        return [line.split()[1:] for line in p.read_text().splitlines()] if p.exists() else []

    def state(self) -> dict:
        return parse_state((self.mon / "state").read_text())


def parse_state(line: str) -> dict:
    lines = line.strip().splitlines()
    assert len(lines) == 1, line
    return dict(w.split("=", 1) for w in lines[0].split())


def _expand(cpus: str) -> list[int]:
    out: list[int] = []
    for part in cpus.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out
