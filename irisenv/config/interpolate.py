"""${VAR} and ${VAR:-default} interpolation of string values; $$ is a literal $."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.S)


def interpolate(text: str, environ) -> tuple[str, list[str]]:
    """Return (value, where each reference's text came from).

    The second item, for `config show --origin`, says per reference "via $NAME" when the
    variable's value was used, or "default of ${NAME:-...} ($NAME unset)" (or "empty") when
    the default was; the default itself is never repeated (it may be a password).
    Raises ValueError (with a fix-it sentence) for an unset variable without a default or
    a malformed reference.
    """
    used: list[str] = []

    def repl(m: re.Match) -> str:
        token = m.group(0)
        if token == "$$":
            return "$"
        if m.group(1) is None:
            raise ValueError("'${' is not closed; write ${NAME} or ${NAME:-default} (or $$ for a literal $)")
        ref = _NAME.fullmatch(m.group(1))
        if not ref:
            raise ValueError(f"'${{{m.group(1)}}}' is not a variable reference; write ${{NAME}} or "
                             f"${{NAME:-default}} (or $$ for a literal $)")
        name, default = ref.group(1), ref.group(2)
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise ValueError(f"environment variable {name} is not set; set it, or give a "
                                 f"default: ${{{name}:-value}}")
            state = "unset" if value is None else "empty"
            used.append(f"default of ${{{name}:-...}} (${name} {state})")
            return default
        used.append(f"via ${name}")
        return value

    if "$" not in text:
        return text, used
    return _TOKEN.sub(repl, text), used
