"""A real image registry for the Docker tests: the CNCF distribution registry as Debian
packages it (`apt-get install docker-registry`; `.ci/run` installs it), served on
127.0.0.1, which Docker trusts without TLS (docker's default insecure registry range is
127.0.0.0/8: https://docs.docker.com/reference/cli/dockerd/#insecure-registries).

:class:`Registry` starts one with its storage in a temporary directory (optionally behind
htpasswd authentication), pushes and builds images for it with the docker CLI, as a user
would, and stops it. A registry that cannot start is an error, never a reason to skip.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

BINARIES = ("docker-registry", "registry")  # Debian's name; upstream's
# htpasswd authentication (bcrypt, the only hash the registry accepts): user and password
# of a throwaway test account, and the password's bcrypt hash (cost 4: quick to check)
USER = "irisenv-tester"
PASSWORD = "irisenv-test"
BCRYPT = "$2b$04$3/IOTH6fCtyHkkdiQozuv.H7QNLq/Fygtv/gYUoRcP3ziGcEdNaIq"
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


class RegistryUnavailable(RuntimeError):
    pass


def binary() -> str:
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    raise RegistryUnavailable(
        "no image registry binary (docker-registry) is installed: the registry tests need "
        "one; install it with `apt-get install docker-registry` (.ci/run does)")


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def docker_cli(*args: str, input: str | None = None, config: Path | None = None,
           timeout: float = 120) -> str:
    """Run the docker CLI (with ``config`` as its --config directory); its stdout."""
    cmd = ["docker"] + (["--config", str(config)] if config else []) + list(args)
    proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n"
                             f"{proc.stderr}")
    return proc.stdout


class Registry:
    def __init__(self, root: Path, *, auth: bool = False, address: str = "127.0.0.1"):
        """``address``: where it listens (an engine must trust it without TLS: 127.0.0.1
        by default; engines.SecondEngine trusts its link's addresses)."""
        self.root = root
        self.auth = auth
        self.address = address
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    def start(self, attempts: int = 3) -> Registry:
        exe = binary()
        for attempt in range(1, attempts + 1):
            self.port = free_port(self.address)
            config = self.root / "config.yml"
            lines = ["version: 0.1", "log:", "  level: info", "storage:", "  filesystem:",
                     f"    rootdirectory: {self.root / 'data'}", "  delete:", "    enabled: true",
                     "http:", f"  addr: {self.host}", f"  secret: {uuid.uuid4().hex}"]
            if self.auth:
                (self.root / "htpasswd").write_text(f"{USER}:{BCRYPT}\n")
                lines += ["auth:", "  htpasswd:", "    realm: irisenv-test",
                          f"    path: {self.root / 'htpasswd'}"]
            config.write_text("\n".join(lines) + "\n")
            log = open(self.root / "registry.log", "ab")
            self.proc = subprocess.Popen([exe, "serve", str(config)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            if self._answers(timeout=20):
                return self
            self.stop()
            if attempt == attempts:
                raise RegistryUnavailable(f"{exe} did not answer on {self.host}; its log:\n"
                                          + self.log()[-2000:])
        raise AssertionError("unreachable")

    def _answers(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2).close()
                return True
            except urllib.error.HTTPError as exc:  # 401 behind htpasswd: it answers
                return exc.code == 401
            except OSError:
                time.sleep(0.1)
        return False

    def log(self) -> str:
        try:
            return (self.root / "registry.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    # ------------------------------------------------------------------ clients
    def docker_config(self, directory: Path) -> Path:
        """A docker CLI config directory holding this registry's test credentials (what
        `docker login` writes, without a credential helper)."""
        directory.mkdir(parents=True, exist_ok=True)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        (directory / "config.json").write_text(json.dumps({"auths": {self.host: {"auth": token}}}))
        return directory

    def repository(self, what: str = "standin") -> str:
        """A repository name no other test uses: ``HOST/irisenv-test/WHAT-<uuid8>``."""
        return f"{self.host}/irisenv-test/{what}-{uuid.uuid4().hex[:8]}"

    def push(self, image: str, ref: str, *, config: Path | None = None, keep: bool = False) -> str:
        """Push the local ``image`` as ``ref`` (docker tag + docker push); the manifest
        digest the registry now holds behind it. The local tag ``ref`` is removed again
        unless ``keep`` (the image itself stays): the engine does not have ``ref``."""
        docker_cli("tag", image, ref)
        out = docker_cli("push", ref, config=config)
        if not keep:
            docker_cli("rmi", ref)
        m = _DIGEST.search(out)
        assert m, out
        return m.group(1)


def build(base: str, tag: str, *lines: str) -> str:
    """``docker build`` an image FROM the local ``base`` plus Dockerfile ``lines`` (no
    context), tagged ``tag``; its image ID."""
    docker_cli("build", "-q", "-t", tag, "-", input="\n".join([f"FROM {base}", *lines]) + "\n",
           timeout=300)
    return docker_cli("image", "inspect", "--format", "{{.Id}}", tag).strip()


def remove_image(image_id: str) -> None:
    """Remove an image a test built (by its ID, with every tag), ignoring one already gone."""
    subprocess.run(["docker", "rmi", "-f", image_id], capture_output=True, timeout=60)


def forget(repository: str) -> None:
    """Remove every reference to ``repository`` on the engine (its tags, and the
    ``repository@digest`` references a push or pull leaves on an image), never an image
    that has other references (the stand-in's own tag stays)."""
    out = subprocess.run(["docker", "image", "ls", "--digests", "--format",
                          "{{.Repository}} {{.Tag}} {{.Digest}}", repository],
                         capture_output=True, text=True, timeout=60).stdout
    refs = []
    for line in out.splitlines():
        repo, tag, digest = (line.split() + ["", "", ""])[:3]
        refs += [f"{repo}:{tag}"] if tag not in ("", "<none>") else []
        refs += [f"{repo}@{digest}"] if digest not in ("", "<none>") else []
    if refs:
        subprocess.run(["docker", "rmi", *refs], capture_output=True, timeout=60)


def repository_of(ref: str) -> str:
    """``host:port/name`` of ``host:port/name:tag``."""
    head, _, last = ref.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
