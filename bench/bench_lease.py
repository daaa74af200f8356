"""Latency of a pool lease: the lease table alone (no Docker, no IRIS).

Goal (docs/pool.md, docs/performance.md): a lease of a clean copy from a warm pool in at
most 50 ms at the 95th percentile. A lease is a file-locked read-modify-write of the lease
table (irisenv/leases.py); this measures it with --procs processes leasing at once from a
pool of --copies clean copies (default: as many copies as processes, a warm pool). Each
round: lease (timed), release (timed), then the reset a background resetter would do
(claim the dirty copies, mark them clean; not timed). Runs in a temporary state directory.
Prints p50, p95 and max per operation, over all processes. No assertions.

    python bench/bench_lease.py [--procs 8] [--rounds 200] [--copies N] [--hold MS]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

T = "iris/APP"
GOAL_MS = 50.0


def _rounds(rounds: int, hold: float, out) -> None:
    from irisenv import leases

    t = leases.LeaseTable(None, "bench")
    lease_ms, release_ms = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        got = t.lease(T, timeout=60)
        lease_ms.append((time.perf_counter() - start) * 1000)
        time.sleep(hold / 1000)  # the test
        start = time.perf_counter()
        t.release(got.copy)
        release_ms.append((time.perf_counter() - start) * 1000)
        for copy in t.claim_dirty():
            t.reset_done(copy, "h1")
    out.put((lease_ms, release_ms))


def pct(values: list, p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--copies", type=int, default=None, help="default: --procs")
    ap.add_argument("--hold", type=float, default=0.0,
                    help="milliseconds a copy is held (the test's own time; default 0: "
                         "processes do nothing but lease, the worst case for the lock)")
    args = ap.parse_args()
    copies = args.copies or args.procs
    with tempfile.TemporaryDirectory(prefix="irisenv-bench-lease-") as state:
        os.environ["IRISENV_STATE_DIR"] = state
        from irisenv import leases

        table = leases.LeaseTable(None, "bench")
        table.synced(T, "h1", copies,
                     {leases.copy_key(T, n): (n, "h1") for n in range(1, copies + 1)})
        for copy in table.claim_dirty():  # the copies sync saw are reset before any lease
            table.reset_done(copy, "h1")
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        procs = [ctx.Process(target=_rounds, args=(args.rounds, args.hold, out)) for _ in range(args.procs)]
        for p in procs:
            p.start()
        results = [out.get(timeout=600) for _ in procs]
        for p in procs:
            p.join()
    lease_ms = [v for r in results for v in r[0]]
    release_ms = [v for r in results for v in r[1]]
    print(f"{args.procs} processes x {args.rounds} rounds, pool of {copies} clean copies, "
          f"held {args.hold:g} ms "
          f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    for what, values in (("lease", lease_ms), ("release", release_ms)):
        print(f"  {what:8} p50 {statistics.median(values):6.2f} ms   p95 {pct(values, 95):6.2f} ms"
              f"   max {max(values):6.2f} ms   (n={len(values)})")
    print(f"  goal: lease p95 <= {GOAL_MS:g} ms: "
          f"{'met' if pct(lease_ms, 95) <= GOAL_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
