"""Map dotted key paths of a TOML document to (line, column) positions.

tomllib, which parses the config, keeps no positions, so when a value is found wrong this
small scanner finds where it was written. It is used only on the error path and never
decides validity: tomllib has already accepted the document when this runs.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class Loc:
    line: int  # 1-based
    key_col: int  # 1-based column of the key (or of the table header's first key)
    value_col: int | None  # 1-based column of the value, None for table headers


class _Scanner:
    def __init__(self, text: str):
        self.s = text
        self.n = len(text)
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.found: dict[tuple, Loc] = {}

    def linecol(self, pos: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, pos)
        return line, pos - self.starts[line - 1] + 1

    def ws(self, i: int, newlines: bool = False) -> int:
        while i < self.n:
            ch = self.s[i]
            if ch in " \t" or (newlines and ch in "\r\n"):
                i += 1
            elif newlines and ch == "#":
                while i < self.n and self.s[i] != "\n":
                    i += 1
            else:
                break
        return i

    def string(self, i: int) -> tuple[str, int]:
        q = self.s[i]
        if self.s.startswith(q * 3, i):
            end = self.s.find(q * 3, i + 3)
            end = self.n if end < 0 else end + 3
            while end < self.n and self.s[end] == q:  # up to two extra quotes may close it
                end += 1
            return self.s[i + 3:end - 3], end
        j = i + 1
        out = []
        while j < self.n and self.s[j] != q and self.s[j] != "\n":
            if q == '"' and self.s[j] == "\\" and j + 1 < self.n:
                out.append(self.s[j:j + 2])
                j += 2
                continue
            out.append(self.s[j])
            j += 1
        raw = "".join(out)
        if q == '"':
            try:
                import json

                raw = json.loads('"' + raw + '"')
            except ValueError:
                pass
        return raw, j + 1

    def key(self, i: int) -> tuple[tuple, int]:
        parts, self.part_starts = [], []
        while True:
            i = self.ws(i)
            self.part_starts.append(i)
            if i < self.n and self.s[i] in "\"'":
                part, i = self.string(i)
            else:
                j = i
                while j < self.n and self.s[j] in _BARE:
                    j += 1
                part, i = self.s[i:j], j
            parts.append(part)
            i = self.ws(i)
            if i < self.n and self.s[i] == ".":
                i += 1
                continue
            return tuple(parts), i

    def value(self, i: int, path: tuple) -> int:
        ch = self.s[i] if i < self.n else ""
        if ch in "\"'":
            return self.string(i)[1]
        if ch == "[":  # an array: each element is found at path + ("<index>",)
            i += 1
            index = 0
            while True:
                i = self.ws(i, newlines=True)
                if i >= self.n or self.s[i] == "]":
                    return i + 1
                line, col = self.linecol(i)
                self.found.setdefault(path + (str(index),), Loc(line, col, col))
                index += 1
                i = self.value(i, path + (str(index - 1),))
                i = self.ws(i, newlines=True)
                if i < self.n and self.s[i] == ",":
                    i += 1
        if ch == "{":
            i += 1
            while True:
                i = self.ws(i)
                if i >= self.n or self.s[i] in "}\n":
                    return i + 1
                i = self.keyval(i, path)
                i = self.ws(i)
                if i < self.n and self.s[i] == ",":
                    i += 1
        while i < self.n and self.s[i] not in ",]}#\n":
            i += 1
        return i

    def keyval(self, i: int, table: tuple) -> int:
        kstart = i
        parts, i = self.key(i)
        starts = self.part_starts
        i = self.ws(i)
        if i < self.n and self.s[i] == "=":
            i = self.ws(i + 1)
        line, _ = self.linecol(kstart)
        _, vcol = self.linecol(i)
        full = table + parts
        for depth in range(1, len(parts)):  # dotted keys define their parent tables too
            self.found.setdefault(table + parts[:depth],
                                  Loc(line, self.linecol(starts[depth - 1])[1], None))
        self.found.setdefault(full, Loc(line, self.linecol(starts[-1])[1], vcol))
        return self.value(i, full)

    def run(self) -> dict:
        i, table = 0, ()
        while i < self.n:
            i = self.ws(i, newlines=True)
            if i >= self.n:
                break
            if self.s[i] == "[":
                double = self.s.startswith("[[", i)
                start = i + (2 if double else 1)
                parts, j = self.key(start)
                table = parts
                # the header defines its parent tables too; each part at its own column
                for depth, pstart in enumerate(self.part_starts, 1):
                    line, col = self.linecol(pstart)
                    self.found.setdefault(parts[:depth], Loc(line, col, None))
                end = self.s.find("\n", j)
                i = self.n if end < 0 else end
            else:
                i = self.keyval(i, table)
        return self.found


def locate(text: str) -> dict:
    """Return {key-path tuple: Loc} for every table header and key in ``text``."""
    return _Scanner(text).run()


def find(locs: dict, path: tuple) -> Loc | None:
    """The position of ``path``, or of its nearest written ancestor."""
    while path:
        if path in locs:
            return locs[path]
        path = path[:-1]
    return None
