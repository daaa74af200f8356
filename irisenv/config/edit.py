"""`irisenv config set`: change one key with tomlkit, keeping every other byte as it was.

The new document is validated before anything is written; an invalid result is refused and
the file is left untouched. The write is atomic (temporary file + rename).
"""
from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

from ..errors import ConfigError, ConfigIssue, IrisenvError, did_you_mean
from . import spec


def split_key(key: str) -> list[str]:
    """Split a dotted key; "quoted.parts" may hold dots: instances.iris.env."A.B"."""
    parts, buf, quote = [], [], None
    for ch in key:
        if quote:
            if ch == quote:
                quote = None
            else:
                buf.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    if quote or any(p == "" for p in parts):
        raise IrisenvError(f"{key!r} is not a key path", "key paths are dotted names",
                           "write e.g. instances.iris.memory")
    return parts


def field_for(parts: list[str]) -> spec.Field | None:
    """The declared Field a key path names (None for env entries), or an error."""
    node: object = spec.ROOT
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(node, spec.Named):
            node = node.item  # the user-chosen name
            i += 1
            continue
        if isinstance(node, spec.Field):
            if node.kind.entries and i == len(parts) - 1:
                return None
            break
        assert isinstance(node, spec.Table)
        known = {f.name: f for f in node.fields}
        if part not in known:
            hint = did_you_mean(part, known)
            raise IrisenvError(f"unknown key {'.'.join(parts)!r}",
                               f"{'.'.join(parts[:i]) or 'the top level'} accepts: {', '.join(known)}",
                               hint or "`irisenv config example` shows every key")
        node = known[part]
        i += 1
    if isinstance(node, spec.Field) and i == len(parts):
        return node
    raise IrisenvError(f"{'.'.join(parts)!r} is not a single setting",
                       "config set changes one value", "name a key such as instances.iris.memory")


def parse_value(raw: str, f: spec.Field | None):
    """A TOML literal if it is one (4, 2.0, true, "x"), else the text as a string."""
    import tomllib

    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    if f is None:  # an env entry: text
        return value if isinstance(value, str) else raw
    return f.kind.literal(value, raw)  # e.g. a numeric password stays text


def set_value(path: Path, key: str, raw: str, *, environ=None) -> tuple[str, str]:
    """Set ``key`` to ``raw`` in the file at ``path``. Returns (old text, new text)."""
    import tomlkit

    from .load import parse_config

    parts = split_key(key)
    f = field_for(parts)
    value = parse_value(raw, f)
    old = path.read_text(encoding="utf-8")
    try:
        doc = tomlkit.parse(old)
    except Exception as exc:  # tomlkit's ParseError; the validator gives the precise message
        parse_config(old, path, environ=environ)
        raise IrisenvError(f"cannot edit {path}", str(exc), "fix the file's syntax first") from None
    node = doc
    for part in parts[:-1]:
        if part not in node:
            node[part] = tomlkit.table(is_super_table=True)
        node = node[part]
        if not hasattr(node, "__setitem__") or isinstance(node, (str, int, float, bool)):
            raise IrisenvError(f"cannot set {key!r}", f"{part!r} is a value, not a table",
                               "edit the file by hand")
    node[parts[-1]] = value
    new = tomlkit.dumps(doc)
    try:
        parse_config(new, path, environ=environ)
    except ConfigError as exc:
        issues = [ConfigIssue(i.key, i.what, i.why, i.fix + " (nothing was written)", file=i.file,
                              line=i.line, column=i.column, source_line=i.source_line)
                  for i in exc.issues]
        raise ConfigError(issues) from None
    write_atomic(path, new)
    return old, new


def write_atomic(path: Path, text: str) -> None:
    """Replace the file at ``path`` (temporary file + rename); a clear error when that
    cannot be done (a missing directory, no permission). A symbolic link at ``path`` stays a
    link: its target is the file replaced (the temporary file is made next to the target);
    a link to nothing is refused rather than followed to create a file."""
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if not target.is_file():
            raise IrisenvError(f"{path} is a symbolic link to {target}, which is not a file",
                               "irisenv edits the file a link points to, and creates none "
                               "through a link",
                               f"create {target} first, or replace the link by a file")
        path = target
    parent = path.parent
    if not parent.is_dir():
        what = "does not exist" if not os.path.lexists(parent) else "is not a directory"
        raise IrisenvError(f"cannot write {path}: directory {parent} {what}",
                           "irisenv writes into an existing directory and creates none",
                           f"create it first (mkdir -p {shlex.quote(str(parent))}), or name a "
                           "file in an existing directory")
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(parent))
    except OSError as exc:
        raise IrisenvError(f"cannot write {path}", exc.strerror or str(exc),
                           f"check that you may write to {parent}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise IrisenvError(f"cannot write {path}", exc.strerror or str(exc),
                               f"check that you may write to {path}") from None
        raise
