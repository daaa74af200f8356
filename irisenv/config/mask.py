"""Mask secret values in config text before any line of it is shown.

A config error shows the offending source line. When that line holds a password, the
password may be one irisenv refused (an integer, a control character), so it was never
registered for :func:`irisenv.errors.redact`: the masking has to work from the TOML text.
This scanner replaces the value of every secret-looking key (see :func:`is_secret_key`)
with ``********`` and leaves everything else, and every line break, where it was, so line
numbers and the caret columns before a value stay right.

It must cope with text tomllib refused (a syntax error is shown with its line too), so it
never fails and always moves forward; it decides nothing about validity.
"""
from __future__ import annotations

MASK = "********"
_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SECRET_WORDS = ("pass", "pwd", "secret", "token")


def is_secret_key(name: str) -> bool:
    """True for a key whose value is presumably secret: password and its typos (pasword,
    passwd), and env entries such as IRIS_PASSWORD, API_TOKEN, CLIENT_SECRET."""
    low = name.lower()
    if low == "pw" or any(word in low for word in _SECRET_WORDS):
        return True
    import difflib

    return difflib.SequenceMatcher(None, low, "password").ratio() >= 0.75


def mask_secret_values(text: str) -> str:
    """``text`` with the value of every secret-looking key replaced by ``********``."""
    return _Masker(text).run()


def _blank(segment: str) -> str:
    """Each non-empty line piece of ``segment`` becomes the mask; line breaks stay."""
    return "\n".join(MASK if piece else "" for piece in segment.split("\n"))


class _Masker:
    def __init__(self, text: str):
        self.s = text
        self.n = len(text)
        self.out: list[str] = []

    def copy(self, i: int, j: int) -> int:
        self.out.append(self.s[i:j])
        return j

    def ws(self, i: int, newlines: bool = False) -> int:
        j = i
        while j < self.n:
            ch = self.s[j]
            if ch in " \t\r" or (newlines and ch == "\n"):
                j += 1
            elif newlines and ch == "#":
                while j < self.n and self.s[j] != "\n":
                    j += 1
            else:
                break
        return self.copy(i, j)

    def string_end(self, i: int) -> tuple[int, int, int]:
        """(content start, content end, string end) of the string opening at ``i``;
        an unterminated string runs to the end of its line (multi-line: of the text)."""
        q = self.s[i]
        if self.s.startswith(q * 3, i):
            end = i + 3
            while end < self.n and not self.s.startswith(q * 3, end):
                end += 2 if (q == '"' and self.s[end] == "\\") else 1  # \""" is content
            if end >= self.n:
                return i + 3, self.n, self.n
            extra = 0  # up to two quotes before the closing three belong to the content
            while extra < 2 and end + 3 < self.n and self.s[end + 3] == q:
                end, extra = end + 1, extra + 1
            return i + 3, end, end + 3
        j = i + 1
        while j < self.n and self.s[j] not in (q, "\n"):
            j += 2 if (q == '"' and self.s[j] == "\\" and j + 1 < self.n
                       and self.s[j + 1] != "\n") else 1
        j = min(j, self.n)
        if j < self.n and self.s[j] == q:
            return i + 1, j, j + 1
        return i + 1, j, j

    def key(self, i: int) -> tuple[list[str], int]:
        """The parts of a (dotted, possibly quoted) key at ``i``, copied to the output."""
        parts: list[str] = []
        while True:
            i = self.ws(i)
            if i < self.n and self.s[i] in "\"'":
                start, end, stop = self.string_end(i)
                parts.append(self.s[start:end])
                i = self.copy(i, stop)
            else:
                j = i
                while j < self.n and self.s[j] in _BARE:
                    j += 1
                if j == i:
                    return parts, i
                parts.append(self.s[i:j])
                i = self.copy(i, j)
            i = self.ws(i)
            if i < self.n and self.s[i] == ".":
                i = self.copy(i, i + 1)
                continue
            return parts, i

    def keyval(self, i: int, secret: bool, inline: bool = False) -> int:
        parts, i = self.key(i)
        if not parts:
            return i
        secret = secret or any(is_secret_key(p) for p in parts)
        if i < self.n and self.s[i] == "=":
            i = self.copy(i, i + 1)
            i = self.ws(i)
        elif not secret:  # not a key/value pair: nothing more to copy here
            return i
        # a secret key without "=" ("password: x", "password x") is a mistake; mask what
        # follows it all the same
        return self.masked_value(i, inline) if secret else self.value(i)

    def value_end(self, i: int) -> int:
        """Where the value at ``i`` ends, without copying anything."""
        mark = len(self.out)
        end = self.value(i)
        del self.out[mark:]
        return end

    def masked_value(self, i: int, inline: bool) -> int:
        if i >= self.n or self.s[i] == "\n":
            return i
        if self.s[i] in "\"'":
            start, end, stop = self.string_end(i)
            self.copy(i, start)
            self.out.append(_blank(self.s[start:end]))
            return self.copy(end, stop)
        if self.s[i] in "[{":
            end = self.value_end(i)
        else:  # a bare word: to the end of the line ("#" may be part of the password)
            end = i
            while end < self.n and self.s[end] != "\n" and not (inline and self.s[end] in ",}"):
                end += 1
        body = self.s[i:end].rstrip(" \t\r")
        self.out.append(_blank(body) if body else "")
        return self.copy(i + len(body), end)

    def value(self, i: int) -> int:
        """Copy the value at ``i`` (a string, array, inline table or bare word)."""
        if i >= self.n:
            return i
        ch = self.s[i]
        if ch in "\"'":
            return self.copy(i, self.string_end(i)[2])
        if ch == "[":
            i = self.copy(i, i + 1)
            while True:
                i = self.ws(i, newlines=True)
                if i >= self.n:
                    return i
                if self.s[i] == "]":
                    return self.copy(i, i + 1)
                before = i
                i = self.value(i)
                i = self.ws(i, newlines=True)
                if i < self.n and self.s[i] == ",":
                    i = self.copy(i, i + 1)
                elif i == before:  # nothing a value can start with: step over it
                    i = self.copy(i, i + 1)
        if ch == "{":
            i = self.copy(i, i + 1)
            while True:
                i = self.ws(i)
                if i >= self.n or self.s[i] == "\n":
                    return i
                if self.s[i] == "}":
                    return self.copy(i, i + 1)
                before = i
                i = self.keyval(i, False, inline=True)
                i = self.ws(i)
                if i < self.n and self.s[i] == ",":
                    i = self.copy(i, i + 1)
                elif i == before:
                    i = self.copy(i, i + 1)
        j = i
        while j < self.n and self.s[j] not in ",]}#\n":
            j += 1
        return self.copy(i, j)

    def run(self) -> str:
        i, secret_table = 0, False
        while i < self.n:
            i = self.ws(i, newlines=True)
            if i >= self.n:
                break
            if self.s[i] == "[":
                j = i + (2 if self.s.startswith("[[", i) else 1)
                self.copy(i, j)
                parts, i = self.key(j)
                secret_table = bool(parts) and is_secret_key(parts[-1])
            else:
                i = self.keyval(i, secret_table)
            # the rest of the line: a comment, or text TOML refused, which may hold one
            # more key/value pair ("a = 1; password = x")
            while True:
                i = self.ws(i)
                if i >= self.n or self.s[i] == "\n":
                    break
                if self.s[i] == "#":
                    end = self.s.find("\n", i)
                    i = self.copy(i, self.n if end < 0 else end)
                    break
                before = i
                i = self.keyval(i, secret_table)
                if i == before:
                    i = self.copy(i, i + 1)
        return "".join(self.out)
