"""A namespace's declared init: its files, its content hash, its SQL statements.

``init`` (docs/config.md) lists entries in order; a directory stands for every class or
routine file under it (.cls .mac .inc .int .xml, recursively, sorted by relative path).
The content hash covers, in order, each entry's kind, its relative path and its file's
bytes (a run entry: its expression; a fixture: the sha256 of IRIS.DAT its manifest
gives); never an mtime. It is what irisenv records in IRIS
(core/iris_record.py, the ``init`` field) and compares on every plan.

Hashing a file is skipped when its size and mtime are those of the last run: the per-user
state directory keeps ``init-hashes.json`` (path -> size, mtime_ns, sha256), so an
unchanged init costs a stat per file. The cache is only a shortcut: deleting it is safe;
when it is written, entries of files that no longer exist are dropped.
A file modified less than RACY_NS before it was hashed is not kept there (git's "racily
clean" rule): a filesystem stores mtimes in ticks (1 s on some network and FUSE mounts,
2 s on FAT), so an edit of the same size in the same tick would leave size and mtime as
they were, and a cached hash would hide the change from every later plan.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..config.kinds import CODE_EXTENSIONS, InitEntry
from ..errors import IrisenvError

LIMIT = 16 * 1024 * 1024  # one init file (a class, a script, a globals export)
CACHE_FILE = "init-hashes.json"
PENDING = "pending"  # the record's init while an init is under way, or after one failed
RACY_NS = 2 * 10**9  # a file modified this recently is hashed again on the next run


@dataclass(frozen=True)
class Item:
    """One unit of an init, in order: a code/sql/globals file, or a run expression."""

    kind: str  # code | sql | globals | run
    rel: str = ""  # relative to the config file's directory, "/" separated
    path: Path | None = None
    run: str = ""
    entry: str = ""  # the entry as written (a directory's files share it)
    sha: str = ""  # sha256 of the file's bytes

    @property
    def label(self) -> str:
        return self.rel or f"{{ run = {self.run!r} }}"


@dataclass(frozen=True)
class NamespaceInit:
    """The declared init of one namespace: its items and their content hash."""

    namespace: str
    items: tuple
    digest: str

    def files(self) -> dict:
        return {i.rel: i.sha for i in self.items if i.rel}


def _key(instance: str, namespace: str) -> str:
    return f"instances.{instance}.namespaces.{namespace}.init"


def expand(entries: tuple, instance: str, namespace: str) -> list[Item]:
    """The items of ``entries``: a code directory becomes its files (sorted by relative
    path); an empty one, or a missing file, is an error naming the config key."""
    out: list[Item] = []
    key = _key(instance, namespace)
    for e in entries:
        if e.kind == "run":
            out.append(Item("run", run=e.run, entry=e.label))
        elif e.kind == "fixture":
            if not e.path.is_dir():
                raise IrisenvError(f"{key}: fixture {e.rel} does not exist or is not a directory",
                                   "a fixture is a directory made by `irisenv fixture export`, "
                                   "relative to the config file's directory",
                                   f"export it there, or correct {key}")
            out.append(Item("fixture", e.rel, e.path, entry=e.rel))
        elif e.kind == "codedir":
            files = sorted(_walk(e.path, e.rel), key=lambda p: p[0])
            if not files:
                raise IrisenvError(
                    f"{key}: directory {e.rel} holds no class or routine file",
                    "a directory entry loads every " + " ".join(CODE_EXTENSIONS)
                    + " file under it; other files are ignored",
                    "add the files, or remove the entry")
            out.extend(Item("code", rel, path, entry=e.rel) for rel, path in files)
        else:
            if not e.path.is_file():
                raise IrisenvError(f"{key}: {e.rel} does not exist or is not a file",
                                   "init paths are relative to the config file's directory",
                                   f"create {e.rel}, or correct {key}")
            out.append(Item(e.kind, e.rel, e.path, entry=e.rel))
    return out


def _walk(base: Path, rel: str):
    for root, dirs, files in os.walk(base):
        dirs.sort()
        for name in files:
            if os.path.splitext(name)[1].lower() in CODE_EXTENSIONS:
                p = Path(root) / name
                yield (rel.rstrip("/") + "/" + p.relative_to(base).as_posix()), p


def read(item: Item, key: str) -> bytes:
    """The bytes of an item's file, bounded (userfiles' rules: a regular file, at most
    LIMIT bytes)."""
    from .. import userfiles

    return userfiles.read(item.path, key, what="init file", limit=LIMIT)


def digest_of(items) -> str:
    """The content hash over the ordered items (kind, relative path, file sha256; a run
    entry's expression): the first 32 hex digits of a sha256."""
    h = hashlib.sha256()
    for i in items:
        h.update("\0".join((i.kind, i.rel, i.sha, i.run)).encode() + b"\n")
    return h.hexdigest()[:32]


class HashCache:
    """File sha256s by absolute path, reused while size and mtime are unchanged."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict = {}
        self.changed = False
        if path is not None:
            from .. import statedir

            try:
                data = json.loads(statedir.read_text(path) or "{}")
                self.entries = data if isinstance(data, dict) else {}
            except ValueError:
                self.entries = {}

    def sha(self, item: Item, key: str) -> str:
        st = os.stat(item.path)
        known = self.entries.get(str(item.path))
        if isinstance(known, list) and known[:2] == [st.st_size, st.st_mtime_ns]:
            return known[2]
        import time

        sha = hashlib.sha256(read(item, key)).hexdigest()
        if st.st_mtime_ns < time.time_ns() - RACY_NS:
            self.entries[str(item.path)] = [st.st_size, st.st_mtime_ns, sha]
            self.changed = True
        elif self.entries.pop(str(item.path), None) is not None:
            self.changed = True  # a racily clean file: hashed again next time
        return sha

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        from .. import statedir

        # shared by every project of the user: files gone since (a removed checkout or
        # temporary project) are dropped, so the file read by every plan does not grow
        live = {p: e for p, e in self.entries.items() if os.path.isfile(p)}
        try:
            statedir.write_file(self.path, json.dumps(live, sort_keys=True))
        except (OSError, IrisenvError):
            pass  # only a shortcut: the next run hashes again


def cache() -> HashCache:
    from .. import statedir

    try:
        return HashCache(statedir.directory() / CACHE_FILE)
    except IrisenvError:
        return HashCache(None)


def declared(instance, hashes: HashCache | None = None) -> dict:
    """{namespace: NamespaceInit} for the namespaces of ``instance`` (a config Instance)
    that declare an init."""
    hashes = hashes or HashCache(None)
    out = {}
    for ns in instance.namespaces:
        if not ns.init:
            continue
        key = _key(instance.name, ns.name)
        items = [i if i.kind == "run" else Item(i.kind, i.rel, i.path, entry=i.entry,
                                                  sha=fixture_sha(i, key) if i.kind == "fixture"
                                                  else _sha(hashes, i, key))
                 for i in expand(ns.init, instance.name, ns.name)]
        out[ns.name] = NamespaceInit(ns.name, tuple(items), digest_of(items))
    return out


def fixture_sha(item: Item, key: str) -> str:
    """A fixture entry's content: the sha256 its manifest gives IRIS.DAT (the manifest is
    read, the database file is not: loading it verifies the file against the manifest, so
    a changed file is refused there)."""
    from . import fixture

    try:
        return fixture.read(item.path).files[fixture.DATA_FILE]["sha256"]
    except fixture.FixtureError as exc:
        raise IrisenvError(f"{key}: fixture {item.rel}: {exc.what}", exc.why, exc.fix) from None


def _sha(hashes: HashCache, item: Item, key: str) -> str:
    try:
        return hashes.sha(item, key)
    except FileNotFoundError:
        raise IrisenvError(f"{key}: {item.rel} does not exist", "it was listed a moment ago",
                           "run the command again") from None


APPLIED_FILE = "init-applied.json"
APPLIED_KEEP = 200  # the newest manifests kept (a digest names one set of file contents)


class Applied(dict):
    """{digest: {rel: sha}} of inits applied by this user (the state dir's), to name the
    files that changed since. Only for messages: missing or stale, a plan says less."""

    def add(self, ni: NamespaceInit) -> None:
        from .. import statedir

        self.pop(ni.digest, None)
        self[ni.digest] = ni.files()
        while len(self) > APPLIED_KEEP:
            self.pop(next(iter(self)))
        try:
            statedir.write_file(statedir.directory() / APPLIED_FILE, json.dumps(self))
        except (OSError, IrisenvError):
            pass


def applied() -> Applied:
    from .. import statedir

    try:
        path = statedir.existing()
        text = statedir.read_text(path / APPLIED_FILE) if path is not None else None
        data = json.loads(text or "{}")
    except (ValueError, IrisenvError):
        data = {}
    return Applied({k: v for k, v in data.items() if isinstance(v, dict)}
                   if isinstance(data, dict) else {})


def changed_files(old: dict, new: dict) -> list[str]:
    """The relative paths whose content differs between two {rel: sha} maps (added,
    removed or changed), in the new order then the removed ones."""
    out = [rel for rel, sha in new.items() if old.get(rel) != sha]
    return out + [rel for rel in old if rel not in new]


# ------------------------------------------------------------------ SQL scripts
def split_sql(text: str) -> list[tuple[int, str]]:
    """The statements of an SQL script as (line of the statement's start, text): split on
    ``;`` outside quotes ('...', "...") and comments (-- to the end of the line, /* */),
    and on a line holding only ``GO``. Comments are kept inside a statement's text only
    where they stand between its words; empty statements are dropped."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = None
    text = "\n" + text  # a GO on the first line is seen like any other
    line = 0
    i, n = 0, len(text)

    def flush():
        nonlocal buf, start
        stmt = "".join(buf).strip()
        if stmt:
            out.append((start or line, stmt))
        buf, start = [], None

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            # a line holding only GO ends the statement
            j = text.find("\n", i + 1)
            nxt = text[i + 1:n if j < 0 else j]
            if nxt.strip().upper() == "GO":
                flush()
                i = n if j < 0 else j
                continue
            buf.append(c)
            i += 1
            continue
        if c in "'\"":
            j = i + 1
            while j < n:
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:  # doubled quote
                        j += 2
                        continue
                    break
                j += 1
            if start is None:
                start = line
            chunk = text[i:j + 1]
            line += chunk.count("\n")
            buf.append(chunk)
            i = j + 1
            continue
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            buf.append(" ")
            i = j
            continue
        if c == ";":
            flush()
            i += 1
            continue
        if start is None and not c.isspace():
            start = line
        buf.append(c)
        i += 1
    flush()
    return out


# ------------------------------------------------------------------ tables a script creates
# An identifier: unquoted (a letter, % or _, then letters, digits, _ @ # $), or delimited
# ("...", a doubled "" inside); a name is one, or schema.name.
_IDENT = r'(?:"(?:[^"]|"")+"|[^\W\d][\w@#$]*|%[\w@#$]*)'
_NAME = rf"({_IDENT})(?:\s*\.\s*({_IDENT}))?"
_CREATE = re.compile(rf"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}", re.I)
_DROP = re.compile(rf"DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?{_NAME}(?:\s+(?:CASCADE|RESTRICT))?\s*$",
                   re.I)


@dataclass(frozen=True)
class Table:
    """A table named in a statement: ``text`` as written (quotes kept, ``schema.name``),
    ``key`` to compare names (quotes removed, upper-case: IRIS compares SQL names without
    regard to case; an unqualified name has no schema in its key)."""

    text: str
    key: tuple


def _table(m) -> Table:
    parts = [p for p in m.groups() if p is not None]

    def bare(p):
        return p[1:-1].replace('""', '"') if p.startswith('"') else p

    key = tuple(bare(p).upper() for p in parts)
    return Table(".".join(parts), key if len(key) == 2 else ("",) + key)


def created_table(sql: str) -> Table | None:
    """The table a ``CREATE TABLE [IF NOT EXISTS] name ...`` statement creates (a
    statement of split_sql: comments already out), or None for any other statement
    (a GLOBAL TEMPORARY table included)."""
    m = _CREATE.match(sql.strip())
    return _table(m) if m else None


def dropped_table(sql: str) -> Table | None:
    """The table a ``DROP TABLE [IF EXISTS] name`` statement drops, or None."""
    m = _DROP.match(sql.strip())
    return _table(m) if m else None


def tables_to_verify(statements) -> list[tuple[int, Table]]:
    """(line, table) for each table the script's CREATE TABLE statements create and no
    later DROP TABLE drops, once each, in order: the tables that must exist once the
    script ran. An unqualified name is checked unqualified: IRIS gives it the default
    schema (SQLUser unless configured) both when creating and when checking."""
    out: dict = {}
    for line, sql in statements:
        t = created_table(sql)
        if t is not None:
            out.setdefault(t.key, (line, t))
            continue
        t = dropped_table(sql)
        if t is not None:
            out.pop(t.key, None)
    return list(out.values())
