"""Running the CLI in-process for the CLI tests (tests/cli is on sys.path)."""
from __future__ import annotations

from irisenv.cli.main import main


def run(capsys, *argv) -> tuple[int, str, str]:
    """main() in-process: (exit code, stdout, stderr). Usage errors (SystemExit) give their
    code. No verb may end in a traceback or irisenv's "internal error" here."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return code, out, err
