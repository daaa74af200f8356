"""Helpers for the real-Docker tests of the reconciler (tests/docker/test_*.py).

Every test gets its own project directory with an iris-devtester.toml that points at the
stand-in IRIS image (tests/standin/, a test double of an IRIS container) and a unique
project name ``t-<uuid8>``. Ports stay "auto" (ephemeral) unless a test says otherwise.
Teardown removes every container and volume labelled ``io.irisenv.project=<name>`` and
every container whose name starts with ``<name>-`` (foreign look-alikes made by a test),
straight through the Docker SDK: the product's own ``down`` is under test, not trusted.

The CLI runs as a subprocess (``python -m irisenv``) in the project directory, so exit
codes, stdout and stderr are exactly what a user sees.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import docker
import docker.errors

STANDIN_IMAGE = os.environ.get("IRISENV_STANDIN_IMAGE", "irisenv-standin:latest")
STANDIN_BASE_IMAGE = "irisenv-standin-base:latest"
PROJECT_LABEL = "io.irisenv.project"
INSTANCE_LABEL = "io.irisenv.instance"
HASH_LABEL = "io.irisenv.config-hash"
MANAGED_LABEL = "io.irisenv.managed-by"


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def instance_toml(name: str, *, boot="0", env: dict | None = None, ports: dict | None = None,
                  credentials: dict | None = None, **keys) -> str:
    """One [instances.NAME] table for the stand-in image; ``keys`` are extra instance keys."""
    all_env = {"STANDIN_BOOT_SECONDS": str(boot), **(env or {})}
    lines = [f"[instances.{name}]", f"image = {_toml(STANDIN_IMAGE)}",
             'stop_timeout = "2s"', f"env = {_toml(all_env)}"]
    lines += [f"{k} = {_toml(v)}" for k, v in keys.items()]
    if ports:
        lines += ["", f"[instances.{name}.ports]"] + [f"{k} = {_toml(v)}" for k, v in ports.items()]
    if credentials:
        lines += ["", f"[instances.{name}.credentials]"]
        lines += [f"{k} = {_toml(v)}" for k, v in credentials.items()]
    return "\n".join(lines) + "\n"


class DockerProject:
    """A throwaway irisenv project: its directory, config, CLI and Docker-side state."""

    def __init__(self, path: Path, client):
        self.path = path
        self.client = client
        self.name = f"t-{uuid.uuid4().hex[:8]}"
        self.config_path = path / "iris-devtester.toml"
        self.env = dict(os.environ)

    # ---------------------------------------------------------------- config
    def write(self, *tables: str) -> None:
        """Write the config: [project] plus the given instance tables (see instance_toml)."""
        body = f'[project]\nname = "{self.name}"\n\n' + "\n".join(tables)
        self.config_path.write_text(body, encoding="utf-8")

    def configure(self, **instance_keys) -> None:
        """The common case: one instance "iris" on the stand-in image."""
        self.write(instance_toml("iris", **instance_keys))

    # ---------------------------------------------------------------- CLI
    def cli_args(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "irisenv", *args]

    def run(self, *args: str, input: str | None = None, timeout: float = 120,
            env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.cli_args(*args), cwd=self.path, capture_output=True,
                              text=True, input=input, timeout=timeout,
                              env={**self.env, **(env or {})},
                              stdin=None if input is not None else subprocess.DEVNULL)
        return proc

    def popen(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.cli_args(*args), cwd=self.path, env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kwargs)

    def ok(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run and require exit 0 (the failure message carries both streams)."""
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, describe(proc)
        return proc

    # ---------------------------------------------------------------- Docker state
    def containers(self, instance: str | None = None) -> list:
        labels = [f"{PROJECT_LABEL}={self.name}"]
        if instance is not None:
            labels.append(f"{INSTANCE_LABEL}={instance}")
        return self.client.containers.list(all=True, filters={"label": labels})

    def container(self, instance: str = "iris"):
        """The one container of ``instance`` (asserts there is exactly one)."""
        found = self.containers(instance)
        assert len(found) == 1, (f"expected one container for {instance}, found "
                                 f"{[(c.name, c.status) for c in found]}")
        return found[0]

    def volumes(self) -> list:
        return self.client.volumes.list(filters={"label": f"{PROJECT_LABEL}={self.name}"})

    def by_instance(self) -> dict:
        out: dict = {}
        for c in self.containers():
            out.setdefault(c.labels.get(INSTANCE_LABEL), []).append(c)
        return out

    def cleanup(self) -> None:
        seen = {c.id: c for c in self.containers()}
        for c in self.client.containers.list(all=True, filters={"name": f"^/{self.name}-"}):
            seen.setdefault(c.id, c)
        for c in seen.values():
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError:
                time.sleep(0.5)  # "removal already in progress": let it finish
                try:
                    c.remove(force=True)
                except docker.errors.APIError:
                    pass
        for v in self.volumes():
            for _ in range(10):
                try:
                    v.remove(force=True)
                    break
                except docker.errors.NotFound:
                    break
                except docker.errors.APIError:  # still in use by a container being removed
                    time.sleep(0.3)


def describe(proc: subprocess.CompletedProcess) -> str:
    return (f"exit {proc.returncode} for {' '.join(map(str, proc.args[3:]))}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")


def wait_for(pred, timeout: float = 15.0, step: float = 0.1, what: str = "condition"):
    end = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def qlist(container) -> str:
    code, out = container.exec_run(["iris", "qlist", "IRIS"])
    return out.decode("utf-8", "replace").strip()
