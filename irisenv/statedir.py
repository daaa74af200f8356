"""irisenv's per-user state directory, and the one way irisenv writes its own files there.

Nothing irisenv keeps for itself lives in the user's checkout: checkouts may be read-only,
cloned twice or built in several CI directories at once, and every one of them must see
the same locks. The directory is ``$IRISENV_STATE_DIR`` if set, else the platform's
per-user state directory (platformdirs' ``user_state_dir("irisenv")``: on Linux
``$XDG_STATE_HOME/irisenv``, by default ``~/.local/state/irisenv``). Inside it:

    locks/      one lock (and its .owner file) per (Docker engine, project): irisenv/lock.py;
                ports.lock, the port registry's
    ports.json  the port registry ("auto" ports): irisenv/registry.py
    runs/       the pytest plugin's once-per-test-run sync markers: irisenv/runs.py
    pools/      the namespace pool's lease table per (Docker engine, project), and its
                lock: irisenv/leases.py

Rules for everything below the root: directories are created 0700; irisenv never follows a
symbolic link there -- a link planted at a directory or file irisenv uses is refused with
an error saying so, and files are replaced atomically (a temporary file created with
O_EXCL|O_NOFOLLOW, then renamed, which replaces a name and never writes through a link).
The root itself is whatever the user or platform names (it may be, or lie under, a link).
Nothing stored here is authoritative: the engine's labels are the state store (they carry
the ports the registry leased, too), so deleting the directory is always safe while no
irisenv runs.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .errors import IrisenvError

ENV = "IRISENV_STATE_DIR"


def root(environ=None) -> Path:
    """The state directory's path (not created)."""
    env = os.environ if environ is None else environ
    value = env.get(ENV, "").strip()
    if value:
        return Path(value).expanduser().absolute()
    from platformdirs import user_state_dir

    return Path(user_state_dir("irisenv", appauthor=False))


def directory(*parts: str) -> Path:
    """The directory ``root()/parts...``, created (0700) if missing; refuses links."""
    base = root()
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not base.is_dir():
            raise NotADirectoryError(20, "not a directory")
    except OSError as exc:
        raise IrisenvError(f"cannot create irisenv's state directory {base}",
                           f"{exc.strerror or exc}; irisenv keeps its locks there (never in "
                           "the project's checkout)",
                           f"set {ENV} to a writable directory of your own, e.g. "
                           f"{ENV}=/tmp/irisenv-state-$USER") from None
    d = base
    for part in parts:
        d = d / part
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise IrisenvError(f"cannot create {d}", exc.strerror or str(exc),
                               f"make {base} writable, or set {ENV} to a writable "
                               "directory of your own") from None
        mode = os.lstat(d).st_mode
        if stat.S_ISLNK(mode):
            raise _link_refused(d, "directory")
        if not stat.S_ISDIR(mode):
            raise IrisenvError(f"{d} is not a directory", "irisenv keeps a directory there",
                               f"remove {d}; irisenv recreates it")
    return d


def existing(*parts: str) -> Path | None:
    """``root()/parts...`` if it exists with no link below the root, else None (creates
    nothing: for readers and cleaners)."""
    d = root()
    for part in parts:
        d = d / part
        try:
            if stat.S_ISLNK(os.lstat(d).st_mode):
                return None
        except OSError:
            return None
    return d


def refuse_link(path: Path) -> None:
    """Raise if ``path`` is a symbolic link (a missing path is fine)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise _link_refused(path, "file")


def write_file(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (0600), never writing through a link: a
    link at ``path`` is refused; one planted in the race is replaced, never followed."""
    import tempfile

    refuse_link(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))  # O_NOFOLLOW
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_text(path: Path) -> str | None:
    """The file's text, or None if it is missing, unreadable or a link (never followed)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def remove_tree(path: Path) -> None:
    """Remove ``path`` and what is below it without following a link (best effort)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return
    try:
        if stat.S_ISDIR(mode):
            for entry in os.scandir(path):
                remove_tree(Path(entry.path))
            os.rmdir(path)
        else:
            os.unlink(path)  # a link is removed itself, never its target
    except OSError:
        pass


def safe_name(text: str) -> str:
    """``text`` as one file-name component (letters, digits, _ . -; at most 64)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:64]
    return "_" + name[1:] if name.startswith(".") else (name or "_")


def _link_refused(path: Path, kind: str) -> IrisenvError:
    return IrisenvError(f"refusing to use {path}: it is a symbolic link",
                        f"irisenv never follows a link in its state directory ({kind}s there "
                        "are its own; a link could make it write anywhere)",
                        f"remove the link ({path}); irisenv recreates the {kind}")
