"""How plan values read: sizes as "2g", strings quoted, None as "(unset)". A leaf module:
the planner (notes) and the renderer (plan text) both format values with it."""
from __future__ import annotations

from ..config.units import format_size

_SIZES = {"memory", "globals", "routines"}


def show(value, key: str = "") -> str:
    if key in _SIZES and isinstance(value, int):
        return format_size(value)
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    return str(value)


def show_actual(v, key: str = "") -> str:
    """A value of a container-drift line: its texts ("127.0.0.1", "(not published)") bare."""
    return v if isinstance(v, str) else show(v, key)
