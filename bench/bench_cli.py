"""Wall time of the CLI's fast paths, side by side with a bare Python process.

Goal (docs/performance.md): `irisenv --help` and `irisenv config validate` <= 80 ms, which
means docker, rich, tenacity, tomlkit and the IRIS driver are not imported on those paths.
Prints the median and minimum over --runs runs (default 15) and the ratio of each median
to `python -c pass`. With --baseline DIR (another irisenv source tree), each irisenv
command is run for that tree ("before") and this checkout ("after") in the same run,
interleaved. No assertions: timed checks do not belong in tests.

    python bench/bench_cli.py [--runs N] [--baseline DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "irisenv" / "config" / "reference.toml"
GOAL_MS = 80.0


def measure(cases: list, cwd: str, runs: int) -> list[list[float]]:
    """cases: (cmd, env); each once per round (after a warm-up round), rounds repeated."""
    for cmd, env in cases:
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(runs):
        for i, (cmd, env) in enumerate(cases):
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            times[i].append((time.perf_counter() - start) * 1000)
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="runs per command (at least 10)")
    ap.add_argument("--baseline", metavar="DIR",
                    help="another irisenv source tree to measure side by side (\"before\")")
    args = ap.parse_args()
    runs = max(args.runs, 10)

    # the console script next to this Python (a pyenv shim on PATH adds ~60 ms of shell)
    script = Path(sys.executable).with_name("irisenv")
    script = str(script) if script.exists() else shutil.which("irisenv")
    irisenv = [script] if script else [sys.executable, "-m", "irisenv"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRISENV_")}
    # As an installed wheel: bytecode cached (this workplace sets PYTHONDONTWRITEBYTECODE=1,
    # which would recompile irisenv's modules on every run); cached outside the checkout.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "irisenv-bench-pycache")
    trees = [("", env)]
    if args.baseline:
        trees = [(" (before)", {**env, "PYTHONPATH": str(Path(args.baseline).resolve())}),
                 (" (after)", {**env, "PYTHONPATH": str(ROOT)})]
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="irisenv-bench-") as tmp:
        shutil.copy(EXAMPLE, Path(tmp) / "iris-devtester.toml")
        cases = [("python -c pass", [py, "-c", "pass"], env, None),
                 ("python -c 'import docker'", [py, "-c", "import docker"], env, None)]
        for suffix, tree_env in trees:
            cases += [
                ("irisenv --help" + suffix, irisenv + ["--help"], tree_env, GOAL_MS),
                ("irisenv config validate" + suffix, irisenv + ["config", "validate"], tree_env,
                 GOAL_MS),
                ("irisenv config show" + suffix, irisenv + ["config", "show"], tree_env, None),
            ]
        times = measure([(cmd, e) for _, cmd, e, _ in cases], tmp, runs)
        results = [(label, t, goal) for (label, _, _, goal), t in zip(cases, times)]

    floor = statistics.median(results[0][1])
    print(f"python {sys.version.split()[0]} · {runs} runs each · irisenv = {' '.join(irisenv)} · "
          f"load {os.getloadavg()[0]:.2f} · pyc cached under {env['PYTHONPYCACHEPREFIX']}")
    print(f"{'command':<36}{'median ms':>10}{'min ms':>9}{'x floor':>9}  goal")
    for label, times, goal in results:
        med = statistics.median(times)
        verdict = "" if goal is None else f"<= {goal:.0f} ms: {'met' if med <= goal else 'MISSED'}"
        print(f"{label:<36}{med:>10.1f}{min(times):>9.1f}{med / floor:>9.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
