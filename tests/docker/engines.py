"""A second Docker engine for the tests, on a host address of its own.

:class:`SecondEngine` starts another ``dockerd`` (its own --data-root, --exec-root,
--pidfile, containerd namespace and cgroup parent, its unix socket) inside a network
namespace of its own, joined to this machine by a veth pair: the engine's host is
``10.213.N.2``, this machine is ``10.213.N.1`` on that link. Its TCP listener
(``tcp://10.213.N.2:2375``, no TLS: a test link) is what the tests put in DOCKER_HOST.

Why a network namespace and not a second loopback address: a remote engine's ports are
published on *its* host, and the point of the remote-engine rules is that this machine
cannot reach that host's loopback. Inside its own namespace the engine has its own
loopback, its own docker0 bridge and its own docker-proxy listeners, exactly as another
machine would, so a port published on its 127.0.0.1 is really unreachable from here and
one published on 10.213.N.2 is reachable only through the link. What it does not separate
is the file system (the tests talk to it over TCP only; irisenv copies files in with the
engine's archive API) and the clock.

Needs root (``ip netns``, ``nsenter``, ``dockerd``). The image the tests use is loaded
into it from the main engine (``docker save | docker load``). With ``--iptables=false`` it
leaves the main engine's rules alone; published ports go through docker-proxy. It
trusts registries on 10.213.0.0/16 without TLS (``--insecure-registry``), so a test
registry on ``client_address`` serves it as a registry on another machine would.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

NET = "10.213"  # 10.213.N.0/30 per engine
START_SECONDS = 60


def _run(*cmd: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()}")
    return proc


class SecondEngine:
    """Another dockerd on its own host address (see the module's doc)."""

    def __init__(self):
        self.n: int | None = None
        self.dir: Path | None = None
        self.pid: int | None = None

    # ---------------------------------------------------------------- where
    @property
    def host(self) -> str:
        """The engine host's address (its side of the link)."""
        return f"{NET}.{self.n}.2"

    @property
    def client_address(self) -> str:
        """This machine's address on the link: what the engine reaches this machine at
        (a registry for it listens here)."""
        return f"{NET}.{self.n}.1"

    @property
    def tcp(self) -> str:
        return f"tcp://{self.host}:2375"

    @property
    def unix(self) -> str:
        return f"unix://{self.dir}/docker.sock"

    @property
    def netns(self) -> str:
        return f"irisenv-e2-{self.n}"

    def docker(self, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        """The docker CLI against this engine (over its unix socket)."""
        return _run("docker", "-H", self.unix, *args, check=check, **kw)

    # ---------------------------------------------------------------- life
    def start(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("a second Docker engine needs root (ip netns, nsenter, dockerd)")
        for tool in ("ip", "nsenter", "dockerd", "docker"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"a second Docker engine needs {tool} on PATH")
        self.dir = Path(tempfile.mkdtemp(prefix="irisenv-e2-"))  # short: a socket path
        self._claim_network()
        log = open(self.dir / "dockerd.log", "wb")
        proc = subprocess.Popen(
            ["nsenter", f"--net=/var/run/netns/{self.netns}", "dockerd",
             "--data-root", str(self.dir / "data"), "--exec-root", str(self.dir / "exec"),
             "--pidfile", str(self.dir / "docker.pid"), "-H", self.unix, "-H", self.tcp,
             "--iptables=false", "--ip-masq=false",
             # a registry for it listens on this machine's side of the link, without TLS
             "--insecure-registry", f"{NET}.0.0/16",
             "--containerd-namespace", f"irisenv-e2-{self.n}",
             "--containerd-plugins-namespace", f"irisenv-e2-{self.n}-plugins",
             "--cgroup-parent", f"/irisenv-e2-{self.n}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        self.pid = proc.pid
        end = time.monotonic() + START_SECONDS
        while time.monotonic() < end:
            if proc.poll() is not None:
                raise RuntimeError(f"the second dockerd exited {proc.returncode}: "
                                   + self.log_tail())
            if self.docker("version", "--format", "{{.Server.Version}}",
                           check=False).returncode == 0:
                return
            time.sleep(0.3)
        raise RuntimeError(f"the second dockerd did not answer within {START_SECONDS}s: "
                           + self.log_tail())

    def _claim_network(self) -> None:
        """A free 10.213.N.0/30 and a network namespace for it (``ip netns add`` fails
        for a name taken: two test workers never claim the same N)."""
        used = _run("ip", "-o", "-4", "addr", "show").stdout
        start = 20 + os.getpid() % 200
        for k in range(220):
            n = 20 + (start - 20 + k) % 220
            if f" {NET}.{n}." in used:
                continue
            if _run("ip", "netns", "add", f"irisenv-e2-{n}", check=False).returncode != 0:
                continue
            self.n = n
            break
        else:
            raise RuntimeError(f"no free {NET}.N.0/30 for a second engine")
        here, there = f"ie2h{self.n}", f"ie2n{self.n}"
        _run("ip", "link", "add", here, "type", "veth", "peer", "name", there)
        _run("ip", "link", "set", there, "netns", self.netns)
        _run("ip", "addr", "add", f"{self.client_address}/30", "dev", here)
        _run("ip", "link", "set", here, "up")
        inside = ("ip", "netns", "exec", self.netns)
        _run(*inside, "ip", "addr", "add", f"{self.host}/30", "dev", there)
        _run(*inside, "ip", "link", "set", there, "up")
        _run(*inside, "ip", "link", "set", "lo", "up")

    def load(self, image: str) -> None:
        """Copy ``image`` from the main engine into this one."""
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        try:
            self.docker("load", "-q", stdin=save.stdout)
        finally:
            save.stdout.close()
            save.wait()
        if save.returncode != 0:
            raise RuntimeError(f"docker save {image} exited {save.returncode}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.dir / "dockerd.log").read_text(errors="replace")
        except (OSError, TypeError):
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Remove its containers, stop it, remove its namespace, link and files."""
        if self.pid is not None:
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False, timeout=60)
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            end = time.monotonic() + 30
            while time.monotonic() < end and _alive(self.pid):
                time.sleep(0.2)
            if _alive(self.pid):
                os.killpg(self.pid, signal.SIGKILL)
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None
        if self.n is not None:
            _run("ip", "link", "del", f"ie2h{self.n}", check=False)
            _run("ip", "netns", "del", self.netns, check=False)
            self.n = None
        if self.dir is not None:
            for mount in reversed(_mounts_under(self.dir)):
                _run("umount", "-l", mount, check=False)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done = pid
    if done == pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path) + "/"
    with open("/proc/self/mounts") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(prefix)]


SSHD = "/usr/sbin/sshd"  # Debian's openssh-server (.ci/run installs it)


class SshServer:
    """An OpenSSH server on a :class:`SecondEngine`'s host: ``ssh://root@10.213.N.2:PORT``
    reaches a real sshd that runs ``docker system dial-stdio`` for the second engine, as
    an ssh:// engine's host would.

    Everything is its own and in a temporary directory: the host key, an sshd_config (key
    login for root only, no PAM, no password), an authorized_keys with one key made here.
    The file system is this machine's, so the docker CLI sshd runs would talk to the main
    engine's /var/run/docker.sock: ``SetEnv DOCKER_HOST=`` (sshd_config, OpenSSH >= 8.7)
    points it at the second engine's socket, as that host's own engine.

    The client side is the system's ``ssh`` with a config file of its own (``ssh -F``; ssh
    reads ~/.ssh/config from the passwd entry's home, not $HOME, so the user's is not
    read): :meth:`path_for` gives a directory holding an ``ssh`` that execs the real one
    with ``-F`` that config, to put first on PATH. The config names the key (the accepted
    one, or a stranger's sshd refuses), a known_hosts holding the server's host key, and
    no agent and no password prompts.
    """

    def __init__(self, engine: SecondEngine, port: int = 2222):
        self.engine = engine
        self.port = port
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"ssh://root@{self.engine.host}:{self.port}"

    def path_for(self, key: str = "accepted") -> str:
        """PATH with the ``ssh`` that logs in with ``key`` ("accepted", or "stranger": a
        key the server does not know) first."""
        return f"{self.dir / ('bin-' + key)}{os.pathsep}{os.environ.get('PATH', '')}"

    def start(self) -> None:
        for tool in (SSHD, shutil.which("ssh"), shutil.which("ssh-keygen")):
            if tool is None or not os.access(tool, os.X_OK):
                raise RuntimeError(f"an ssh server for the remote-engine tests needs "
                                   f"{tool or 'ssh and ssh-keygen'} (openssh-server, "
                                   "openssh-client)")
        self.dir = Path(tempfile.mkdtemp(prefix="irisenv-ssh-"))
        d = self.dir
        for key in ("host", "accepted", "stranger"):
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"irisenv-test-{key}",
                 "-f", str(d / key))
        (d / "authorized_keys").write_text((d / "accepted.pub").read_text())
        (d / "sshd_config").write_text("\n".join([
            f"Port {self.port}", f"ListenAddress {self.engine.host}",
            f"HostKey {d / 'host'}", f"PidFile {d / 'sshd.pid'}",
            f"AuthorizedKeysFile {d / 'authorized_keys'}",
            "PermitRootLogin prohibit-password", "PubkeyAuthentication yes",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "StrictModes no",  # the files are under /tmp (world-writable)
            f"SetEnv DOCKER_HOST={self.engine.unix}",
            "LogLevel VERBOSE", ""]))
        host_key = (d / "host.pub").read_text().split()
        (d / "known_hosts").write_text(
            f"[{self.engine.host}]:{self.port} {host_key[0]} {host_key[1]}\n")
        for key in ("accepted", "stranger"):
            (d / f"ssh_config-{key}").write_text("\n".join([
                "Host *", f"  IdentityFile {d / key}", "  IdentitiesOnly yes",
                "  IdentityAgent none", f"  UserKnownHostsFile {d / 'known_hosts'}",
                "  GlobalKnownHostsFile /dev/null", "  StrictHostKeyChecking yes",
                "  PasswordAuthentication no", "  KbdInteractiveAuthentication no", ""]))
            bin_dir = d / f"bin-{key}"
            bin_dir.mkdir()
            wrapper = bin_dir / "ssh"
            wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} '
                               f'-F {d / f"ssh_config-{key}"} "$@"\n')
            wrapper.chmod(0o755)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        _run(SSHD, "-t", "-f", str(d / "sshd_config"))  # the config is valid
        log = open(d / "sshd.log", "wb")
        self.proc = subprocess.Popen(
            ["nsenter", f"--net=/var/run/netns/{self.engine.netns}", SSHD, "-D", "-e",
             "-f", str(d / "sshd_config")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        end = time.monotonic() + START_SECONDS
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited {self.proc.returncode}: {self.log_tail()}")
            if self.login_works():
                return
            time.sleep(0.3)
        raise RuntimeError(f"sshd did not let the test key in within {START_SECONDS}s: "
                           + self.log_tail())

    def login_works(self) -> bool:
        proc = subprocess.run(
            ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-p", str(self.port),
             "root@" + self.engine.host, "true"],
            capture_output=True, env={**os.environ, "PATH": self.path_for("accepted")},
            stdin=subprocess.DEVNULL, timeout=30)
        return proc.returncode == 0

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.dir / "sshd.log").read_text(errors="replace")
        except (OSError, TypeError):
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
            self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
