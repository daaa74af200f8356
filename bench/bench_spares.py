"""Warm spares against the stand-in IRIS image, side by side (docs/spares.md,
docs/performance.md).

  fresh    `irisenv sync` under reuse = "never" (a fresh instance each time), boot delay
           --boot s: without spares (each sync boots one) vs spares = 1 with a ready spare
           (between rounds the next spare is let boot: not timed); wall time of the CLI
                                                             goal: with a spare <= 1 s
  swap     the promotion's own cost, from the sync's progress events: "promote" ->
           "promoted" (remove the old container, rename the spare, attach it to the
           network, which publishes its ports), and "promoted" -> the sync's end (the
           readiness ladder on a booted IRIS and phase two)
  memory   a ready spare's resident memory: `docker stats` (the container's cgroup), next
           to the instance's (the stand-in is a shell script: nothing about real IRIS)
  forward  what a user-space forwarder on the stable port (the design not chosen) would
           add: round trips of 100 bytes to a local echo server, direct vs through a
           minimal thread-per-connection forwarder, and a connect each

Medians and minimums over --runs runs; nothing is asserted (timings depend on the machine
and its load). Real IRIS's boot (20-60 s) cannot be measured here: no IRIS image.

    IRISENV_STANDIN_IMAGE=irisenv-standin:latest python bench/bench_spares.py \
        [--runs N] [--boot 10] [--only fresh,memory,forward]

Needs a Docker engine and the stand-in image. Works in a temporary directory with unique
project names, and removes what it created.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = os.environ.get("IRISENV_STANDIN_IMAGE", "irisenv-standin:latest")
SECTIONS = ("fresh", "memory", "forward")


class Proj:
    def __init__(self, base: Path, spares: int, boot: int):
        self.name = f"bench-spares-{uuid.uuid4().hex[:8]}"
        self.dir = base / self.name
        self.dir.mkdir(parents=True)
        (self.dir / "iris-devtester.toml").write_text(
            f'[project]\nname = "{self.name}"\n\n[instances.iris]\nimage = "{IMAGE}"\n'
            f'reuse = "never"\nspares = {spares}\nstop_timeout = "2s"\n'
            f'env = {{ STANDIN_BOOT_SECONDS = "{boot}" }}\n')

    def cli(self, *args) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        p = subprocess.run([sys.executable, "-m", "irisenv", *args], cwd=self.dir, env=env,
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise SystemExit(f"irisenv {' '.join(args)} failed:\n{p.stdout}{p.stderr}")
        return p

    def timed_sync(self) -> tuple[float, list]:
        t0 = time.perf_counter()
        p = self.cli("sync", "--progress", "json")
        wall = time.perf_counter() - t0
        events = [json.loads(line) for line in p.stderr.splitlines() if line.startswith("{")]
        return wall, events

    def spares(self) -> dict:
        doc = json.loads(self.cli("status", "--json").stdout)
        return doc["instances"][0].get("spares") or {}

    def settle(self, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.spares().get("ready", 0) >= 1:
                return
            time.sleep(0.5)
        raise SystemExit(f"{self.name}: no spare became ready in {timeout:.0f}s")

    def down(self) -> None:
        self.cli("down")


def at(events: list, kind: str) -> float | None:
    return next((e["elapsed"] for e in events if e["event"] == kind), None)


def fresh(base: Path, runs: int, boot: int) -> dict:
    out = {"without": [], "with": [], "swap": [], "after": [], "promoted": 0}
    plain, spare = Proj(base, 0, boot), Proj(base, 1, boot)
    try:
        plain.cli("sync")
        spare.cli("sync")
        for _ in range(runs):
            out["without"].append(plain.timed_sync()[0])
            spare.settle()
            wall, events = spare.timed_sync()
            out["with"].append(wall)
            if at(events, "promote") is not None:
                out["promoted"] += 1
                out["swap"].append(at(events, "promoted") - at(events, "promote"))
                out["after"].append(at(events, "summary") - at(events, "promoted"))
        spare.settle()
        out["memory"] = memory(spare)
    finally:
        plain.down()
        spare.down()
    return out


def memory(p: Proj) -> dict:
    names = subprocess.run(["docker", "ps", "--format", "{{.Names}}", "--filter",
                            f"label=io.irisenv.project={p.name}"],
                           capture_output=True, text=True, timeout=60).stdout.split()
    rows = subprocess.run(["docker", "stats", "--no-stream", "--format",
                           "{{.Name}}\t{{.MemUsage}}", *sorted(names)],
                          capture_output=True, text=True, timeout=60).stdout.splitlines()
    return dict(r.split("\t", 1) for r in rows if "\t" in r)


def echo_server() -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=pump, args=(conn, conn), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


def pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def forwarder(target: int) -> tuple[socket.socket, int]:
    """A minimal forwarder: a thread per direction per connection (what a small
    irisenv-owned proxy process would do)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", target))
            for a, b in ((conn, up), (up, conn)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


def round_trips(port: int, n: int = 2000) -> tuple[float, float]:
    """(µs per round trip of 100 bytes, µs per connect+first round trip)."""
    payload = b"x" * 100
    t0 = time.perf_counter()
    for _ in range(50):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(payload)
            s.recv(200)
    connect = (time.perf_counter() - t0) / 50 * 1e6
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        for _ in range(n):
            s.sendall(payload)
            got = 0
            while got < len(payload):
                got += len(s.recv(200))
        rt = (time.perf_counter() - t0) / n * 1e6
    return rt, connect


def forward(runs: int) -> dict:
    srv, port = echo_server()
    fwd, fport = forwarder(port)
    out = {"direct": [], "forwarded": []}
    try:
        for _ in range(runs):
            out["direct"].append(round_trips(port))
            out["forwarded"].append(round_trips(fport))
    finally:
        srv.close()
        fwd.close()
    return out


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--boot", type=int, default=10, help="stand-in boot delay, seconds")
    ap.add_argument("--only", default=",".join(SECTIONS))
    args = ap.parse_args()
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-spares-") as tmp:
        if "fresh" in only or "memory" in only:
            r = fresh(Path(tmp), args.runs, args.boot)
            print(f"fresh instance, reuse = \"never\", stand-in boot {args.boot} s"
                  f"{'':14}med s    min s")
            print(f"  without spares (boots){'':31}{med(r['without']):6.2f}   "
                  f"{min(r['without']):6.2f}")
            ok = "met" if med(r["with"]) <= 1 else "missed"
            print(f"  spares = 1, a ready spare promoted{'':19}{med(r['with']):6.2f}   "
                  f"{min(r['with']):6.2f}   goal <= 1 s: {ok}  ({r['promoted']}/{args.runs} "
                  "promoted)")
            print(f"  of which the swap (remove, rename, attach){'':11}{med(r['swap']):6.2f}   "
                  f"{min(r['swap'], default=float('nan')):6.2f}")
            print(f"  of which promoted -> ready and converged{'':13}{med(r['after']):6.2f}   "
                  f"{min(r['after'], default=float('nan')):6.2f}")
            print("memory (docker stats, the stand-in: not IRIS)")
            for name, usage in r["memory"].items():
                print(f"  {name}: {usage}")
        if "forward" in only:
            r = forward(args.runs)
            d = [x[0] for x in r["direct"]]
            f = [x[0] for x in r["forwarded"]]
            dc = [x[1] for x in r["direct"]]
            fc = [x[1] for x in r["forwarded"]]
            print(f"forwarder not chosen: 100-byte round trips{'':12}med µs   min µs")
            print(f"  direct{'':47}{med(d):6.0f}   {min(d):6.0f}")
            print(f"  through a user-space forwarder{'':23}{med(f):6.0f}   {min(f):6.0f}")
            print(f"  connect + one round trip, direct{'':21}{med(dc):6.0f}   {min(dc):6.0f}")
            print(f"  connect + one round trip, forwarded{'':18}{med(fc):6.0f}   {min(fc):6.0f}")


if __name__ == "__main__":
    main()
