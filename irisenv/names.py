"""Validation of every name that reaches Docker or IRIS.

Each checker returns the normalized name or raises ValueError with a sentence that says
what is allowed. The rules are strict on purpose: a name that passes here is safe to use
as a Docker name and to pass to ObjectScript (through the environment, never interpolated).
"""
from __future__ import annotations

import re

# The patterns are also exported to the JSON schema; in Python they are applied with
# fullmatch, because re's "$" also matches before a trailing newline ("demo\n").

# Docker-safe project and instance names (compose's rule: lower case, digits, - and _).
_DOCKER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DOCKER_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
DOCKER_NAME_MAX = 40

# IRIS namespace names: a letter first, then letters, digits, - or _ (GSA_config_namespace).
# IRIS also allows a leading %, which irisenv refuses (system namespaces). IRIS names of
# namespaces and databases have 1-64 characters; irisenv's databases are <NS>_DATA and
# <NS>_CODE, so a namespace may have 64 - 5 = 59 (docs/config.md, "Names").
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
NAMESPACE_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
IRIS_NAME_MAX = 64
DATABASE_SUFFIX = "_DATA"  # and "_CODE": the same length
NAMESPACE_MAX = IRIS_NAME_MAX - len(DATABASE_SUFFIX)
RESERVED_NAMESPACES = frozenset({"%SYS", "BIN", "BROKER", "DOCUMATIC", "DOCBOOK", "%ALL"})
BUILTIN_NAMESPACES = frozenset({"USER"})  # exist in every instance; never created or dropped

# IRIS user names irisenv accepts: conservative subset of what IRIS allows.
_USERNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.@-]*$")
USERNAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.@-]*$"
USERNAME_MAX = 64

_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def docker_name(name: str, what: str = "name") -> str:
    if not isinstance(name, str) or not _DOCKER_NAME.fullmatch(name):
        raise ValueError(f"{what} {name!r} is not Docker-safe: use lower-case letters, digits, "
                         f"'-' and '_', starting with a letter or digit")
    if len(name) > DOCKER_NAME_MAX:
        raise ValueError(f"{what} {name!r} is longer than {DOCKER_NAME_MAX} characters")
    return name


def sanitize_project_name(raw: str) -> str:
    """Turn a directory name into a Docker-safe project name (as compose does)."""
    name = re.sub(r"[^a-z0-9_-]+", "-", raw.lower()).strip("-_")
    name = name[:DOCKER_NAME_MAX].strip("-_")
    return name or "irisenv"


def namespace(name: str) -> str:
    """Validate an IRIS namespace name and return it upper-cased (IRIS stores it so)."""
    if not isinstance(name, str) or not _NAMESPACE.fullmatch(name):
        raise ValueError(f"namespace {name!r} is not a valid name: start with a letter, then "
                         f"letters, digits, '-' or '_'")
    if len(name) > NAMESPACE_MAX:
        raise ValueError(f"namespace {name!r} is longer than {NAMESPACE_MAX} characters "
                         f"(its databases are named <NS>{DATABASE_SUFFIX} and <NS>_CODE, and "
                         f"IRIS limits database names to {IRIS_NAME_MAX})")
    upper = name.upper()
    if upper in RESERVED_NAMESPACES:
        raise ValueError(f"namespace {name!r} is reserved by IRIS")
    return upper


# Pool copies of a namespace (docs/pool.md): <NS>_P1 .. <NS>_P<max>, each with its own
# <NS>_P<n>_DATA database, so the template's name must leave room for the longest suffix.
POOL_MAX = 64
POOL_COPY_INFIX = "_P"


def pool_copy(template: str, number: int) -> str:
    """The name of pool copy ``number`` (1 ..) of namespace ``template``, validated."""
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= POOL_MAX:
        raise ValueError(f"pool copy number {number!r} is outside 1..{POOL_MAX}")
    return namespace(f"{namespace(template)}{POOL_COPY_INFIX}{number}")


def pool_template_max(largest: int) -> int:
    """The longest template name whose copies up to number ``largest`` are valid names."""
    return NAMESPACE_MAX - len(f"{POOL_COPY_INFIX}{largest}")


def username(name: str) -> str:
    if not isinstance(name, str) or not _USERNAME.fullmatch(name) or len(name) > USERNAME_MAX:
        raise ValueError(f"user name {name!r} is not accepted: start with a letter or '_', then "
                         f"letters, digits, '_', '.', '@' or '-', at most {USERNAME_MAX} characters")
    return name


def password(value: str) -> str:
    """Passwords may hold anything printable; they travel through the environment only."""
    if not isinstance(value, str) or not value:
        raise ValueError("the password is empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("the password contains a control character (newline, tab, NUL, ...)")
    if len(value) > 128:
        raise ValueError("the password is longer than 128 characters")
    return value


def env_key(name: str) -> str:
    if not isinstance(name, str) or not _ENV_KEY.fullmatch(name):
        raise ValueError(f"environment variable name {name!r} is not valid: letters, digits "
                         f"and '_', not starting with a digit")
    return name
