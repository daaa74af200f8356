"""Wall time of `irisenv plan` / `sync` / `status` against the stand-in IRIS image, side by
side with floors and irisenv's performance goals (docs/performance.md).

  floors   python -c pass; a plain-Python container list over the socket (http.client);
           the docker-py list `docker.from_env().api.containers(all=True, filters=...)`
  noop     no-op `irisenv plan` and `sync` on a converged 1-instance project
                                                        goal: <= 1.3x the docker-py list
  status   `status` and `plan` on converged projects of 1 and 4 instances
                                                        goal: status (4) <= 1.5x plan (4)
  parts    where a no-op `plan` spends its time, in-process (see BREAKDOWN below), and
           what the port registry adds to a no-op `sync` (import, lease)
                                                        goal: <= 5 ms
  cold     `irisenv sync` from nothing (boot delay 1 s and 2 s) next to `docker run` and
           waiting for the log line              goal: wall - boot <= 0.4 s
           log line -> irisenv's log watcher returns    goal: <= 100 ms
  scale    cold sync of 4 instances vs 1 instance (boot 2 s)    goal: <= 1.3x

With --baseline DIR (another irisenv source tree, e.g. `git archive main irisenv | tar -x
-C /tmp/base`), every irisenv figure is measured for that tree ("before") and for this
checkout ("after", or --tree DIR) in the same run, runs of both interleaved, and printed
side by side.

Every figure is measured from outside, with subprocesses and time.perf_counter, except the
in-process breakdown; the median and the minimum over --runs runs are printed. Nothing is
asserted: timings depend on the machine and its load, and timed checks do not belong in
tests.

    python bench/bench_sync.py [--runs N] [--quick] [--baseline DIR] [--only noop,status,...]

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

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("noop", "status", "parts", "cold", "scale")
LABELS = "{'label': ['io.irisenv.managed-by=irisenv', 'io.irisenv.project=%s']}"
FLOORS = {
    "python -c pass": "pass",
    # plain Python over the socket: what any client pays at least
    "http.client list": (
        "import http.client, json, socket, urllib.parse\n"
        "class C(http.client.HTTPConnection):\n"
        "    def connect(self):\n"
        "        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(%r)\n"
        "c = C('localhost'); q = urllib.parse.urlencode({'all': 1, 'filters': json.dumps("
        + LABELS + ")})\n"
        "c.request('GET', '/containers/json?' + q); json.loads(c.getresponse().read())"),
    # the floor of the goals: docker-py, as the issue measured it
    "docker-py list": ("import docker; docker.from_env().api.containers(all=True, filters="
                       + LABELS + ")"),
}
FLOOR = "docker-py list"

# A no-op `irisenv plan` in-process, piece by piece, each timed alone and in this order
# (so each import row is what that step adds): a cost model, not the critical path (the
# real command overlaps some of it). Works with any irisenv version that has these
# functions. Prints one JSON object of milliseconds.
BREAKDOWN = r"""
import json, sys, time
T = time.perf_counter
ms = {}
def span(name, t0):
    ms[name] = (T() - t0) * 1000
t = T()
from irisenv.cli import main as M
try:
    parser = M.build_parser(["plan"])  # what main() builds for `plan`, where it can
except TypeError:
    parser = M.build_parser()
parser.parse_args(["plan"])
span("irisenv CLI: import, parser for `plan`", t)
t = T(); from irisenv.config import load_config; cfg = load_config(None); span("config load", t)
t = T()
import irisenv.project, irisenv.observe, irisenv.iris.probe, irisenv.core.render
from irisenv.core.plan import Options, reconcile
project = irisenv.project.Project(cfg)
span("irisenv imports on the plan path", t)
t = T(); desired = project.desired(); span("desired state (specs, hashes)", t)
t = T(); engine = project.engine
span("engine made (+ docker-py import, GET /version where done)", t)
t = T(); cs = engine.list_project(project.name)
span("first container list (+ API version refused, asked)", t)
t = T(); engine.list_project(project.name); span("container list", t)
t = T(); engine.image_id(desired[0].image); span("image inspect", t)
t = T(); engine.actual(cs[0].id); span("container inspect", t)
from irisenv.iris.probe import observe as probe
want, pw = project.iris_desired(), project.passwords()
t = T(); probe(engine, cs[0].id, want[desired[0].instance], pw[desired[0].instance], timeout=30)
span("IRIS state probe (one session exec)", t)
t = T(); engine.exec(cs[0].id, ["true"]); span("bare `exec true`", t)
t = T(); observed = project.observe(desired); span("observe, all of it (as plan runs it)", t)
import irisenv.lock  # what a sync has imported for its project lock already
t = T()
try:  # the port registry (sync only; absent from trees older than it)
    from irisenv.registry import lease
except ImportError:
    lease = None
if lease is not None:
    span("port registry: import (sync only)", t)
    from irisenv.report import QuietReporter
    noop = reconcile(desired, observed, Options(), project.iris_desired())
    t = T(); lease(project, desired, observed, noop, QuietReporter())
    span("port registry: a no-op sync's lease", t)
t = T(); irisenv.core.render.plan_text(reconcile(desired, observed, Options(),
                                                project.iris_desired()))
span("reconcile + render", t)
import gc
t = T(); gc.collect(); span("gc.collect() at this point", t)
t = T(); import docker, requests, urllib3
span("import docker + requests + urllib3 (if not yet)", t)
print(json.dumps(ms))
"""

IMPORT_DOCKER = ("import time; t = time.perf_counter(); import docker, requests, urllib3; "
                 "print((time.perf_counter() - t) * 1000)")

# The real `irisenv VERB` as the console script runs it (main() reads sys.argv), stamping
# when the interpreter reached our code and when main() returned (epoch, on stderr):
# start-up, main and interpreter exit apart.
STAMPED = r"""
import json, sys, time
t0 = time.time()
from irisenv.cli.main import main
sys.argv[0] = "irisenv"
rc = main()
sys.stderr.write(json.dumps({"bench-stamps": [t0, time.time()]}) + "\n")
sys.stderr.flush()
sys.exit(rc)
"""

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

READY_MSG = re.compile(r"log ([\d.]+)s(?:, qlist ([\d.]+)s)?(?:, probe ([\d.]+)s)?")


# --------------------------------------------------------------------------- helpers
def sh(cmd: list[str], cwd: str | None = None, env=None) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                              cwd=cwd, env=env).stdout.strip()
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


def ratio(a, b) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}"


def verdict(value, goal) -> str:
    if value is None:
        return "n/a"
    return "met" if value <= goal else "MISSED"


def console_script() -> list[str]:
    """How a user runs irisenv: the console script next to this interpreter (a pyenv or
    asdf shim on PATH would add a shell and ~60 ms to every run, which is not irisenv's),
    else the one on PATH, else `python -m irisenv`."""
    here = Path(sys.executable).with_name("irisenv")
    if here.exists():
        return [str(here)]
    found = shutil.which("irisenv")
    return [found] if found else [sys.executable, "-m", "irisenv"]


class Variant:
    """One irisenv source tree to measure: its name, how to run it, its environment."""

    def __init__(self, name: str, cmd: list[str], env: dict, where: str):
        self.name, self.cmd, self.env, self.where = name, cmd, env, where


class Bench:
    def __init__(self, args):
        self.args = args
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("IRISENV_")}
        base_env.pop("CI", None)
        if not args.as_is_bytecode:
            # As installed from a wheel (.pyc compiled at install): this workplace sets
            # PYTHONDONTWRITEBYTECODE=1, which would make every irisenv run (not the floor's
            # docker import, whose .pyc ship in site-packages) recompile its own modules.
            # The cache goes to a temp prefix, so the checkout gets no __pycache__.
            base_env.pop("PYTHONDONTWRITEBYTECODE", None)
            base_env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir())
                                                  / "irisenv-bench-pycache")
        self.tmp = Path(tempfile.mkdtemp(prefix="irisenv-bench-sync-"))
        # a state directory of its own (locks, run markers), removed at the end
        base_env["IRISENV_STATE_DIR"] = str(self.tmp / "state")
        self.env = base_env
        cmd = shlex.split(args.irisenv) if args.irisenv else console_script()
        if args.baseline:
            self.variants = [self._variant("before", cmd, Path(args.baseline)),
                             self._variant("after", cmd, Path(args.tree or ROOT))]
        else:
            self.variants = [Variant("irisenv", cmd, base_env, self._where(base_env))]
        self.tag = f"b{os.getpid() % 100000}{secrets.token_hex(2)}"
        self.projects: list[Path] = []

    def _variant(self, name: str, cmd: list[str], tree: Path) -> Variant:
        env = {**self.env, "PYTHONPATH": str(tree.resolve())}
        return Variant(name, cmd, env, self._where(env))

    def _where(self, env) -> str:
        return sh([sys.executable, "-c", "import irisenv, os; print(os.path.dirname("
                   "irisenv.__file__))"], cwd=tempfile.gettempdir(), env=env)

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
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
        end_epoch = time.time()
        if check and proc.returncode != 0:
            raise SystemExit(f"bench: `{' '.join(cmd)}` in {cwd} exited {proc.returncode}:\n"
                             f"{proc.stderr or ''}")
        return wall, start_epoch, end_epoch, proc.stderr or ""

    def interleaved(self, cases: list[tuple], cwd, runs) -> list[list]:
        """cases: (cmd, env). Each case once per round, rounds repeated: load that comes
        and goes (other jobs on the machine) hits every case alike. One warm-up round."""
        for cmd, env in cases:
            self.run(cmd, cwd, env)
        out: list[list] = [[] for _ in cases]
        for _ in range(runs):
            for i, (cmd, env) in enumerate(cases):
                out[i].append(self.run(cmd, cwd, env)[0])
        return out

    def floors(self, cwd: Path, name: str) -> list[tuple]:
        sock = "/var/run/docker.sock"
        host = os.environ.get("DOCKER_HOST", "")
        if host.startswith("unix://"):
            sock = host[len("unix://"):]
        out = []
        for label, code in FLOORS.items():
            if "%r" in code:
                code = code % (sock, name)
            elif "%s" in code:
                code = code % name
            out.append((label, [sys.executable, "-c", code], self.env))
        return out

    def sync_quiet(self, d: Path, v: Variant | None = None) -> None:
        v = v or self.variants[-1]
        self.run(v.cmd + ["sync", "--progress", "quiet"], d, v.env)

    def down(self, d: Path) -> None:
        v = self.variants[-1]
        self.run(v.cmd + ["down", "--progress", "quiet"], d, v.env, check=False)

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
    def cold(self, v: Variant, d: Path, name: str, instances: int, boot: float,
             instrumented=False) -> dict:
        self.down(d)
        if instrumented:
            cmd = [sys.executable, "-c", INSTRUMENTED, "sync", "--progress", "json"]
        else:
            cmd = v.cmd + ["sync", "--progress", "json"]
        wall, t_start, t_end, err = self.run(cmd, d, v.env)
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
            row.update(log=log_s, qlist=qlist_s, tail=t_end - ready["time"])
            stamps = self.log_times(f"{name}-iris")
            if stamps["ready"] is not None:
                # from NDJSON only (10 ms resolution: messages round to 0.01 s)
                row["gap_ndjson"] = (wait["time"] + log_s) - stamps["ready"]
                if stamps["first"] is not None:
                    row["standin_own"] = stamps["ready"] - stamps["first"] - boot
            if instrumented:
                hit = next((e for e in events if e.get("event") == "bench-log-returned"), None)
                if hit and stamps["ready"] is not None:
                    row["gap_exact"] = hit["time"] - stamps["ready"]
        return row

    def docker_run(self, boot: float) -> float:
        """The cold floor: `docker run` with the ports irisenv publishes, then follow the
        log until the ready line; wall seconds. The container is removed after."""
        name = f"{self.tag}-floor-{secrets.token_hex(3)}"
        start = time.perf_counter()
        subprocess.run(["docker", "run", "-d", "--name", name, "--label",
                        f"io.irisenv.bench={self.tag}", "-p", "127.0.0.1::1972",
                        "-p", "127.0.0.1::52773", "-e", f"STANDIN_BOOT_SECONDS={boot:g}",
                        self.args.image], check=True, stdout=subprocess.DEVNULL)
        logs = subprocess.Popen(["docker", "logs", "-f", name], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            for line in logs.stdout:
                if "Enabling logons" in line:
                    break
            wall = time.perf_counter() - start
        finally:
            logs.kill()
            logs.wait()
            subprocess.run(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return wall

    # ---- the real command with stamps: start-up, main(), exit
    def stamped(self, v: Variant, d: Path, verb: str) -> dict:
        wall, t0, t1, err = self.run([sys.executable, "-c", STAMPED, verb], d, v.env)
        for line in err.splitlines():
            if "bench-stamps" in line:
                s, r = json.loads(line)["bench-stamps"]
                return {"wall": wall * 1000, "start-up (interpreter, site)": (s - t0) * 1000,
                        "main()": (r - s) * 1000, "interpreter exit (after main)": (t1 - r) * 1000}
        return {}

    def breakdown(self, v: Variant, d: Path) -> dict:
        out = {}
        for key, code in (("parts", BREAKDOWN), ("docker", IMPORT_DOCKER)):
            proc = subprocess.run([sys.executable, "-c", code], cwd=d, env=v.env,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"bench: breakdown ({v.name}) failed:\n{proc.stderr}")
            out[key] = json.loads(proc.stdout.strip().splitlines()[-1])
        return {"import docker + requests + urllib3 (a process of its own)": out["docker"],
                **out["parts"]}


def parse_rfc3339(stamp: str) -> float | None:
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$", stamp)
    if not m:
        return None
    whole = dt.datetime.strptime(m.group(1) + "+0000", "%Y-%m-%dT%H:%M:%S%z").timestamp()
    return whole + float("0" + (m.group(2) or ".0")[:10])


# --------------------------------------------------------------------------- output
def header(b: Bench, extra: str = "") -> None:
    names = [v.name for v in b.variants]
    cols = "".join(f"{n + ' med':>13}{'min':>7}" for n in names)
    if len(names) == 2:
        cols += f"{'after/before':>14}"
    print(f"{'':<46}{cols}{extra}")


def row(b: Bench, label: str, series: list, extra: str = "", scale=1000.0) -> None:
    """One line: median and minimum of each variant's series (seconds, or ms with
    scale=1), and after/before when there are two."""
    cells = ""
    meds = []
    for xs in series:
        m = med(xs)
        meds.append(m)
        fm = (lambda x: "-" if x is None else f"{x * scale:.0f}")
        cells += f"{fm(m):>13}{fm(mn(xs)):>7}"
    if len(series) == 2:
        cells += f"{ratio(meds[1], meds[0]):>14}"
    print(f"{label:<46}{cells}{extra}")


# --------------------------------------------------------------------------- sections
def sec_noop(b: Bench, runs: int) -> None:
    d, name = b.project("noop", 1, 1)
    b.sync_quiet(d)
    floors = b.floors(d, name)
    cases = [(cmd, env) for _, cmd, env in floors]
    for v in b.variants:
        cases += [(v.cmd + ["plan"], v.env), (v.cmd + ["sync"], v.env)]
    res = b.interleaved(cases, d, runs)
    floor = med(res[list(FLOORS).index(FLOOR)])
    print("\n## noop: no-op paths on a converged project (1 instance)")
    print(f"{'command':<46}{'median ms':>13}{'min':>7}{'x floor':>9}  goal")
    for i, (label, _, _) in enumerate(floors):
        print(f"{'floor: ' + label:<46}{fmt_ms(med(res[i])):>13}{fmt_ms(mn(res[i])):>7}"
              f"{ratio(med(res[i]), floor):>9}")
    k = len(floors)
    for v in b.variants:
        for verb in ("plan", "sync"):
            xs = res[k]
            k += 1
            r = med(xs) / floor
            print(f"{f'irisenv {verb} ({v.name})':<46}{fmt_ms(med(xs)):>13}{fmt_ms(mn(xs)):>7}"
                  f"{r:>9.2f}  <= 1.3x {FLOOR}: {verdict(r, 1.3)}")
    sys.stdout.flush()
    b.down(d)


def sec_status(b: Bench, runs: int) -> None:
    print("\n## status: `status` vs `plan` on converged projects")
    print(f"{'command':<46}{'median ms':>13}{'min':>7}{'x plan':>9}  goal")
    for n in (1, 4):
        d, _ = b.project(f"st{n}", n, 1)
        b.sync_quiet(d)
        cases = []
        for v in b.variants:
            cases += [(v.cmd + ["plan"], v.env), (v.cmd + ["status"], v.env)]
        res = b.interleaved(cases, d, runs)
        for i, v in enumerate(b.variants):
            plan, status = res[2 * i], res[2 * i + 1]
            r = med(status) / med(plan)
            goal = f"<= 1.5x plan: {verdict(r, 1.5)}" if n == 4 else ""
            print(f"{f'plan   {n} instance(s) ({v.name})':<46}{fmt_ms(med(plan)):>13}"
                  f"{fmt_ms(mn(plan)):>7}{1.0:>9.2f}")
            print(f"{f'status {n} instance(s) ({v.name})':<46}{fmt_ms(med(status)):>13}"
                  f"{fmt_ms(mn(status)):>7}{r:>9.2f}  {goal}")
        sys.stdout.flush()
        b.down(d)


def sec_parts(b: Bench, runs: int) -> None:
    d, _ = b.project("parts", 1, 1)
    b.sync_quiet(d)
    print("\n## parts: where a no-op `irisenv plan` spends its time (ms)")
    print("   the real command, stamped: spawn -> our first line -> main() returned -> exit")
    stamps: dict = {v.name: [] for v in b.variants}
    parts: dict = {v.name: [] for v in b.variants}
    for v in b.variants:  # warm-up
        b.stamped(v, d, "plan")
        b.breakdown(v, d)
    for _ in range(runs):
        for v in b.variants:
            stamps[v.name].append(b.stamped(v, d, "plan"))
            parts[v.name].append(b.breakdown(v, d))
    header(b)
    for key in ("wall", "start-up (interpreter, site)", "main()", "interpreter exit (after main)"):
        row(b, key, [[s.get(key) for s in stamps[v.name]] for v in b.variants], scale=1)
    print("   each piece alone, in order, in one process (a cost model: `plan` overlaps some)")
    header(b)
    keys = list(parts[b.variants[-1].name][0])
    for key in keys:
        row(b, key, [[p.get(key) for p in parts[v.name]] for v in b.variants], scale=1)
    registry_rows = [k for k in keys if k.startswith("port registry")]
    if registry_rows:
        added = med([sum(p.get(k, 0) for k in registry_rows) for p in parts[b.variants[-1].name]])
        print(f"port registry on a no-op sync (import + lease, {b.variants[-1].name}): "
              f"{added:.2f} ms   <= 5 ms: {verdict(added, 5)}")
    sys.stdout.flush()
    b.down(d)


def sec_cold(b: Bench, runs: int) -> None:
    print("\n## cold: `irisenv sync --progress json` from nothing (1 instance)")
    print("   wall - boot = what irisenv adds to the stand-in's boot delay (goal <= 400 ms);")
    print("   floor: `docker run -d` (same ports) + `docker logs -f` until the ready line;")
    print("   gap = irisenv's log watcher returned - docker's stamp of the ready line (<= 100 ms)")
    rows: dict = {}
    floor: dict = {}
    for boot in (1.0, 2.0):
        floor[boot] = []
        for v in b.variants:
            rows[(v.name, boot)] = []
        dirs = {v.name: b.project(f"c{v.name[:2]}{boot:g}", 1, boot) for v in b.variants}
        for _ in range(runs):
            floor[boot].append(b.docker_run(boot) - boot)
            for v in b.variants:
                d, name = dirs[v.name]
                rows[(v.name, boot)].append(b.cold(v, d, name, 1, boot))
        for d, _ in dirs.values():
            b.down(d)
    cols = [("over_boot", "wall - boot"),
            ("startup", "  spawn -> reporter (python, imports, config)"),
            ("to_started", "  reporter -> container started (plan, create, put, start)"),
            ("log", "  started -> log line seen (incl. boot delay)"),
            ("standin_own", "  stand-in's own work before/after its delay"),
            ("qlist", "  qlist exec"),
            ("tail", "  ready -> exit (IRIS probe, converge, summary)"),
            ("gap_ndjson", "gap, from NDJSON (+-10 ms)")]
    for boot in (1.0, 2.0):
        print(f"boot {boot:g} s")
        header(b, "  goal")
        xs = floor[boot]
        print(f"{'floor: docker run + log line, - boot':<46}{fmt_ms(med(xs)):>13}{fmt_ms(mn(xs)):>7}")
        for key, label in cols:
            series = [[r.get(key) for r in rows[(v.name, boot)]] for v in b.variants]
            goal = ""
            if key == "over_boot":
                goal = "  <= 400 ms: " + " / ".join(verdict(med(s), 0.4) for s in series)
                goal += "; x floor: " + " / ".join(ratio(med(s), med(xs)) for s in series)
            elif key == "gap_ndjson":
                goal = "  <= 100 ms: " + " / ".join(verdict(med(s), 0.1) for s in series)
            row(b, label, series, goal)
    v = b.variants[-1]
    d, name = b.project("coldi", 1, 1)
    exact = [b.cold(v, d, name, 1, 1.0, instrumented=True) for _ in range(min(runs, 5))]
    b.down(d)
    xs = [r.get("gap_exact") for r in exact]
    print(f"{'gap, instrumented wait_for_log (exact, ' + v.name + ')':<46}{fmt_ms(med(xs)):>13}"
          f"{fmt_ms(mn(xs)):>7}  <= 100 ms: {verdict(med(xs), 0.1)} ({len(exact)} runs, boot 1 s)")
    sys.stdout.flush()


def sec_scale(b: Bench, runs: int) -> None:
    print("\n## scale: cold sync, 4 instances vs 1 (boot 2 s each; `down` between runs)")
    header(b)
    res: dict = {}
    for v in b.variants:
        res[v.name] = {1: [], 4: []}
    dirs = {(v.name, n): b.project(f"s{v.name[:2]}{n}", n, 2) for v in b.variants for n in (1, 4)}
    for _ in range(runs):  # interleaved, so load changes hit all alike
        for v in b.variants:
            for n in (1, 4):
                d, name = dirs[(v.name, n)]
                res[v.name][n].append(b.cold(v, d, name, n, 2.0)["wall"])
    for d, _ in dirs.values():
        b.down(d)
    row(b, "1 instance (wall)", [res[v.name][1] for v in b.variants])
    row(b, "4 instances (wall)", [res[v.name][4] for v in b.variants])
    print("4 vs 1: " + " / ".join(
        f"{v.name} {ratio(med(res[v.name][4]), med(res[v.name][1]))}x "
        f"({verdict(med(res[v.name][4]) / med(res[v.name][1]), 1.3)} <= 1.3x)"
        for v in b.variants))


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per measurement (default 10)")
    ap.add_argument("--quick", action="store_true", help="3 runs per measurement")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})")
    ap.add_argument("--baseline", metavar="DIR",
                    help="another irisenv source tree to measure side by side (\"before\")")
    ap.add_argument("--tree", metavar="DIR",
                    help="with --baseline: the \"after\" tree (default: this checkout)")
    ap.add_argument("--image", default="irisenv-standin:latest", help="the stand-in image")
    ap.add_argument("--as-is-bytecode", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE/PYTHONPYCACHEPREFIX as they are (default: "
                         "let Python cache .pyc under a temp prefix, as an installed wheel has)")
    ap.add_argument("--irisenv", metavar="CMD", help="how to run irisenv (default: the `irisenv` "
                    "console script next to this Python), e.g. \"python -m irisenv\"")
    args = ap.parse_args()
    runs = 3 if args.quick else max(args.runs, 1)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        ap.error(f"unknown sections {unknown}; choose from {','.join(SECTIONS)}")

    b = Bench(args)
    docker_v = sh(["docker", "version", "--format",
                   "server {{.Server.Version}} (API {{.Server.APIVersion}}), "
                   "client {{.Client.Version}}"])
    print(f"# irisenv bench_sync · {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"command : {shlex.join([sys.executable] + sys.argv)}")
    print(f"machine : {os.cpu_count()} cpu(s) (nproc {sh(['nproc'])}) · {sh(['uname', '-srm'])}")
    print(f"load    : {sh(['uptime'])}")
    print(f"docker  : {docker_v}")
    print(f"python  : {sys.version.split()[0]} · image {args.image}")
    for v in b.variants:
        rev = sh(["git", "-C", v.where, "describe", "--always", "--dirty"]) or "not a git tree"
        print(f"{v.name:<8}: {shlex.join(v.cmd)} · irisenv from {v.where} ({rev})")
    print(f"runs    : {runs} per measurement (interleaved; no-op rows after a warm-up round)")
    print(f"pyc     : PYTHONDONTWRITEBYTECODE={b.env.get('PYTHONDONTWRITEBYTECODE', '(unset)')} "
          f"PYTHONPYCACHEPREFIX={b.env.get('PYTHONPYCACHEPREFIX', '(unset)')}")
    return run_sections(b, args.image, runs, [globals()[f"sec_{s}"] for s in SECTIONS
                                              if s in only])


def run_sections(b: Bench, image: str, runs: int, sections: list) -> int:
    """Run the chosen sections (functions of (bench, runs)) on the stand-in ``image``, then
    the load after them; the bench's containers are removed whatever happens. 1: no image."""
    if sh(["docker", "image", "inspect", "--format", "ok", image]) != "ok":
        print(f"bench: image {image} is missing: bash tests/standin/build.sh", file=sys.stderr)
        return 1
    sys.stdout.flush()
    try:
        for section in sections:
            section(b, runs)
        print(f"\nload after: {sh(['uptime'])}")
    finally:
        b.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
