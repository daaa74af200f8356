"""The namespace pool end to end against the stand-in IRIS image, side by side with the
pool's goals (docs/pool.md, docs/performance.md).

  lease   `irisenv.lease("APP")` from a warm pool (4 clean copies), in one process as a
          user calls it (config loaded, one container list, the lease table, and on leaving
          the release that starts the detached resetter); between rounds the pool is let
          settle (not timed): enter p50 / p95 / max, exit p50 / p95
                                                          goal: enter p95 <= 50 ms
  reset   iris/pool.reset_copies of 1 and 4 copies in one batch (one exec), per copy
          (the stand-in's IRIS.DAT is a small file: real IRIS is not measured here)
  suite   an inner pytest run with -n 2 of --tests tests, each one `iris session` exec in
          its namespace: a pool copy per test (iris_namespace) vs all in one shared
          namespace (APP), wall time      goal: pool <= 1.3x shared

Times are medians and minimums over --runs runs (suite) or percentiles over the rounds
(lease); nothing is asserted (timings depend on the machine and its load).

    IRISENV_STANDIN_IMAGE=irisenv-standin:latest python bench/bench_pool.py \
        [--runs N] [--quick] [--tests 200] [--only lease,reset,suite]

Needs a Docker engine and the stand-in image. Works in a temporary directory and state
directory with unique project names, and removes what it created.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
IMAGE = os.environ.get("IRISENV_STANDIN_IMAGE", "irisenv-standin:latest")
SECTIONS = ("lease", "reset", "suite")
T = "iris/APP"


def toml(name: str, pool: str) -> str:
    return (f'[project]\nname = "{name}"\n\n[instances.iris]\nimage = "{IMAGE}"\n'
            'stop_timeout = "2s"\nenv = { STANDIN_BOOT_SECONDS = "0" }\n\n'
            '[instances.iris.namespaces.APP]\ninit = ["data/seed.gof"]\n'
            f"pool = {pool}\n")


class Proj:
    def __init__(self, base: Path, pool: str):
        self.name = f"bench-pool-{uuid.uuid4().hex[:8]}"
        self.dir = base / self.name
        (self.dir / "data").mkdir(parents=True)
        (self.dir / "data" / "seed.gof").write_text('^Seed(1)="one"\n')
        self.config = self.dir / "iris-devtester.toml"
        self.config.write_text(toml(self.name, pool))

    def cli(self, *args) -> subprocess.CompletedProcess:
        p = subprocess.run([sys.executable, "-m", "irisenv", *args], cwd=self.dir,
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise SystemExit(f"irisenv {' '.join(args)} failed:\n{p.stdout}{p.stderr}")
        return p

    def table(self):
        from irisenv import statedir
        from irisenv.leases import LeaseTable

        [path] = statedir.directory("pools").glob(f"{self.name}.*.json")
        t = LeaseTable(None, self.name)
        t.path, t.lock_path = path, path.with_suffix(".lock")
        return t

    def settle(self, clean: int, timeout: float = 60) -> None:
        t, end = self.table(), time.monotonic() + timeout
        while time.monotonic() < end:
            n = t.read().counts(T)
            if n["clean"] >= clean and not (n["dirty"] or n["resetting"]):
                return
            time.sleep(0.05)
        raise SystemExit(f"the pool of {self.name} did not settle: {t.read().counts(T)}")

    def down(self) -> None:
        subprocess.run([sys.executable, "-m", "irisenv", "down", "--volumes"], cwd=self.dir,
                       capture_output=True, timeout=120)


def pct(values: list, p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


# --------------------------------------------------------------------------- sections
def bench_lease(base: Path, rounds: int) -> None:
    import irisenv

    p = Proj(base, "4")
    try:
        p.cli("sync", "--timeout", "120")
        enter, leave = [], []
        for i in range(rounds + 1):
            p.settle(4)
            t0 = time.perf_counter()
            cm = irisenv.lease("APP", config=p.config)
            cm.__enter__()
            t1 = time.perf_counter()
            cm.__exit__(None, None, None)
            t2 = time.perf_counter()
            if i:  # the first round imports what a process imports once
                enter.append((t1 - t0) * 1000)
                leave.append((t2 - t1) * 1000)
        print(f"{'lease, irisenv.lease() warm pool':<44}{'p50':>9}{'p95':>9}{'max':>9}"
              f"{'goal':>12}")
        print(f"{'  enter (lease)  ms':<44}{med(enter):>9.1f}{pct(enter, 95):>9.1f}"
              f"{max(enter):>9.1f}{'p95 <= 50':>12}  "
              + ("met" if pct(enter, 95) <= 50 else "missed") + f"  ({rounds} rounds)")
        print(f"{'  exit (release, start resetter)  ms':<44}{med(leave):>9.1f}"
              f"{pct(leave, 95):>9.1f}{max(leave):>9.1f}")
    finally:
        p.down()


def bench_reset(base: Path, runs: int) -> None:
    from irisenv.config import load_config
    from irisenv.iris import pool
    from irisenv.project import Project

    p = Proj(base, "4")
    try:
        p.cli("sync", "--timeout", "120")
        proj = Project(load_config(p.config))
        cid, d = proj.container_id("iris"), proj.iris_desired()["iris"]
        digest = p.table().read().templates[T].init
        print(f"{'reset (iris/pool.reset_copies, one exec)':<44}{'med':>9}{'min':>9}"
              f"{'per copy':>10}")
        for n in (1, 4):
            jobs = [(f"iris/APP_P{i}", T, digest) for i in range(1, n + 1)]
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                said = pool.reset_copies(proj.engine, cid, d, jobs)
                times.append((time.perf_counter() - t0) * 1000)
                assert not any(said.values()), said
            print(f"{f'  {n} cop' + ('y' if n == 1 else 'ies') + '  ms':<44}{med(times):>9.0f}"
                  f"{min(times):>9.0f}{med(times) / n:>10.0f}")
        size = proj.engine.exec(cid, ["sh", "-c", f"wc -c < {pool.master_path(d.storage, 'APP', digest)}"])
        print(f"  (the stand-in's master IRIS.DAT: {size.stdout.strip()} bytes)")
    finally:
        p.down()


SUITE = """\
import os, re
import docker
import pytest

CLIENT = docker.from_env()
POOLED = os.environ["BENCH_POOLED"] == "1"


@pytest.fixture
def ns(request):
    if POOLED:
        return request.getfixturevalue("iris_namespace")
    return request.getfixturevalue("iris_instance").namespace


@pytest.mark.parametrize("n", range({count}))
def test_one(n, ns, iris_instance):
    c = CLIENT.containers.get(iris_instance.container)
    res = c.exec_run(["sh", "-c", 'printf "%s" "$S" | iris session IRIS -U "$N"'],
                     environment={{"S": 'set ^T($J)=1\\nhalt\\n', "N": ns,
                                   "STANDIN_SESSION_PROMPTS": "0"}})
    assert res.exit_code == 0
"""


def bench_suite(base: Path, runs: int, count: int) -> None:
    p = Proj(base, "{ min = 4, max = 8 }")
    suite = base / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n")
    (suite / "test_suite.py").write_text(SUITE.format(count=count))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "IRIS_"))}
    try:
        p.cli("sync", "--timeout", "120")
        walls = {"pool": [], "shared": []}
        for _ in range(runs):
            for kind in ("shared", "pool"):  # interleaved
                p.settle(4)
                cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                       "-p", "no:randomly", "-p", "xdist", "-n", "2",
                       "--irisenv-config", str(p.config), str(suite)]
                t0 = time.perf_counter()
                r = subprocess.run(cmd, cwd=suite, capture_output=True, text=True,
                                   env={**env, "BENCH_POOLED": "1" if kind == "pool" else "0"},
                                   timeout=1800)
                walls[kind].append(time.perf_counter() - t0)
                if r.returncode != 0:
                    raise SystemExit(f"the {kind} suite failed:\n{r.stdout[-3000:]}")
        ratio = med(walls["pool"]) / med(walls["shared"])
        print(f"{f'suite, {count} tests, -n 2':<44}{'med s':>9}{'min s':>9}")
        for kind in ("shared", "pool"):
            print(f"{'  ' + kind:<44}{med(walls[kind]):>9.1f}{min(walls[kind]):>9.1f}")
        print(f"{'  pool / shared':<44}{ratio:>9.2f}{'':>9}  goal <= 1.3: "
              + ("met" if ratio <= 1.3 else "missed") + f"  ({runs} runs each)")
    finally:
        p.down()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="fewer rounds, runs and tests")
    ap.add_argument("--tests", type=int, default=None, help="inner suite size (default 200)")
    ap.add_argument("--only", default=",".join(SECTIONS))
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    tests = args.tests or (50 if args.quick else 200)
    only = args.only.split(",")
    with tempfile.TemporaryDirectory(prefix="irisenv-bench-pool-") as tmp:
        base = Path(tmp)
        os.environ["IRISENV_STATE_DIR"] = str(base / "state")
        print(f"bench_pool · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · "
              f"load {os.getloadavg()[0]:.2f} · {os.cpu_count()} CPUs · image {IMAGE}")
        if "lease" in only:
            bench_lease(base, 20 if args.quick else 100 * runs // 3 or 20)
        if "reset" in only:
            bench_reset(base, max(3, runs * 3))
        if "suite" in only:
            bench_suite(base, runs, tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
