"""Per-call timeouts of the Docker adapter are thread-safe: the executor's threads and the
probe pool share one engine (one docker-py APIClient), so no call may change the client's
shared ``timeout`` attribute, and each call must get the timeout it asked for.

A recording stand-in for docker-py's APIClient notes the shared timeout each call saw (at
its start and at its end, with a pause between so that threads interleave) and the
timeouts each call was given. Nothing here is timed."""
from __future__ import annotations

import socket
import struct
import threading
import time

from irisenv.engine.docker import DockerEngine

CLIENT_TIMEOUT = 60


class RecordingSocket(socket.socket):
    """One end of a socketpair standing in for an exec's hijacked connection; records every
    timeout it is given."""

    def __init__(self, fileno):
        super().__init__(fileno=fileno)
        self.timeouts: list = []

    def settimeout(self, value):
        self.timeouts.append(value)
        super().settimeout(value)


class RecordingClient:
    """Just the APIClient calls the adapter makes for stop and exec."""

    def __init__(self, stop_timeout: int):
        self.timeout = CLIENT_TIMEOUT
        self.stop_timeout = stop_timeout
        self.seen: list = []  # (call, shared timeout at start, at end, what the call was given)
        self.sockets: dict = {}  # exec id -> RecordingSocket
        self.lock = threading.Lock()

    def _saw(self, call: str, given=None) -> None:
        start = self.timeout
        time.sleep(0.005)  # let other threads run meanwhile
        with self.lock:
            self.seen.append((call, start, self.timeout, given))

    def inspect_container(self, container):
        self._saw("inspect_container")
        return {"Id": container, "Config": {"StopTimeout": self.stop_timeout},
                "State": {"Status": "running", "Running": True}}

    def stop(self, container, timeout=None):
        self._saw("stop", (container, timeout))

    def exec_create(self, container, cmd, **kwargs):
        self._saw("exec_create")
        return {"Id": cmd[-1]}

    def exec_start(self, exec_id, detach=False, tty=False, stream=False, socket=False,
                   demux=False):
        self._saw("exec_start", (exec_id, {"socket": socket, "demux": demux}))
        out = f"out {exec_id}\n".encode()
        if not socket:
            return out, None
        ours, theirs = _socketpair()
        theirs.sendall(struct.pack(">BxxxL", 1, len(out)) + out)
        theirs.close()
        with self.lock:
            self.sockets[exec_id] = ours
        return ours

    def exec_inspect(self, exec_id):
        return {"ExitCode": 0}


def _socketpair():
    a, b = socket.socketpair()
    return RecordingSocket(a.detach()), b


def test_calls_with_different_timeouts_from_several_threads_keep_their_own():
    client = RecordingClient(stop_timeout=3600)
    engine = DockerEngine(client=client)
    stops = {f"c{i}": t for i, t in enumerate([5, 50, None, 7, None, 600])}
    execs = {f"x{i}": t for i, t in enumerate([1000, 2000, 3000, 4000])}
    gate = threading.Barrier(len(stops) + len(execs))
    results: dict = {}
    errors: list = []

    def stop(cid, t):
        gate.wait()
        engine.stop(cid, t)

    def run(name, t):
        gate.wait()
        results[name] = engine.exec("c" * 64, ["true", name], timeout=t)

    def guarded(fn, *args):
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(stop, c, t)) for c, t in stops.items()]
    threads += [threading.Thread(target=guarded, args=(run, x, t)) for x, t in execs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    # the shared client timeout was never touched, by any call, at any time
    assert client.timeout == CLIENT_TIMEOUT
    assert {(start, end) for _, start, end, _ in client.seen} == {(CLIENT_TIMEOUT, CLIENT_TIMEOUT)}

    # each stop passed its own grace period to Docker; None: the container's StopTimeout
    given = {g[0]: g[1] for call, _, _, g in client.seen if call == "stop"}
    assert given == {c: 3600 if t is None else t for c, t in stops.items()}

    # each exec bounded its own connection by its own timeout (and read all the output)
    assert {name: r.stdout for name, r in results.items()} == {x: f"out {x}\n" for x in execs}
    for name, t in execs.items():
        timeouts = client.sockets[name].timeouts
        assert timeouts and all(t - 500 < v <= t for v in timeouts), (name, t, timeouts)
