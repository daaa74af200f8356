"""The one ObjectScript runner (docs/learnings/objectscript.md).

A script is a list of statements, one per line. Each runs inside a one-line try/catch that
prints IRISENV-ERR and terminates the session with exit code 2 on any error; after the last
statement a unique sentinel is printed. Success means exit code 0 AND the sentinel seen:
`iris session` exits 0 on syntax errors, so the code alone proves nothing.

Values (names, passwords) never enter the script text: they travel in the exec
environment and statements read them with $System.Util.GetEnviron("IRISENV_...").
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from ..errors import IrisenvError

ERR_TAG = "IRISENV-ERR:"
VAL_TAG = "IRISENV-VAL:"
SENTINEL_PREFIX = "IRISENV-OK-"
_CATCH = ('catch ex { write "' + ERR_TAG + '",ex.DisplayString(),! '
          "do ##class(%SYSTEM.Process).Terminate(,2) }")
_ENV_NAME = re.compile(r"^IRISENV_[A-Z0-9_]+$")
# Statements are produced by irisenv's own code from fixed templates, and values never enter
# them (they come from the environment, env_ref). This guard only keeps each statement on
# its one line, inside its own try/catch: a CR or LF would start a line outside it.
_FORBIDDEN = re.compile(r"[\r\n]")
# An error IRIS printed outside any try/catch, alone on its line or after a prompt:
# "<SYNTAX>", "%SYS><UNDEFINED> *x". A line with a syntax error is never compiled, so its
# try/catch never runs: IRIS prints <SYNTAX>, goes on with the next line, prints the
# sentinel and exits 0 (docs/learnings/objectscript.md). Sentinel and exit code alone
# cannot see it.
_IRIS_ERROR = re.compile(r"^(?:[%\w-]+>)?\s*(<[A-Z][A-Z0-9 ]*>.*)$")


def env_ref(name: str) -> str:
    """The ObjectScript expression that reads a value irisenv passed in the environment."""
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):  # "$" matches before "\n"
        raise ValueError(f"bad environment name for ObjectScript: {name!r}")
    return f'$System.Util.GetEnviron("{name}")'


# Linux caps ONE environment string ("NAME=value") at 32 pages, 128 KiB (MAX_ARG_STRLEN),
# and all of a process's arguments and environment together at ARG_MAX (a quarter of the
# stack limit: 2 MiB with the usual 8 MiB): an exec with a longer value fails. A value
# longer than ENV_PART travels in parts.
ENV_PART = 64 * 1024  # bytes of one part (UTF-8), well under MAX_ARG_STRLEN


def env_parts(value: str, limit: int = ENV_PART) -> list[str]:
    """``value`` cut into pieces of at most ``limit`` bytes in UTF-8, never inside a
    character; joined, they are ``value``."""
    data = value.encode()
    out, i = [], 0
    while i < len(data):
        j = min(i + limit, len(data))
        while j < len(data) and (data[j] & 0xC0) == 0x80:  # a continuation byte
            j -= 1
        out.append(data[i:j].decode())
        i = j
    return out or [""]


def env_long(name: str, value: str) -> tuple[dict, str]:
    """({environment}, ObjectScript expression) passing ``value`` of any length: one
    variable ``name`` when it fits in ENV_PART bytes, else ``name_P0``, ``name_P1``...
    concatenated (``_``) by the expression. The caller keeps one exec's whole environment
    under ARG_MAX."""
    parts = env_parts(value)
    if len(parts) == 1:
        return {name: value}, env_ref(name)
    names = [f"{name}_P{k}" for k in range(len(parts))]
    return dict(zip(names, parts)), "_".join(env_ref(n) for n in names)


@dataclass(frozen=True)
class Tolerant:
    """A statement whose failure is a finding, not an abort: on error the session writes
    IRISENV-VAL:<key>=? and goes on (e.g. a probe that an older IRIS may not support)."""

    statement: str
    key: str


def render(statements: list, token: str) -> str:
    lines = []
    for stmt in statements:
        text = stmt.statement if isinstance(stmt, Tolerant) else stmt
        if _FORBIDDEN.search(text):
            raise ValueError("an ObjectScript statement must be a single line")
        if isinstance(stmt, Tolerant):
            if not re.fullmatch(r"[a-z0-9_.]+", stmt.key):
                raise ValueError(f"bad value key {stmt.key!r}")
            lines.append(f'try {{ {text} }} catch ex {{ write "{VAL_TAG}{stmt.key}=?",! }}')
        else:
            lines.append(f"try {{ {text} }} {_CATCH}")
    lines.append(f'write "{SENTINEL_PREFIX}{token}",!')
    lines.append("halt")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    output: str
    values: dict  # from lines "IRISENV-VAL:key=value"
    prelude: str = ""  # what the prelude printed (run(prelude=...)), before the session


class ScriptError(IrisenvError):
    pass


PRELUDE_END = "IRISENV-PRELUDE-END-"


def run(engine, container_id: str, statements: list[str], *, env: dict | None = None,
        namespace: str = "%SYS", timeout: float = 60, what: str = "ObjectScript",
        prelude: str = "") -> RunResult:
    """Run statements in `iris session IRIS -U <namespace>`; raise ScriptError on failure.

    ``prelude``: shell text (irisenv's own, fixed) run by `sh -c` in the same exec just
    before the session, e.g. to read a file without a second exec. What it prints is
    RunResult.prelude (ScriptError.prelude), never parsed as the session's output; its
    failure does not stop the session."""
    env = dict(env or {})
    for key in env:
        env_ref(key)  # validates the name
    token = secrets.token_hex(8)
    script = render(statements, token)
    cmd = ["iris", "session", "IRIS", "-U", namespace]
    if prelude:
        cmd = ["sh", "-c", f'{prelude}\necho {PRELUDE_END}{token}\nexec "$@"', "sh", *cmd]
    res = engine.exec(container_id, cmd, stdin=script.encode(), env=env, timeout=timeout)
    said, out = _split_prelude(res.stdout, f"{PRELUDE_END}{token}") if prelude else ("", "")
    out = (out if prelude else res.stdout) + res.stderr
    values = {}
    errors = []
    for line in out.splitlines():
        line = line.strip()
        if VAL_TAG in line:
            key, _, value = line.split(VAL_TAG, 1)[1].partition("=")
            values[key] = value
        if ERR_TAG in line:
            errors.append(line.split(ERR_TAG, 1)[1].strip())
        elif VAL_TAG not in line and _IRIS_ERROR.match(line):
            errors.append(_IRIS_ERROR.match(line).group(1).strip())
    ok = res.exit_code == 0 and f"{SENTINEL_PREFIX}{token}" in out and not errors
    if not ok:
        detail = "; ".join(errors) or _last_lines(out) or f"exit code {res.exit_code}"
        exc = ScriptError(f"{what} failed in container {container_id[:12]}",
                          f"iris session exited {res.exit_code}"
                          + ("" if f"{SENTINEL_PREFIX}{token}" in out else " without the success sentinel")
                          + f": {detail}",
                          "check `irisenv logs`; if IRIS is still starting, retry with a longer --timeout")
        exc.values, exc.errors = values, errors  # what the script wrote before it failed
        exc.prelude = said
        raise exc
    return RunResult(res.exit_code, out, values, said)


def _split_prelude(stdout: str, marker: str) -> tuple[str, str]:
    """(the prelude's output, the session's) split at the marker line; without the marker
    (the shell did not get that far) all of it is the session's."""
    head, sep, tail = stdout.partition(marker + "\n")
    if not sep:
        head, sep, tail = stdout.partition(marker)
    return (head, tail) if sep else ("", stdout)


def _last_lines(text: str, n: int = 3) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-n:])
