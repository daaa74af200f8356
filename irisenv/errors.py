"""One error format for everything irisenv reports: what happened, why, how to fix.

Errors carry an exit code (see docs/cli.md). Config errors also carry the file, line,
column and key path of each problem. Nothing here ever holds a password: callers pass
names and descriptions, and :func:`redact` is applied to every rendered message as a
last line of defence.
"""
from __future__ import annotations

# Exit codes (documented in docs/cli.md and tested in tests/cli).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes present
EXIT_NOT_READY = 3
EXIT_USAGE = 64  # bad command line (argparse); distinct from the plan's 2
EXIT_INTERRUPTED = 130

_SECRETS: set[str] = set()
# A token is a run of word characters (letters of any script, digits, "_") and "%": IRIS
# names carry a leading % (%SYS, %All), so "%SYS" is one token and not the password "SYS".
_TOKEN_CHAR = r"[\w%]"


def register_secret(value: str | None) -> None:
    """Remember a secret so that no rendered message can ever contain it.

    Every non-empty value is registered, however short: :func:`redact` matches token-wise,
    so even a one-letter password "a" is masked where it stands alone ("user a", ":a@")
    and nowhere else ("abc", "data"). The price: an ordinary word that happens to be the
    password (the article "a") is masked as well. That is accepted; never showing the
    password matters more."""
    if value:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Mask every registered secret where it stands as a token of its own.

    A token is a run of letters, digits, "_" and "%" (see _TOKEN_CHAR), so the default
    password "SYS" is masked in "password SYS", ":SYS@", "'SYS'" or "SYS" alone, while
    "_SYSTEM", "SYSTEM" and the namespace "%SYS" stay readable. Where the secret's own
    edge is not a token character ("!pw!"), that edge needs no boundary: "x!pw!y" is
    masked too. Longer secrets are masked first, so none leaves a tail of another."""
    if not _SECRETS or not text:
        return text
    import re

    token_char = re.compile(_TOKEN_CHAR)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            head = f"(?<!{_TOKEN_CHAR})" if token_char.fullmatch(secret[0]) else ""
            tail = f"(?!{_TOKEN_CHAR})" if token_char.fullmatch(secret[-1]) else ""
            text = re.sub(head + re.escape(secret) + tail, "********", text)
    return text


def _render(lines: list, why: str, fix: str) -> str:
    """The one error format: the what-lines, then why and how to fix; secrets masked."""
    if why:
        lines.append(f"  why: {why}")
    if fix:
        lines.append(f"  fix: {fix}")
    return redact("\n".join(lines))


class IrisenvError(Exception):
    """Base error: ``what`` happened, ``why``, and ``fix`` (how to fix it)."""

    exit_code = EXIT_ERROR

    def __init__(self, what: str, why: str = "", fix: str = "", *, exit_code: int | None = None):
        super().__init__(what)
        self.what = what
        self.why = why
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self) -> str:
        return _render([f"error: {self.what}"], self.why, self.fix)

    def __str__(self) -> str:
        # the whole error, as the CLI prints it: pytest's `E` line, nox, logging and a
        # user's print(exc) show str(), and must not lose the why and the fix
        return self.render()

    def to_dict(self) -> dict:
        return {"error": redact(self.what), "why": redact(self.why), "fix": redact(self.fix),
                "exit_code": self.exit_code}


class ConfigIssue:
    """One problem in a config file, located as precisely as we can.

    A plain class, not a dataclass: this module is imported by `irisenv --help`, and
    dataclasses (with inspect) would cost ~10 ms there."""

    __slots__ = ("key", "what", "why", "fix", "file", "line", "column", "source_line")

    def __init__(self, key: str, what: str, why: str = "", fix: str = "", file: str | None = None,
                 line: int | None = None, column: int | None = None,
                 source_line: str | None = None):
        self.key = key  # dotted key path, e.g. "instances.iris.memory" ("" for the whole file)
        self.what = what
        self.why = why
        self.fix = fix
        self.file = file
        self.line = line
        self.column = column
        self.source_line = source_line  # the offending line of the file, for a caret display

    def __repr__(self) -> str:
        return f"ConfigIssue({self.location()}: {self.key}: {redact(self.what)})"

    def __eq__(self, other) -> bool:
        return isinstance(other, ConfigIssue) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def location(self) -> str:
        parts = [self.file or "<config>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def render(self) -> str:
        head = f"error: {self.location()}: "
        head += f"{self.key}: {self.what}" if self.key else self.what
        lines = [head]
        if self.source_line is not None and self.line is not None:
            num = str(self.line)
            lines.append(f"  {num} | {self.source_line.rstrip()}")
            if self.column:
                lines.append(f"  {' ' * len(num)} | {' ' * (self.column - 1)}^")
        return _render(lines, self.why, self.fix)

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "key": self.key,
                "error": redact(self.what), "why": redact(self.why), "fix": redact(self.fix)}


class ConfigError(IrisenvError):
    """The config file (or its absence, or a value in it) is at fault."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        first = issues[0]
        super().__init__(first.what, first.why, first.fix)

    def render(self) -> str:
        body = "\n".join(issue.render() for issue in self.issues)
        if len(self.issues) > 1:
            body += f"\n{len(self.issues)} problems in the config."
        return body

    def to_dict(self) -> dict:
        return {"error": "invalid config", "exit_code": self.exit_code,
                "issues": [i.to_dict() for i in self.issues]}


def combine(errors: dict) -> IrisenvError:
    """One error for the errors of several instances ({instance: IrisenvError}): the only
    one as it is; config errors as one ConfigError; else the first's kind, naming each,
    with the highest exit code (a readiness timeout's 3 beats 1)."""
    errs = list(errors.values())
    if len(errs) == 1:
        return errs[0]
    if all(isinstance(e, ConfigError) for e in errs):
        return ConfigError([i for e in errs for i in e.issues])
    first = errs[0]
    return (IrisenvError if isinstance(first, ConfigError) else type(first))(
        f"{len(errs)} instances failed; first: {first.what}",
        "; ".join(f"{k}: {e.what}" for k, e in errors.items()),
        first.fix, exit_code=max(e.exit_code for e in errs))


def did_you_mean(word: str, choices) -> str:
    """'did you mean 'x'?' for the closest choices (difflib does the work), or ''."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6)
    return ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else ""


class TransientError(IrisenvError):
    """A fault worth retrying: the engine blinked, a 5xx that is not a port clash."""


class ConflictError(IrisenvError):
    """Docker said 409: the name is taken (the executor re-observes and may adopt)."""


class PortInUseError(IrisenvError):
    """Docker could not publish a host port because something else holds it. ``port`` is
    the host port when Docker's message names it (the executor tells a clash on a port
    Docker picked for an "auto" port from one on a fixed port)."""

    def __init__(self, what: str, why: str = "", fix: str = "", *, port: int | None = None):
        super().__init__(what, why, fix)
        self.port = port


class RefusedError(IrisenvError):
    """Docker refused a value irisenv took from the config (an image reference, cpus,
    memory). ``key`` names the instance key; ``value`` the refused value where the engine
    knows it (an image reference); ``instance`` the instance when a create was refused.
    The project layer turns it into a ConfigError at the key's file:line."""

    def __init__(self, key: str, what: str, why: str = "", fix: str = "", *,
                 value: str | None = None, instance: str | None = None):
        super().__init__(what, why, fix)
        self.key = key
        self.value = value
        self.instance = instance


class RegistryError(IrisenvError):
    """The registry behind an image reference did not serve it. ``reason`` says how:
    "unreachable" (no answer: the registry is down, or network, DNS, proxy or TLS stand
    between it and the engine), "missing" (no such repository or tag) or "denied"
    (authentication required, or the account may not read it)."""

    def __init__(self, reason: str, what: str, why: str = "", fix: str = ""):
        super().__init__(what, why, fix)
        self.reason = reason


class NotReadyError(IrisenvError):
    """The instance did not become ready in time."""

    exit_code = EXIT_NOT_READY
