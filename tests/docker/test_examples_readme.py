"""examples/README.md's stand-in commands, run as written (from the repository's root, with
a relative IRISENV_CONFIG that nox must resolve against the directory it was run from,
not the noxfile's directory it changes to).

The commands run in a copy of examples/ under a temporary "repository root", so that the
project gets a unique name and nothing lands in this checkout; the command lines are the
README's, unchanged."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid

from test_integrations import EXAMPLES, STANDIN_IMAGE, clean_env  # noqa: F401

from helpers import describe

BUILD = "bash tests/standin/build.sh"


def readme_standin_commands() -> list[str]:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    block = next(b for b in blocks if "IRISENV_CONFIG=examples/standin" in b)
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_standin_commands_as_written(tmp_path, client):
    commands = readme_standin_commands()
    assert commands[0] == BUILD, commands  # the image is built once for the whole suite
    commands = commands[1:]
    assert any(c.startswith("IRISENV_CONFIG=examples/") and " nox " in c for c in commands)

    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root / "examples",
                    ignore=shutil.ignore_patterns(".nox", ".irisenv", "__pycache__"))
    config = root / "examples" / "standin" / "iris-devtester.toml"
    name = f"t-readme-{uuid.uuid4().hex[:8]}"
    text = config.read_text(encoding="utf-8")
    text, n = re.subn(r'(?m)^name = "example-app-standin"$', f'name = "{name}"', text)
    assert n == 1
    config.write_text(text.replace('"irisenv-standin:latest"', f'"{STANDIN_IMAGE}"'),
                      encoding="utf-8")

    env = clean_env()
    # `nox` and `irisenv` as installed for this interpreter (the README's bare commands)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    try:
        for command in commands:
            proc = subprocess.run(["bash", "-c", command], cwd=root, env=env, text=True,
                                  capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, describe(proc)
            if " nox " in command:
                out = proc.stdout + proc.stderr
                assert re.search(r"\b2 passed, 2 deselected\b", out), describe(proc)
        labels = {"label": f"io.irisenv.project={name}"}
        assert client.containers.list(all=True, filters=labels) == []  # down removed it
    finally:
        for c in client.containers.list(all=True, filters={"label": f"io.irisenv.project={name}"}):
            c.remove(force=True)
