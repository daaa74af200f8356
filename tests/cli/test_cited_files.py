"""Everything the CLI tells a user to read must exist where a pip user has it: in the
installed wheel. (A pip user has no docs/ directory and no repository checkout, and the
project has no documentation URL to point at.)

Two checks: (1) no message, help text or template in the package cites a file of the
repository (docs/*.md, the example file); (2) a wheel built from this tree, installed into
a fresh virtual environment, serves what the CLI does cite: `irisenv config example`
prints the annotated reference and `config init` writes a starter that points at it."""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "irisenv"
# a path into the repository: what a pip user could not follow (public URLs are fine)
CITATION = re.compile(r"\bdocs/|\b[\w./-]+\.md\b|\.toml\.example\b")


def _user_visible_strings(path: Path):
    """String constants of a module, without docstrings (they are for developers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_message_cites_a_file_of_the_repository():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in _user_visible_strings(path):
            for m in CITATION.finditer(text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)!r}")
    for path in sorted([PACKAGE / "config" / "reference.toml"]):  # shipped text, printed as is
        for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in CITATION.finditer(text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)!r}")
    assert not found, "cited, but not in the wheel:\n" + "\n".join(found)


def _run(cmd, **kwargs):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300,
                          **kwargs)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_the_installed_wheel_serves_what_the_cli_cites(tmp_path):
    src = tmp_path / "src"  # build from a copy: pip writes build/ and *.egg-info in-tree
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".nox", ".irisenv", "build", "dist", "*.egg-info", "__pycache__", ".*cache*",
        ".hypothesis", ".benchmarks", "tests", "bench"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "whl", src])
    wheel = next((tmp_path / "whl").glob("irisenv-*.whl"))
    venv = tmp_path / "venv"  # the dependencies come from this interpreter's site-packages
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
          "--no-index", wheel])
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "IRISENV_CONFIG") and not k.startswith("PYTEST_")}
    user = tmp_path / "user-project"
    user.mkdir()

    def irisenv(*args):
        return _run([python, "-m", "irisenv", *args], cwd=user, env=env)

    where = _run([python, "-c", "import irisenv; print(irisenv.__file__)"], cwd=user, env=env)
    assert str(venv) in where.stdout, f"not the wheel's irisenv: {where.stdout}"

    helps = [irisenv("--help").stdout]
    helps += [irisenv(verb, "--help").stdout for verb in ("config", "sync", "exec")]
    example = irisenv("config", "example").stdout
    irisenv("config", "init")
    starter = (user / "iris-devtester.toml").read_text(encoding="utf-8")
    for text in (*helps, example, starter):
        assert not CITATION.search(text), text
    assert "irisenv config example" in helps[0] and "irisenv config example" in starter
    # the reference is complete and valid: it loads, and has every key the config has
    (user / "full.toml").write_text(example, encoding="utf-8")
    irisenv("-c", "full.toml", "config", "validate")
    assert "[instances.iris.monitoring]" in example and "license_key" in example
    # the monitoring watcher that sync copies into each container is package data
    watch = _run([python, "-c", "import importlib.resources as r; "
                  "print(r.files('irisenv.iris').joinpath('watch.sh').read_text())"], cwd=user, env=env)
    assert watch.stdout.startswith("#!/bin/sh\n") and "cmd_start" in watch.stdout
