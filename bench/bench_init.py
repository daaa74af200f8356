"""Declared init against the stand-in IRIS image: a namespace initialised from a database
fixture vs from the equivalent SQL script, and what checking init hashes costs a no-op
`plan` / `sync` (docs/performance.md, "Declared init and fixtures").

  load     `irisenv sync` that resets a namespace and applies its init, per kind of init,
           the same N rows each way:
             floor    the reset plus a `{ run = "1" }` entry (what every re-init pays)
             sql      CREATE TABLE + N INSERT statements (one %ExecDirect each)
             gof      N global nodes imported (%Library.Global.Import)
             fixture  a fixture exported after the gof init ran (its IRIS.DAT holds the
                      N nodes), loaded by `{ fixture = "..." }`
           the stand-in's SQL, global import and database swap are busybox shell and awk,
           not IRIS: the ratios on real IRIS will differ (a real-IRIS row is printed as
           not measured)
  noop     no-op `plan` and `sync` on a converged project of 3 namespaces x 50 init files
           vs the same project without init, side by side; the IRIS sessions each spends
           (exec_start events); and in-process, the hash check (Project.iris_desired() and
           the applied-init manifests) with a warm size/mtime cache vs a cold one (deleted)
                                 goal: an unchanged init costs nothing beyond the hash compare

Every figure is measured from outside with subprocesses and time.perf_counter, except the
in-process rows; the median and minimum over --runs runs are printed, rounds interleaved.
Nothing is asserted: timings depend on the machine and its load.

    python bench/bench_init.py [--runs N] [--quick] [--rows N] [--only load,noop] [--image IMG]

Needs a Docker engine and the stand-in image (bash tests/standin/build.sh; build a tag of
your own with IRISENV_STANDIN_IMAGE=irisenv-standin:<tag> and pass --image). Works in a
temporary directory with unique project names and its own state directory, and removes
everything it created.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import Bench, fmt_ms, med, mn, ratio, run_sections, sh  # noqa: E402

SECTIONS = ("load", "noop")
NAMESPACES = ("APP1", "APP2", "APP3")
FILES_PER_NS = 50

# In-process: the hash check a plan makes (Project.iris_desired(): the size/mtime cache
# read, a stat per file, a sha256 of each file the cache does not know, the cache saved)
# and the applied-init manifests the plan reads to name changed files. Run in the project
# directory; prints one JSON object of milliseconds.
HASH_CHECK = r"""
import json, sys, time
T = time.perf_counter
from irisenv.config import load_config
from irisenv.project import Project
from irisenv.core import init
cfg = load_config(None)
ms = {}
t = T(); Project(cfg).iris_desired(); ms["iris_desired"] = (T() - t) * 1000
t = T(); init.applied(); ms["applied"] = (T() - t) * 1000
print(json.dumps(ms))
"""

CLASS = """Class Bench.{ns}.C{k:03d} Extends %Persistent
{{

/// A class of a realistic size for an init's code directory ({ns}, file {k}).
Property Name As %String(MAXLEN = 200);

Property City As %String;

Property Born As %Date;

{methods}
}}
"""
METHOD = """ClassMethod M{m}(x As %Integer) As %Integer
{{
    set total=0
    for i=1:1:x {{ set total=total+(i*{m}) }}
    quit total
}}

"""


class InitBench(Bench):
    """bench_sync's Bench (environment, state directory, running and timing irisenv),
    with projects of this bench's own."""

    def write(self, suffix: str, body: str) -> tuple[Path, str]:
        name = f"{self.tag}-{suffix}"
        d = self.tmp / name
        d.mkdir(exist_ok=True)
        (d / "iris-devtester.toml").write_text(
            f'[project]\nname = "{name}"\n\n[instances.iris]\nimage = "{self.args.image}"\n'
            f'env = {{ STANDIN_BOOT_SECONDS = "0" }}\n\n{body}')
        if d not in self.projects:
            self.projects.append(d)
        return d, name

    def irisenv(self, d: Path, *args: str, check=True):
        v = self.variants[-1]
        return self.run(v.cmd + list(args), d, v.env, check=check)

    def session(self, d: Path, ns: str, script: str) -> str:
        v = self.variants[-1]
        proc = subprocess.run(v.cmd + ["exec", "--", "iris", "session", "IRIS", "-U", ns],
                              cwd=d, env=v.env, input=script + "\nhalt\n", text=True,
                              capture_output=True)
        return proc.stdout

    def container_id(self, name: str) -> str:
        return sh(["docker", "ps", "-q", "--no-trunc", "--filter",
                   f"label=io.irisenv.project={name}"])


def rows_sql(n: int) -> str:
    lines = ["CREATE TABLE Bench.Customer (id INT, name VARCHAR(50), city VARCHAR(50));"]
    lines += [f"INSERT INTO Bench.Customer (id, name, city) VALUES ({i}, 'Customer {i}', "
              f"'City {i % 97}');" for i in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def rows_gof(n: int) -> str:
    # the stand-in reads this text form for %Library.Global.Import (tests/standin/README.md);
    # real IRIS reads the %GOF block format
    return "".join(f'^BenchRow({i})="Customer {i}|City {i % 97}"\n' for i in range(1, n + 1))


def entry(kind: str, alt: str) -> str:
    return {"floor": f'{{ run = "{"1" if alt == "a" else "1+0"}" }}',
            "sql": f'"sql/{alt}.sql"', "gof": f'"data/{alt}.gof"',
            "fixture": f'{{ fixture = "fx/{alt}" }}'}[kind]


KINDS = ("floor", "sql", "gof", "fixture")
LABELS = {"floor": "floor: reset + {{ run = \"1\" }}",
          "sql": "SQL script: CREATE TABLE + {n} INSERT",
          "gof": "globals export (.gof): {n} nodes",
          "fixture": "fixture: IRIS.DAT holding {n} nodes"}


# --------------------------------------------------------------------------- sections
def sec_load(b: InitBench, runs: int) -> None:
    n = b.args.rows
    print(f"\n## load: a namespace re-initialised by `irisenv sync` ({n} rows each way)")
    print("   each sync: plan, reset (drop + create the namespace's two databases), copy the")
    print("   init's files in, apply, verify, record; `init - floor` = the init's own part.")
    print("   STAND-IN ONLY: its SQL (awk, one shell per INSERT), its global import (awk) and")
    print("   its file copy and mount are not IRIS's; real IRIS will give other ratios.")
    # the fixture: exported from a namespace that imported the same rows
    src, _ = b.write("fxsrc", '[instances.iris.namespaces.APP]\ninit = ["data/rows.gof"]\n')
    (src / "data").mkdir()
    (src / "data" / "rows.gof").write_text(rows_gof(n))
    b.irisenv(src, "sync", "--progress", "quiet", "--timeout", "60")
    b.irisenv(src, "fixture", "export", "APP", str(src / "fx"))
    manifest = json.loads((src / "fx" / "irisenv-fixture.json").read_text())
    dat = (src / "fx" / "IRIS.DAT").stat().st_size
    b.down(src)

    d, _ = b.write("load", "")
    (d / "sql").mkdir()
    (d / "data").mkdir()
    for alt in ("a", "b"):  # two copies each: alternating them changes the init every run
        (d / "sql" / f"{alt}.sql").write_text(rows_sql(n))
        (d / "data" / f"{alt}.gof").write_text(rows_gof(n))
        shutil.copytree(src / "fx", d / "fx" / alt)
    print(f"   sizes: sql {(d / 'sql' / 'a.sql').stat().st_size} B, gof "
          f"{(d / 'data' / 'a.gof').stat().st_size} B, fixture IRIS.DAT {dat} B "
          f"({len(manifest.get('globals', []))} global(s))")

    def sync(kind: str, alt: str) -> float:
        b.write("load", f"[instances.iris.namespaces.APP]\ninit = [{entry(kind, alt)}]\n")
        return b.irisenv(d, "sync", "--progress", "quiet", "--timeout", "60")[0]

    sync("floor", "b")  # the container, the namespace
    res: dict = {k: [] for k in KINDS}
    checked = set()
    for r in range(runs + 1):  # one warm-up round
        for kind in KINDS:
            wall = sync(kind, "ab"[r % 2])
            if r:
                res[kind].append(wall)
            if kind in ("gof", "fixture") and kind not in checked:
                out = b.session(d, "APP", f'write "n=",$Get(^BenchRow({n})),!')
                if f"n=Customer {n}|" not in out:
                    raise SystemExit(f"bench: the {kind} init did not bring the rows:\n{out}")
                checked.add(kind)
    b.down(d)
    floor = med(res["floor"])
    over = {k: [x - floor for x in res[k]] for k in KINDS}
    print(f"{'init (stand-in)':<46}{'sync med':>10}{'min':>7}{'- floor':>9}{'x fixture':>11}")
    fx_own = med(over["fixture"])
    for kind in KINDS:
        own = med(over[kind])
        rel = "" if kind == "floor" else f"{ratio(own, fx_own):>11}"
        print(f"{LABELS[kind].format(n=n):<46}{fmt_ms(med(res[kind])):>10}"
              f"{fmt_ms(mn(res[kind])):>7}{fmt_ms(own if kind != 'floor' else None):>9}{rel}")
    print(f"{'real IRIS: SQL script vs fixture':<46}{'not measured (no IRIS image here)':>37}")
    print(f"SQL / fixture, whole sync: {ratio(med(res['sql']), med(res['fixture']))}x; "
          f"the init's own part: {ratio(med(over['sql']), fx_own)}x")
    sys.stdout.flush()


def class_files(d: Path) -> list:
    out = []
    for ns in NAMESPACES:
        base = d / "src" / ns.lower()
        base.mkdir(parents=True)
        for k in range(FILES_PER_NS):
            methods = "".join(METHOD.format(m=m) for m in range(1, 9))
            p = base / f"C{k:03d}.cls"
            p.write_text(CLASS.format(ns=ns, k=k, methods=methods))
            out.append(p)
    return out


def exec_starts(cid: str, since: float, until: float) -> int:
    out = sh(["docker", "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
              "--filter", f"container={cid}", "--filter", "event=exec_start",
              "--format", "{{.Action}}"])
    return len([line for line in out.splitlines() if "iris session" in line])


def sec_noop(b: InitBench, runs: int) -> None:
    print(f"\n## noop: a converged project, {len(NAMESPACES)} namespaces x {FILES_PER_NS} "
          "init files, vs the same without init")
    plain, pname = b.write("plain", "".join(f"[instances.iris.namespaces.{ns}]\n"
                                            for ns in NAMESPACES))
    d, name = b.write("init", "".join(f'[instances.iris.namespaces.{ns}]\ninit = '
                                      f'["src/{ns.lower()}/"]\n' for ns in NAMESPACES))
    files = class_files(d)
    size = sum(p.stat().st_size for p in files)
    print(f"   {len(files)} .cls files, {size // 1024} KiB; the init project's first sync "
          "loads and compiles them (not timed)")
    for p in (plain, d):
        b.irisenv(p, "sync", "--progress", "quiet", "--timeout", "120")
        b.irisenv(p, "plan", "--detailed-exitcode")  # exits 2 if not converged: stops the bench
    cache = Path(b.env["IRISENV_STATE_DIR"]) / "init-hashes.json"
    v = b.variants[-1]

    def cold(cmd):  # the size/mtime cache deleted before the command
        return ["sh", "-c", 'rm -f "$0"; exec "$@"', str(cache), *cmd]

    cases = [(v.cmd + ["plan"], v.env, plain), (v.cmd + ["plan"], v.env, d),
             (cold(v.cmd + ["plan"]), v.env, d),
             (v.cmd + ["sync"], v.env, plain), (v.cmd + ["sync"], v.env, d)]
    labels = ["plan, no init", "plan, init (warm cache)", "plan, init (cache deleted)",
              "sync, no init", "sync, init (warm cache)"]
    for cmd, env, cwd in cases:  # warm-up
        b.run(cmd, cwd, env)
    res: list = [[] for _ in cases]
    for _ in range(runs):
        for i, (cmd, env, cwd) in enumerate(cases):
            res[i].append(b.run(cmd, cwd, env)[0])
    print(f"{'command':<46}{'median ms':>13}{'min':>7}{'x no init':>11}")
    for i, label in enumerate(labels):
        base = med(res[3 if label.startswith("sync") else 0])
        print(f"{label:<46}{fmt_ms(med(res[i])):>13}{fmt_ms(mn(res[i])):>7}"
              f"{ratio(med(res[i]), base):>11}")
    print(f"init adds to a no-op plan: {(med(res[1]) - med(res[0])) * 1000:.0f} ms, "
          f"to a no-op sync: {(med(res[4]) - med(res[3])) * 1000:.0f} ms (medians; the "
          "floor moves by +-10 ms between runs)")

    # IRIS sessions spent by one no-op plan (the probe's): the same with and without init
    seen = {}
    for label, p, nm in (("no init", plain, pname), ("init", d, name)):
        cid = b.container_id(nm)
        time.sleep(1.1)
        t0 = time.time()
        b.irisenv(p, "plan")
        time.sleep(1.1)
        seen[label] = exec_starts(cid, t0, time.time())
    print(f"IRIS sessions (`iris session` execs) per no-op plan: no init {seen['no init']}, "
          f"init {seen['init']}")

    # in-process: the hash check itself
    warm, coldr = [], []
    for r in range(runs + 1):
        for out, delete in ((warm, False), (coldr, True)):
            if delete:
                cache.unlink(missing_ok=True)
            proc = subprocess.run([sys.executable, "-c", HASH_CHECK], cwd=d, env=v.env,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"bench: hash check failed:\n{proc.stderr}")
            if r:
                out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print("   in-process, ms (the same files; warm: sizes and mtimes as cached)")
    print(f"{'':<46}{'warm med':>13}{'min':>7}{'cold med':>10}{'min':>7}{'cold/warm':>11}")
    for key, label in (("iris_desired", f"hash check, {len(files)} files (iris_desired)"),
                       ("applied", "applied-init manifests read")):
        w = [x[key] for x in warm]
        c = [x[key] for x in coldr]
        print(f"{label:<46}{med(w):>13.1f}{mn(w):>7.1f}{med(c):>10.1f}"
              f"{mn(c):>7.1f}{ratio(med(c), med(w)):>11}")
    # what the cache is for: one large file (a seed export at the 16 MiB limit)
    big, _ = b.write("big", '[instances.iris.namespaces.BIG]\ninit = ["data/big.gof"]\n')
    (big / "data").mkdir()
    with open(big / "data" / "big.gof", "w") as fh:
        line = '^Big(%d)="' + "x" * 90 + '"\n'
        k = 0
        while fh.tell() < 16 * 1024 * 1024 - 200:
            k += 1
            fh.write(line % k)
    old = time.time_ns() - 3600 * 10**9  # settled: a file modified in the last 2 s is re-hashed
    os.utime(big / "data" / "big.gof", ns=(old, old))
    bw, bc = [], []
    for r in range(runs + 1):
        for out, delete in ((bw, False), (bc, True)):
            if delete:
                cache.unlink(missing_ok=True)
            proc = subprocess.run([sys.executable, "-c", HASH_CHECK], cwd=big, env=v.env,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"bench: hash check failed:\n{proc.stderr}")
            if r:
                out.append(json.loads(proc.stdout.strip().splitlines()[-1])["iris_desired"])
    print(f"{'hash check, 1 file of 16 MiB':<46}{med(bw):>13.1f}{mn(bw):>7.1f}{med(bc):>10.1f}"
          f"{mn(bc):>7.1f}{ratio(med(bc), med(bw)):>11}")
    w = med([x["iris_desired"] + x["applied"] for x in warm])
    print(f"an unchanged init on the no-op path: {w:.1f} ms in-process (warm), no IRIS "
          f"session of its own: {'met' if seen['init'] == seen['no init'] else 'MISSED'} "
          "(the budget: nothing beyond the hash compare)")
    b.down(plain)
    b.down(d)
    sys.stdout.flush()


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    ap.add_argument("--quick", action="store_true", help="3 runs, 200 rows")
    ap.add_argument("--rows", type=int, default=1000, help="rows of the load section (1000)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections (default: {','.join(SECTIONS)})")
    ap.add_argument("--image", default="irisenv-standin:latest", help="the stand-in image")
    ap.add_argument("--as-is-bytecode", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE/PYTHONPYCACHEPREFIX as they are")
    ap.add_argument("--irisenv", metavar="CMD", help="how to run irisenv (default: the "
                    "console script next to this Python)")
    args = ap.parse_args()
    args.baseline = args.tree = None  # bench_sync's Bench: one tree, this checkout
    if args.quick:
        args.rows = min(args.rows, 200)
    runs = 3 if args.quick else max(args.runs, 1)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        ap.error(f"unknown sections {unknown}; choose from {','.join(SECTIONS)}")

    b = InitBench(args)
    # this checkout's irisenv, whatever is installed
    root = Path(__file__).resolve().parent.parent
    for v in b.variants:
        v.env["PYTHONPATH"] = str(root)
    b.env["PYTHONPATH"] = str(root)
    v = b.variants[-1]
    print(f"# irisenv bench_init · {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"command : {shlex.join([sys.executable] + sys.argv)}")
    print(f"machine : {os.cpu_count()} cpu(s) (nproc {sh(['nproc'])}) · {sh(['uname', '-srm'])}")
    print(f"load    : {sh(['uptime'])}")
    print(f"docker  : {sh(['docker', 'version', '--format', 'server {{.Server.Version}} (API {{.Server.APIVersion}})'])}")
    rev = sh(["git", "-C", str(root), "describe", "--always", "--dirty"])
    print(f"python  : {sys.version.split()[0]} · image {args.image} (the STAND-IN, not IRIS)")
    print(f"irisenv : {shlex.join(v.cmd)} · from {root} ({rev})")
    print(f"runs    : {runs} per measurement (interleaved, after a warm-up round)")
    return run_sections(b, args.image, runs, [globals()[f"sec_{s}"] for s in SECTIONS
                                              if s in only])


if __name__ == "__main__":
    raise SystemExit(main())
