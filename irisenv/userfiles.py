"""Bounded, safe reads of the files a user names: an instance's ``merge`` and
``license_key``, and the config file itself.

Such a path may name anything: a FIFO (reading it blocks until a writer comes), a device
(/dev/zero never ends), a huge file, or a file that is not what it should be
(/proc/self/environ). So:

- the path may be a symlink, but its final target must be a regular file: stat() refuses
  anything else before it is opened, and fstat() checks the opened file again, so a FIFO
  swapped in between cannot hang the read (it is opened non-blocking);
- at most :data:`LIMIT` bytes are read (1 MiB: a CPF merge file or a licence key is a few
  KB), and a larger file is refused; /proc files report size 0, so the read itself is
  bounded, not just the stat;
- every error names the config key and the path, and never quotes the file's content:
  what is wrong with a merge file is said by line number.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import IrisenvError

LIMIT = 1024 * 1024
_LIMIT_TEXT = "1 MiB"

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class UserFileError(IrisenvError):
    """A file named at config key ``key`` cannot be used. ``detail`` says what is wrong
    without the key (for a ConfigIssue, which carries the key itself)."""

    def __init__(self, key: str, path, detail: str, why: str, fix: str):
        super().__init__(f"{key}: {detail}", why, fix)
        self.key = key
        self.path = Path(path)
        self.detail = detail


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read(path, key: str, *, what: str = "file", limit: int = LIMIT) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), at most ``limit`` of
    them (LIMIT unless the caller reads bigger files, e.g. an init script).

    ``key`` names the setting in messages (``instances.iris.merge``); ``what`` names the
    file's purpose in them ("CPF merge file")."""
    path = Path(path)
    fd = None
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(key, path, st.st_mode, what)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
            | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced since the stat above
            raise _not_regular(key, path, st.st_mode, what)
        if st.st_size > limit:
            raise _too_large(key, path, what, limit)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, limit + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise _too_large(key, path, what, limit)
        return b"".join(chunks)
    except FileNotFoundError:
        raise UserFileError(key, path, f"{what} {path} does not exist",
                            "a relative path in the config is relative to the config file's "
                            "directory",
                            f"create the file, or correct {key} in the config") from None
    except PermissionError:
        raise UserFileError(key, path, f"cannot read {what} {path}: permission denied",
                            "irisenv reads the file to copy it into the container",
                            f"make it readable for this user, or point {key} at a readable "
                            "copy") from None
    except OSError as exc:
        raise UserFileError(key, path, f"cannot read {what} {path}: "
                            f"{exc.strerror or exc.__class__.__name__}",
                            "irisenv reads the file to copy it into the container",
                            f"check the path in {key}") from None
    finally:
        if fd is not None:
            os.close(fd)


def _not_regular(key: str, path: Path, mode: int, what: str) -> UserFileError:
    return UserFileError(key, path, f"{path} is {_kind(mode)}, not a regular file",
                         f"a {what} is read whole and copied into the container; a pipe or a "
                         "device could block or never end",
                         f"point {key} at a regular file (a symlink to one is fine)")


def _too_large(key: str, path: Path, what: str, limit: int = LIMIT) -> UserFileError:
    size = f"{limit // (1024 * 1024)} MiB"
    return UserFileError(key, path, f"{path} is larger than {size}",
                         f"irisenv refuses a {what} over {size}",
                         f"check that {key} names the right file")


def text(data: bytes, path, key: str, *, what: str = "file", drop_bom: bool = True) -> str:
    """``data`` as text: UTF-8 (a leading BOM is dropped, unless ``drop_bom`` is false: the
    config file's loader names a BOM as an error of its own), no NUL bytes. The error says
    which line is wrong, never what it holds."""
    path = Path(path)
    why = f"a {what} is UTF-8 text"
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise UserFileError(key, path, f"{path} is not a text file (line {line} holds a NUL "
                            "byte)", why, f"check that {key} names the right file")
    try:
        return data.decode("utf-8-sig" if drop_bom else "utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserFileError(key, path, f"{path} is not UTF-8 text (line {line})", why,
                            f"save it as UTF-8, or check that {key} names the right file") from None


# ------------------------------------------------------------------ an instance's files
def licence(inst) -> bytes | None:
    """The licence key of ``inst`` (None when it has none). A key is text, never empty;
    irisenv does not check more of its content (IRIS does, at start)."""
    if inst.license_key is None:
        return None
    key = f"instances.{inst.name}.license_key"
    data = read(inst.license_key, key, what="licence key file")
    if not data.strip():
        raise UserFileError(key, inst.license_key, f"{inst.license_key} is empty",
                            "a licence key file holds your key; IRIS will not start with an "
                            "empty one", f"copy your iris.key there, or correct {key}")
    if b"\x00" in data:
        raise UserFileError(key, inst.license_key, f"{inst.license_key} is not a text file "
                            "(it holds NUL bytes)", "a licence key file (iris.key) is text",
                            f"check that {key} names your iris.key")
    return data


def merge(inst) -> tuple[bytes, str] | None:
    """The user's CPF merge file of ``inst`` as (bytes, text), checked to be one (None
    when it has none)."""
    if inst.merge is None:
        return None
    from .iris import mergefile

    key = f"instances.{inst.name}.merge"
    what = "CPF merge file"
    data = read(inst.merge, key, what=what)
    content = text(data, inst.merge, key, what=what)
    try:
        mergefile.parse(content)
    except ValueError as exc:
        raise UserFileError(key, inst.merge, f"{inst.merge} is not a CPF merge file: {exc}",
                            "a CPF merge file has [Section] headers, then Key=Value lines "
                            "(in [Actions]: Action:Key=Value,...)",
                            f"fix {inst.merge}, or correct {key}") from None
    return data, content


def problems(inst) -> list[UserFileError]:
    """Every problem with the files ``inst`` names (for `config validate` and `doctor`)."""
    out = []
    for check in (licence, merge):
        try:
            check(inst)
        except UserFileError as exc:
            out.append(exc)
    return out
