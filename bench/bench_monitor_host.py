"""The host side of monitoring on the stand-in: `irisenv monitor pause|resume` wall time,
and what reading the watcher's state costs the IRIS state probe (status, plan, sync).

Goal (issue 12): pause and resume <= 500 ms. Makes a throwaway project on the stand-in
image (monitoring off in its config, so no watcher rewrites the files), writes the
watcher's files in the I12 formats into the container (as tests/docker/test_monitor.py),
then, interleaved, --runs times each:
- `irisenv monitor pause` and `irisenv monitor resume` as a user runs them (a process:
  wall time, and its CPU time, which a loaded machine inflates less), and the one exec
  each costs (monitor_host.act's own figure); no watcher runs, so resume runs resume.cos
  itself;
- the IRIS state probe with and without the shell prelude that reads the watcher's state
  (iris/probe.py), in process: the difference is what `status` pays for its MONITORING
  column.
Prints median / min / max in ms. No assertions: timed checks do not belong in tests.

    python bench/bench_monitor_host.py [--runs N] [--image irisenv-standin:latest]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MONDIR = "/home/irisowner/irisenv-monitor"
COS = ('try {{ set ^IRISENV("mon","run")="{mark}" write !,"IRISENV-MON-OK",! halt }} '
       'catch ex {{ write !,"IRISENV-ERR:",ex.DisplayString(),! halt }}\nhalt\n')


CPU: dict = {}  # command -> CPU ms (user + sys) of each run: less load-bound than wall


def cli(cwd: str, *args: str) -> float:
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "irisenv", *args], cwd=cwd,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    ms = (time.perf_counter() - t0) * 1000
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(" ".join(args), []).append(
        (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
    if proc.returncode != 0:
        raise SystemExit(f"irisenv {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return ms


def install(container: str) -> None:
    files = {"policy": "enabled=1\ninterval_s=30\nretention_s=3600\ncpu_disable=90\n"
                       "cpu_enable=85\nmemory_disable=95\nmemory_enable=90\n"
                       "spdir=/usr/irissys/mgr/irisenv-sysperf/\n",
             "state": "state=collecting reason=- cpu=12.0 mem=40.0 since=1 updated=2 pid=1\n",
             "suspend.cos": COS.format(mark="s"), "resume.cos": COS.format(mark="r")}
    script = [f"mkdir -p {MONDIR} && cd {MONDIR}", "echo 1 > watch.pid"]
    script += [f"cat > {name} <<'EOF'\n{text}EOF" for name, text in files.items()]
    subprocess.run(["docker", "exec", "-i", container, "sh", "-c", "\n".join(script)],
                   check=True)


def prelude_cost(container: str, prelude: str, n: int = 200) -> float:
    """ms per run of `sh -c '<prelude>; exec true'` minus a bare `true`, in the container."""
    def loop(body: str) -> float:
        t0 = time.perf_counter()
        subprocess.run(["docker", "exec", container, "sh", "-c",
                        f'i=0; while [ $i -lt {n} ]; do {body} >/dev/null; i=$((i+1)); done',
                        "sh", prelude + '\nexec "$@"'], check=True, capture_output=True)
        return (time.perf_counter() - t0) * 1000 / n

    return statistics.median(loop('sh -c "$1" sh /bin/true') - loop('/bin/true "$1"')
                             for _ in range(3))


def stats(name: str, ms: list) -> str:
    return (f"{name:<44} median {statistics.median(ms):7.1f}  min {min(ms):7.1f}  "
            f"max {max(ms):7.1f}  (n={len(ms)})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--image", default=os.environ.get("IRISENV_STANDIN_IMAGE",
                                                      "irisenv-standin:latest"))
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ["PYTHONPATH"] = str(ROOT)
    name = f"bench-mon-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "iris-devtester.toml").write_text(
            f'[project]\nname = "{name}"\n[instances.iris]\nimage = "{args.image}"\n'
            "[instances.iris.monitoring]\nenabled = false\n")
        try:
            cli(tmp, "sync", "--progress", "quiet")
            install(f"{name}-iris")
            from irisenv.config import load_config
            from irisenv.core.monitor_files import PROBE_PRELUDE
            from irisenv.iris import probe, runner
            from irisenv.monitor_host import act
            from irisenv.project import Project

            os.chdir(tmp)
            project = Project(load_config(None))
            cid = project.container_id("iris")
            want = project.iris_desired()["iris"]
            stmts, env = probe.probe_script(want, project.passwords()["iris"])
            times: dict = {k: [] for k in ("pause (CLI process)", "resume (CLI process)",
                                           "pause (its exec)", "resume (its exec)",
                                           "probe without the prelude", "probe with the prelude")}
            for _ in range(2):  # warm-up
                cli(tmp, "monitor", "pause", "iris")
                cli(tmp, "monitor", "resume", "iris")
            for _ in range(args.runs):
                times["pause (CLI process)"].append(cli(tmp, "monitor", "pause", "iris"))
                times["resume (CLI process)"].append(cli(tmp, "monitor", "resume", "iris"))
                times["pause (its exec)"].append(act(project, "iris", "pause")["seconds"] * 1000)
                times["resume (its exec)"].append(act(project, "iris", "resume")["seconds"]
                                                  * 1000)
                for key, prelude in (("probe without the prelude", ""),
                                     ("probe with the prelude", PROBE_PRELUDE)):
                    t0 = time.perf_counter()
                    runner.run(project.engine, cid, stmts, env=env, prelude=prelude)
                    times[key].append((time.perf_counter() - t0) * 1000)
            prelude_ms = prelude_cost(f"{name}-iris", PROBE_PRELUDE)
        finally:
            os.chdir(ROOT)
            subprocess.run([sys.executable, "-m", "irisenv", "down"], cwd=tmp,
                           capture_output=True)
    print(f"# irisenv bench_monitor_host · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
          f" · image {args.image} · load {os.getloadavg()[0]:.2f}")
    for key, ms in times.items():
        print(stats(key, ms))
    for key in ("monitor pause iris", "monitor resume iris"):
        print(stats(f"{key} (CLI process CPU, user+sys)", CPU[key]))
    added = (statistics.median(times["probe with the prelude"])
             - statistics.median(times["probe without the prelude"]))
    print(f"status: the prelude adds {added:+.1f} ms (median) to each instance's probe "
          "(an exec's noise is larger than the shell: see the next line)")
    print(f"the prelude's own cost in the container: {prelude_ms:.2f} ms per probe "
          "(a shell reading the files, then exec; 200 runs inside one exec)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
