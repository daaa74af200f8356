"""Command-line grammar of the verbs (no Docker needed): timeouts, the exec grammar,
usage errors naming the verb, and the docs the CLI points at."""
from __future__ import annotations

import pytest
from clirun import run  # tests/cli is on sys.path

from irisenv.cli.main import build_parser




# ------------------------------------------------------------------ --timeout
@pytest.mark.parametrize("text, seconds", [("90", 90.0), ("2.5", 2.5), ("90s", 90.0),
                                           ("2m", 120.0), ("1h", 3600.0), ("500ms", 0.5)])
def test_sync_timeout_accepts_seconds_and_durations(text, seconds):
    args = build_parser().parse_args(["sync", "--timeout", text])
    assert args.timeout == seconds


@pytest.mark.parametrize("text", ["inf", "nan", "-1", "0", "0s", "-inf", "1e400", "soon", "",
                                  "90 s", "25h", "1e9"])
def test_sync_timeout_rejects_what_is_not_a_usable_timeout(capsys, tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)  # were the value accepted, no sync in the checkout
    monkeypatch.setenv("IRISENV_CONFIG", str(tmp_path / "missing.toml"))
    code, out, err = run(capsys, "sync", f"--timeout={text}")
    assert code == 64, err
    assert "internal error" not in err and "Traceback" not in err
    assert "--timeout" in err and "seconds" in err and '"2m"' in err
    assert "usage: irisenv sync" in err  # the verb's own usage


# ------------------------------------------------------------------ usage errors
@pytest.mark.parametrize("argv, prog", [(["plan", "--bogus"], "irisenv plan"),
                                        (["sync", "extra"], "irisenv sync"),
                                        (["config", "validate", "--bogus"],
                                         "irisenv config validate")])
def test_an_unknown_argument_shows_the_verbs_own_usage(capsys, argv, prog):
    code, out, err = run(capsys, *argv)
    assert code == 64
    assert err.startswith(f"usage: {prog} "), err
    assert "unrecognized arguments" in err and f"see `{prog} --help`" in err


def test_a_verb_after_an_abbreviated_config_option_gets_its_own_arguments(capsys, tmp_path,
                                                                        monkeypatch):
    """`--conf plan sync`: the config file is named plan, the verb is sync (argparse
    accepts the abbreviation), and sync's own arguments are read as sync's."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--conf", "plan", "sync", "--timeout", "soon")
    assert code == 64
    assert "usage: irisenv sync" in err and "--timeout" in err and '"2m"' in err, err
    assert "unrecognized arguments" not in err


# ------------------------------------------------------------------ the process entry
def test_the_process_entry_freezes_what_is_alive_and_an_in_process_call_leaves_gc_alone():
    """`irisenv` as a process (main() without argv) freezes the objects alive when it
    returns, so the interpreter's exit collection has nothing to traverse; main(argv), as
    tests and the Python API call it, leaves the collector's state alone."""
    import subprocess
    import sys

    code = ("import gc, sys\n"
            "from irisenv.cli.main import main\n"
            "main([])\n"
            "sys.stderr.write(f'in-process {gc.get_freeze_count()} {gc.isenabled()}\\n')\n"
            "sys.argv = ['irisenv']\n"
            "main()\n"
            "sys.stderr.write(f'entry {gc.get_freeze_count()} {gc.isenabled()}\\n')\n")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stderr.splitlines()
    assert err[0] == "in-process 0 True"
    entry, frozen, enabled = err[1].split()
    assert int(frozen) > 1000 and enabled == "True"
