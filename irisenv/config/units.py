"""Strict parsing of durations ("30s", "5m", "1h", "250ms") and sizes ("512m", "2g").

Strict means: one number, one unit, lower case, no spaces, no bare numbers. A value that
does not match raises ValueError with a message that says what would be accepted.
"""
from __future__ import annotations

import re

_DURATION = re.compile(r"([0-9]+)(ms|s|m|h)")  # fullmatch; [0-9], as \d takes "１" too
_DURATION_FACTORS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
_SIZE = re.compile(r"([0-9]+)(k|m|g)")  # used with fullmatch
_SIZE_FACTORS = {"k": 1024, "m": 1024**2, "g": 1024**3}

DURATION_PATTERN = r"^[0-9]+(ms|s|m|h)$"
SIZE_PATTERN = r"^[0-9]+(k|m|g)$"


def parse_duration(text: str) -> float:
    """Return seconds. Accepts "<int><unit>" with unit ms, s, m or h."""
    m = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"{text!r} is not a duration; write a whole number and a unit: "
                         f"ms, s, m or h, e.g. \"30s\", \"5m\", \"1h\"")
    return int(m.group(1)) * _DURATION_FACTORS[m.group(2)]


MAX_TIMEOUT = 24 * 3600.0  # seconds; longer waits are a mistake (and overflow thread waits)


def parse_seconds(text: str) -> float:
    """A timeout given on a command line or in a plugin option: plain seconds ("90", "2.5")
    or a duration as in the config ("90s", "2m", "1h"); more than 0 and at most 24h."""
    seconds = None
    if isinstance(text, str):
        try:
            seconds = parse_duration(text)
        except ValueError:
            try:
                seconds = float(text) if text.strip() == text else None
            except ValueError:
                pass
    if seconds is None or not 0 < seconds <= MAX_TIMEOUT:  # nan fails both comparisons
        raise ValueError(f"{text!r} is not a usable timeout: give seconds greater than 0 "
                         f"(e.g. 90 or 2.5) or a duration such as \"90s\", \"2m\" or \"1h\", "
                         f"at most 24h")
    return seconds


def parse_size(text: str) -> int:
    """Return bytes. Accepts "<int><unit>" with unit k, m or g (binary multiples)."""
    m = _SIZE.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"{text!r} is not a size; write a whole number and a unit: "
                         f"k, m or g (binary), e.g. \"512m\", \"2g\"")
    return int(m.group(1)) * _SIZE_FACTORS[m.group(2)]


def format_duration(seconds: float) -> str:
    if seconds and seconds < 1:
        return f"{round(seconds * 1000)}ms"
    s = int(seconds)
    for unit, factor in (("h", 3600), ("m", 60)):
        if s and s % factor == 0:
            return f"{s // factor}{unit}"
    return f"{s}s"


def format_size(nbytes: int) -> str:
    for unit, factor in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if nbytes and nbytes % factor == 0:
            return f"{nbytes // factor}{unit}"
    return f"{nbytes // 1024}k"
