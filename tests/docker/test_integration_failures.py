"""Expected failures inside pytest and nox are reported as irisenv's what/why/fix, without a
Python traceback; iris_connection honours its connect timeout and, once it has failed,
fails the rest of the run at once instead of waiting again per test.

Real subprocess runs of pytest and nox, with the machinery of test_integrations.py."""
from __future__ import annotations

import re
import sys

import pytest
from test_integrations import (EXAMPLES, clean_env, describe, pytest_cmd, run,  # noqa: F401
                               standin, write_suite)

TWO_TESTS = """\
    def test_one(iris_instance):
        pass


    def test_two(iris_instance):
        pass
"""

THREE_CONNECTIONS = """\
    import pytest


    @pytest.mark.parametrize("n", range(3))
    def test_select(n, iris_connection):
        pass
"""


def assert_no_traceback(out: str) -> None:
    assert "Traceback" not in out and "During handling" not in out, out
    # no source lines of irisenv or of the plugin in a pytest traceback either
    assert not re.search(r"irisenv/\S+\.py:\d+", out), out
    assert not re.search(r"(?m)^>\s", out), out  # pytest's marker of a failing source line


def licence_failing(standin) -> None:
    """The stand-in logs a licence error and never becomes ready: sync fails at once."""
    text = standin.config.read_text(encoding="utf-8")
    text = text.replace('STANDIN_BOOT_SECONDS = "1" }',
                        'STANDIN_BOOT_SECONDS = "0", STANDIN_LICENSE_ERROR = "1" }')
    assert "STANDIN_LICENSE_ERROR" in text
    standin.config.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------- pytest
def test_pytest_reports_a_config_error_without_a_traceback(tmp_path):
    suite = write_suite(tmp_path / "suite", {"test_x.py": TWO_TESTS,
                                             "bad.toml": '[project]\nname = 3\n'})
    proc = run(pytest_cmd("-q", "--irisenv-config", "bad.toml", suite), cwd=suite,
               env=clean_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, describe(proc)
    assert "bad.toml:2:8: project.name: must be a name" in out, describe(proc)
    assert "  why: " in out and "  fix: " in out, describe(proc)
    assert re.search(r"\b2 errors\b", out), describe(proc)
    assert_no_traceback(out)


def test_pytest_reports_a_failed_sync_without_a_traceback(standin, tmp_path):
    licence_failing(standin)
    suite = write_suite(tmp_path / "suite", {"test_x.py": TWO_TESTS})
    proc = run(pytest_cmd("-q", "--irisenv-config", standin.config, suite), cwd=suite,
               env=clean_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, describe(proc)
    assert "error: " in out and "licen" in out.lower(), describe(proc)
    assert "  why: " in out and "  fix: " in out, describe(proc)
    assert re.search(r"\b2 errors\b", out), describe(proc)
    assert_no_traceback(out)


@pytest.mark.parametrize("how", ["option", "ini"])
def test_iris_connection_times_out_as_told_and_then_fails_fast(standin, tmp_path, how):
    """The stand-in's superserver port accepts TCP but speaks no IRIS protocol: a connect
    never succeeds. The first test waits the configured 2 s; the other two fail at once
    with the same message (no 60 s per test)."""
    import iris.dbapi  # noqa: F401  (intersystems-irispython: in the test extra, never skipped)
    files = {"test_x.py": THREE_CONNECTIONS}
    args = ["-q", "-p", "no:randomly", "--irisenv-config", standin.config]
    if how == "ini":
        files["tox.ini"] = "[pytest]\nirisenv_connect_timeout = 2s\n"
    else:
        args += ["--irisenv-connect-timeout", "2"]
    suite = write_suite(tmp_path / "suite", files)
    if how == "ini":
        (suite / "pytest.ini").unlink()  # the settings live in tox.ini's [pytest] then
    proc = run(pytest_cmd(*args, suite), cwd=suite, env=clean_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, describe(proc)
    assert re.search(r"\b3 errors\b", out), describe(proc)
    # one report per test (pytest's short summary may repeat them; count the sections)
    sections = out.split("short test summary info")[0].split("ERROR at setup of")[1:]
    assert len(sections) == 3, describe(proc)
    assert all("error: could not connect to instance iris" in s for s in sections), describe(proc)
    assert "within 2s" in sections[0], describe(proc)  # the timeout it was given, said
    assert ["not retried: iris_connection already failed" in s for s in sections] == [
        False, True, True], describe(proc)
    assert "  why: " in out and "  fix: " in out, describe(proc)
    assert_no_traceback(out)


@pytest.mark.parametrize("value", ["inf", "0", "soon"])
def test_a_bad_connect_timeout_is_a_usage_error(tmp_path, value):
    suite = write_suite(tmp_path / "suite", {"test_x.py": "def test_a():\n    pass\n"})
    proc = run(pytest_cmd("-q", "--irisenv-connect-timeout", value, suite), cwd=suite,
               env=clean_env())
    assert proc.returncode == 4, describe(proc)  # pytest's usage error
    assert "--irisenv-connect-timeout" in proc.stderr and "seconds" in proc.stderr, \
        describe(proc)


# ---------------------------------------------------------------------- nox
def test_nox_reports_a_failed_sync_without_a_traceback(standin, tmp_path):
    licence_failing(standin)
    env = clean_env(IRISENV_CONFIG=str(standin.config))
    proc = run([sys.executable, "-m", "nox", "-f", EXAMPLES / "noxfile.py", "--no-color",
                "--envdir", tmp_path / ".nox", "-s", "env"], cwd=tmp_path, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, describe(proc)
    assert "Session env" in out and "licen" in out.lower(), describe(proc)
    assert "  why: " in out and "  fix: " in out, describe(proc)
    assert_no_traceback(out)
