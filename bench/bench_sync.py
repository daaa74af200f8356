"""Wall time of `irisenv plan` / `irisenv sync` against the stand-in IRIS image, side by side
with the floor and irisenv's performance goals (docs/performance.md).

  a) floor: a bare Python process that imports docker and lists containers by label
  b) no-op `irisenv plan` on a converged project        goal: <= 1.5x the floor
  c) no-op `irisenv sync` on a converged project        goal: <= 1.5x the floor
  d) cold create: `irisenv sync` from nothing, stand-in boot delay 1 s and 2 s
       wall - boot delay                                goal: <= 0.5 s
       log line -> irisenv's log watcher returns        goal: <= 100 ms
  e) cold sync of 4 instances vs 1 instance (boot 2 s)  goal: <= 1.3x

Every figure is measured from outside, with subprocesses and time.perf_counter; the median
and the minimum over --runs runs are printed. Nothing is asserted: timings depend on the
machine and its load, and timed checks do not belong in tests.

    python bench/bench_sync.py [--runs N] [--quick] [--image REF]

Needs a Docker engine and the stand-in image (bash tests/standin/build.sh). Works in a
temporary directory with unique project names and removes everything it created.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR_CODE = ("import docker; c=docker.APIClient(version='auto'); c.containers(all=True, "
              "filters={'label':['io.irisenv.managed-by=irisenv','io.irisenv.project=%s']})")

# Runs `irisenv` in-process with wait_for_log wrapped, to print the exact epoch at which the
# log watcher returned (an extra NDJSON line on stderr). Used only for the precise gap row.
INSTRUMENTED = r"""
import json, sys, time
import irisenv.iris.readiness as R
_orig = R.wait_for_log
def _timed(*a, **k):
    _orig(*a, **k)
    sys.stderr.write(json.dumps({"event": "bench-log-returned", "time": time.time()}) + "\n")
    sys.stderr.flush()
R.wait_for_log = _timed
from irisenv.cli.main import main
sys.exit(main(sys.argv[1:]))
"""

READY_MSG = re.compile(r"log ([\d.]+)s, qlist ([\d.]+)s(?:, probe ([\d.]+)s)?")


# --------------------------------------------------------------------------- helpers
def sh(cmd: list[str], cwd: str | None = None) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                              cwd=cwd).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def mn(xs):
    xs = [x for x in xs if x is not None]
    return min(xs) if xs else None


def verdict(value, goal) -> str:
    if value is None:
        return "n/a"
    return "met" if value <= goal else "MISSED"


class Bench:
    def __init__(self, args):
        self.args = args
        script = shutil.which("irisenv")
        if args.irisenv:
            self.irisenv = shlex.split(args.irisenv)
        else:
            self.irisenv = [script] if script else [sys.executable, "-m", "irisenv"]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IRISENV_")}
        self.env.pop("CI", None)
        if not args.as_is_bytecode:
            # As installed from a wheel (.pyc compiled at install): this workplace sets
            # PYTHONDONTWRITEBYTECODE=1, which would make every irisenv run (not the floor's
            # docker import, whose .pyc ship in site-packages) recompile its own modules.
            # The cache goes to a temp prefix, so the checkout gets no __pycache__.
            self.env.pop("PYTHONDONTWRITEBYTECODE", None)
            self.env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir())
                                                  / "irisenv-bench-pycache")
        self.tag = f"b{os.getpid() % 100000}{secrets.token_hex(2)}"
        self.tmp = Path(tempfile.mkdtemp(prefix="irisenv-bench-sync-"))
        self.projects: list[Path] = []

    # ---- projects
    def project(self, suffix: str, instances: int, boot: float) -> tuple[Path, str]:
        name = f"{self.tag}-{suffix}"
        d = self.tmp / name
        d.mkdir()
        lines = [f'[project]\nname = "{name}"\n']
        for i in range(instances):
            inst = "iris" if instances == 1 else f"iris{i + 1}"
            lines.append(f'[instances.{inst}]\nimage = "{self.args.image}"\n'
                         f'env = {{ STANDIN_BOOT_SECONDS = "{boot:g}" }}\n')
        (d / "iris-devtester.toml").write_text("\n".join(lines))
        self.projects.append(d)
        return d, name

    def run(self, cmd: list[str], cwd: Path, env=None, check=True):
        start_epoch = time.time()
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env or self.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
        end_epoch = time.time()
        if check and proc.returncode != 0:
            raise SystemExit(f"bench: `{' '.join(cmd)}` in {cwd} exited {proc.returncode}:\n"
                             f"{proc.stderr or ''}")
        return wall, start_epoch, end_epoch, proc.stderr or ""

    def interleaved(self, cmds: list[list[str]], cwd, runs) -> list[list[float]]:
        """Each command once per round, rounds repeated: load that comes and goes (other
        jobs on the machine) hits every command alike. One warm-up round first."""
        for cmd in cmds:
            self.run(cmd, cwd)
        out: list[list[float]] = [[] for _ in cmds]
        for _ in range(runs):
            for i, cmd in enumerate(cmds):
                out[i].append(self.run(cmd, cwd)[0])
        return out

    def down(self, d: Path) -> None:
        self.run(self.irisenv + ["down", "--progress", "quiet"], d, check=False)

    def cleanup(self) -> None:
        for d in self.projects:
            self.down(d)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- log timestamps (docker's receive time of each line, RFC 3339 with ns)
    def log_times(self, container: str) -> dict:
        out = subprocess.run(["docker", "logs", "--timestamps", container], capture_output=True,
                             text=True).stdout
        first = ready = None
        for line in out.splitlines():
            stamp, _, text = line.partition(" ")
            t = parse_rfc3339(stamp)
            if t is None:
                continue
            if first is None:
                first = t
            if "Enabling logons" in text:
                ready = t
        return {"first": first, "ready": ready}

    # ---- one cold sync, parsed
    def cold(self, d: Path, name: str, instances: int, boot: float, instrumented=False) -> dict:
        self.down(d)
        if instrumented:
            cmd = [sys.executable, "-c", INSTRUMENTED, "sync", "--progress", "json"]
        else:
            cmd = self.irisenv + ["sync", "--progress", "json"]
        wall, t_start, t_end, err = self.run(cmd, d)
        events = []
        for line in err.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
        row = {"wall": wall, "over_boot": wall - boot}
        if instances != 1:
            return row
        by = {}
        for e in events:
            by.setdefault(e.get("event"), e)
        first = next((e for e in events if "elapsed" in e), None)
        wait, ready, created = by.get("wait"), by.get("ready"), by.get("created")
        if first:
            # the reporter's t0 as an epoch: time - elapsed of any event
            row["startup"] = (first["time"] - first["elapsed"]) - t_start
        if created:
            row["to_started"] = created["elapsed"]
        m = READY_MSG.search(ready["message"]) if ready else None
        if m and wait:
            log_s, qlist_s, probe_s = (float(x or 0) for x in m.groups())
            row.update(log=log_s, qlist=qlist_s, probe=probe_s, tail=t_end - ready["time"])
            stamps = self.log_times(f"{name}-iris")
            if stamps["ready"] is not None:
                # method A: NDJSON only (10 ms resolution: messages round to 0.01 s)
                row["gap_ndjson"] = (wait["time"] + log_s) - stamps["ready"]
                if stamps["first"] is not None:
                    row["standin_own"] = stamps["ready"] - stamps["first"] - boot
            if instrumented:
                hit = next((e for e in events if e.get("event") == "bench-log-returned"), None)
                if hit and stamps["ready"] is not None:
                    row["gap_exact"] = hit["time"] - stamps["ready"]
        return row


def parse_rfc3339(stamp: str) -> float | None:
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$", stamp)
    if not m:
        return None
    whole = dt.datetime.strptime(m.group(1) + "+0000", "%Y-%m-%dT%H:%M:%S%z").timestamp()
    return whole + float("0" + (m.group(2) or ".0")[:10])


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per measurement (default 10)")
    ap.add_argument("--quick", action="store_true",
                    help="fewer runs (3 for the no-op paths, 2 for cold creates)")
    ap.add_argument("--image", default="irisenv-standin:latest", help="the stand-in image")
    ap.add_argument("--as-is-bytecode", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE/PYTHONPYCACHEPREFIX as they are (default: "
                         "let Python cache .pyc under a temp prefix, as an installed wheel has)")
    ap.add_argument("--irisenv", metavar="CMD", help="how to run irisenv (default: the `irisenv` "
                    "console script), e.g. \"python -m irisenv\" with PYTHONPATH set to a checkout")
    args = ap.parse_args()
    runs = 3 if args.quick else max(args.runs, 1)
    cold_runs = 2 if args.quick else max(args.runs, 1)

    b = Bench(args)
    docker_v = sh(["docker", "version", "--format",
                   "server {{.Server.Version}} (API {{.Server.APIVersion}}), "
                   "client {{.Client.Version}}"])
    print(f"# irisenv bench_sync · {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"command : {shlex.join([sys.executable] + sys.argv)}")
    print(f"machine : {os.cpu_count()} cpu(s) (nproc {sh(['nproc'])}) · {sh(['uname', '-srm'])}")
    print(f"load    : {sh(['uptime'])}")
    print(f"docker  : {docker_v}")
    rev = sh(["git", "-C", str(Path(__file__).resolve().parent.parent), "describe", "--always",
              "--dirty"])
    where = sh([sys.executable, "-c", "import irisenv, os; print(os.path.dirname(irisenv.__file__))"
                ], cwd=tempfile.gettempdir())
    print(f"irisenv : {where} (git {rev}; PYTHONPATH={os.environ.get('PYTHONPATH', '')})")
    print(f"python  : {sys.version.split()[0]} · irisenv = {' '.join(b.irisenv)}"
          f" · image {args.image}")
    print(f"runs    : {runs} per no-op measurement (interleaved, +1 warm-up round), "
          f"{cold_runs} per cold create")
    print(f"pyc     : PYTHONDONTWRITEBYTECODE={b.env.get('PYTHONDONTWRITEBYTECODE', '(unset)')} "
          f"PYTHONPYCACHEPREFIX={b.env.get('PYTHONPYCACHEPREFIX', '(unset)')}")
    if sh(["docker", "image", "inspect", "--format", "ok", args.image]) != "ok":
        print(f"bench: image {args.image} is missing: bash tests/standin/build.sh", file=sys.stderr)
        return 1
    sys.stdout.flush()
    try:
        # ------------------------------------------------ a, b, c: floor and no-op paths
        d, name = b.project("noop", 1, 1)
        b.run(b.irisenv + ["sync", "--progress", "quiet"], d)
        floor, plan, sync = b.interleaved([[sys.executable, "-c", FLOOR_CODE % name],
                                           b.irisenv + ["plan"], b.irisenv + ["sync"]], d, runs)
        fm = med(floor)
        print("\n## no-op paths on a converged project (1 instance)")
        print(f"{'command':<44}{'median ms':>10}{'min ms':>8}{'x floor':>9}  goal")
        for label, ts, goal in (("a) floor: python -c 'import docker; list'", floor, None),
                                ("b) irisenv plan  (no changes)", plan, 1.5),
                                ("c) irisenv sync  (no changes)", sync, 1.5)):
            ratio = med(ts) / fm
            g = "" if goal is None else f"<= {goal}x floor: {verdict(ratio, goal)}"
            print(f"{label:<44}{fmt_ms(med(ts)):>10}{fmt_ms(mn(ts)):>8}{ratio:>9.2f}  {g}")
        sys.stdout.flush()
        b.down(d)

        # ------------------------------------------------ d: cold create
        print("\n## d) cold create: `irisenv sync --progress json` from nothing (1 instance)")
        print("   wall - boot = everything irisenv adds on top of the stand-in's boot delay "
              "(goal <= 500 ms);")
        print("   gap = irisenv's log watcher returned - docker's timestamp of the "
              "'Enabling logons' line (goal <= 100 ms)")
        cold_rows = {}
        for boot in (1.0, 2.0):
            d, name = b.project(f"cold{boot:g}", 1, boot)
            cold_rows[boot] = [b.cold(d, name, 1, boot) for _ in range(cold_runs)]
            b.down(d)
        d, name = b.project("coldi", 1, 1)
        exact = [b.cold(d, name, 1, 1.0, instrumented=True) for _ in range(min(cold_runs, 5))]
        b.down(d)
        cols = [("wall", "wall", None), ("over_boot", "wall - boot", 0.5),
                ("startup", "  spawn->reporter (python, imports, config)", None),
                ("to_started", "  reporter->container started (plan, create, put, start)", None),
                ("log", "  started->log line seen (incl. boot delay)", None),
                ("standin_own", "  stand-in's own work before/after its delay", None),
                ("qlist", "  qlist exec", None), ("probe", "  session probe exec", None),
                ("tail", "  ready->process exit (IRIS-level converge, summary)", None),
                ("gap_ndjson", "gap, from NDJSON (+-10 ms)", 0.1)]
        print(f"{'measure':<58}{'boot 1s med':>12}{'min':>7}{'boot 2s med':>12}{'min':>7}  goal")
        for key, label, goal in cols:
            vals = []
            for boot in (1.0, 2.0):
                xs = [r.get(key) for r in cold_rows[boot]]
                vals.append((med(xs), mn(xs)))
            g = ""
            if goal is not None:
                g = (f"<= {goal * 1000:.0f} ms: " + verdict(vals[0][0], goal) + " / "
                     + verdict(vals[1][0], goal))
            print(f"{label:<58}{fmt_ms(vals[0][0]):>12}{fmt_ms(vals[0][1]):>7}"
                  f"{fmt_ms(vals[1][0]):>12}{fmt_ms(vals[1][1]):>7}  {g}")
        xs = [r.get("gap_exact") for r in exact]
        print(f"{'gap, instrumented wait_for_log (exact), boot 1s':<58}{fmt_ms(med(xs)):>12}"
              f"{fmt_ms(mn(xs)):>7}{'':>19}  <= 100 ms: {verdict(med(xs), 0.1)}"
              f"  ({len(exact)} runs)")
        sys.stdout.flush()

        # ------------------------------------------------ e: 4 instances vs 1
        print("\n## e) cold sync, 4 instances vs 1 (boot 2 s each; `down` between runs)")
        d1, n1 = b.project("one", 1, 2)
        d4, n4 = b.project("four", 4, 2)
        one, four = [], []
        for _ in range(cold_runs):  # interleaved, so load changes hit both alike
            one.append(b.cold(d1, n1, 1, 2.0)["wall"])
            four.append(b.cold(d4, n4, 4, 2.0)["wall"])
        b.down(d1)
        b.down(d4)
        ratio = med(four) / med(one)
        print(f"{'config':<44}{'median ms':>10}{'min ms':>8}{'x one':>9}  goal")
        print(f"{'1 instance':<44}{fmt_ms(med(one)):>10}{fmt_ms(mn(one)):>8}{1.0:>9.2f}")
        print(f"{'4 instances':<44}{fmt_ms(med(four)):>10}{fmt_ms(mn(four)):>8}{ratio:>9.2f}"
              f"  <= 1.3x: {verdict(ratio, 1.3)}")
        print(f"\nload after: {sh(['uptime'])}")
    finally:
        b.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
