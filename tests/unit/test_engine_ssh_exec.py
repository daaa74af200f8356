"""`exec` over an ssh:// engine. docker-py's ssh transport with use_ssh_client (what irisenv
uses) hands back, for an exec's hijacked connection, its SSHSocket: no socket at all but
the pipes of an `ssh ... docker system dial-stdio` process. So a socket's half-close and
timeout do nothing there; the adapter must close ssh's stdin to end the exec's input, end
ssh at the deadline, and not fail on closing a pipe whose ssh has already gone.

Here the real SSHSocket runs a fake `ssh` (first on PATH) that plays dial-stdio's far end:
it writes an exec's multiplexed output (8-byte frame headers). Nothing here is timed; each
exec runs in a thread so that a hang fails the test instead of stalling the run."""
from __future__ import annotations

import os
import stat
import threading

import pytest
from docker.transport.sshconn import SSHSocket  # docker-py and paramiko: in .[test]

from irisenv.engine.docker import DockerEngine
from irisenv.errors import TransientError


class _Response:
    """What docker-py keeps on the hijacked connection (sock._response): its reader is the
    ssh process's stdout, as SSHSocket.makefile() gives it to http.client."""

    def __init__(self, fp):
        self.raw = type("Raw", (), {"_fp": type("Fp", (), {"fp": fp})()})()


class SshClient:
    """Just the APIClient calls exec makes, over a real SSHSocket running the fake ssh."""

    def __init__(self):
        self.timeout = 60
        self.socks: list = []

    def exec_create(self, container, cmd, **kwargs):
        return {"Id": "x1"}

    def exec_start(self, exec_id, socket=False, **kwargs):
        sock = SSHSocket("root@engine-host")
        sock.connect()
        sock._response = _Response(sock.proc.stdout)
        self.socks.append(sock)
        return sock

    def exec_inspect(self, exec_id):
        return {"ExitCode": 0}


def fake_ssh(tmp_path, monkeypatch, script: str) -> None:
    """An `ssh` first on PATH that runs ``script`` (python) in place of dial-stdio's far
    end; ``frame(data)`` writes one stdout frame of an exec's stream."""
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    ssh = d / "ssh"
    ssh.write_text(f"#!{os.environ.get('PYTHON', '/usr/bin/env python3')}\n"
                   "import os, struct, sys, time\n"
                   "def frame(data):\n"
                   "    os.write(1, struct.pack('>BxxxL', 1, len(data)) + data)\n"
                   + script + "\n")
    ssh.chmod(ssh.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{d}{os.pathsep}{os.environ['PATH']}")


def run_exec(engine, **kwargs):
    """engine.exec in a thread: (result or exception), or "hung" when it has not ended
    well after its own timeout."""
    out: list = []

    def target():
        try:
            out.append(engine.exec("c" * 64, ["cat"], **kwargs))
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            out.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(kwargs.get("timeout", 60) + 30)
    return out[0] if out else "hung"


@pytest.fixture
def python_ssh(monkeypatch):
    import sys

    monkeypatch.setenv("PYTHON", sys.executable)


def test_an_execs_input_is_ended_over_ssh(tmp_path, monkeypatch, python_ssh):
    """`iris session` reads its statements from stdin to the end: the exec must see the end
    of its input, which over ssh is ssh's stdin closed (a socket's shutdown does nothing)."""
    fake_ssh(tmp_path, monkeypatch, "frame(b'got ' + sys.stdin.buffer.read())")
    client = SshClient()
    result = run_exec(DockerEngine(client=client), stdin=b"write 1\nhalt\n", timeout=5)
    assert not isinstance(result, (str, BaseException)), result
    assert result.stdout == "got write 1\nhalt\n"


def test_an_exec_over_ssh_keeps_its_timeout(tmp_path, monkeypatch, python_ssh):
    """A pipe takes no socket timeout: at the deadline the adapter ends the ssh process
    and says the command timed out (what it says on a socket)."""
    fake_ssh(tmp_path, monkeypatch, "frame(b'started'); time.sleep(600)")
    client = SshClient()
    result = run_exec(DockerEngine(client=client), timeout=1)
    assert isinstance(result, TransientError), result
    assert result.what == f"command cat in container {'c' * 12} timed out"
    assert client.socks[0].proc.wait(timeout=30) is not None  # ssh was ended


def test_an_exec_whose_ssh_has_gone_ends_without_a_broken_pipe(tmp_path, monkeypatch,
                                                              python_ssh):
    """dial-stdio's far end closes its input and leaves once the exec is over: closing the
    connection afterwards (docker-py writes to ssh's stdin) must not fail the exec."""
    fake_ssh(tmp_path, monkeypatch, "os.close(0); frame(b'done')")
    client = SshClient()
    result = run_exec(DockerEngine(client=client), timeout=5)
    assert not isinstance(result, (str, BaseException)), result
    assert result.stdout == "done"
