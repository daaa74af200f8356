"""A database fixture on disk: a namespace's data database file and its manifest. Pure
(reads and writes the fixture directory only; no engine, no IRIS).

A fixture directory holds exactly::

    IRIS.DAT               the namespace's data database, copied while it was dismounted
    irisenv-fixture.json   the manifest

The manifest (JSON, format :data:`FORMAT`) says what the file is and how to check it::

    {"irisenv_fixture": 1, "iris_version": "<$ZVERSION>", "namespace": "APP",
     "database": "APP_DATA", "created": "2026-01-01T00:00:00Z", "irisenv": "0.9.0",
     "files": {"IRIS.DAT": {"size": 1048576, "sha256": "<64 hex>"}},
     "globals": ["^App.PersonD", ...]}

``verify`` checks a directory against its manifest: every file listed is there with its
size and sha256, nothing else is there, and the manifest itself is well formed. What loads
a fixture (iris/fixture.py) verifies it first. docs/cli.md, "irisenv fixture".
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IrisenvError

FORMAT = 1
MANIFEST = "irisenv-fixture.json"
DATA_FILE = "IRIS.DAT"
MANIFEST_LIMIT = 4 * 1024 * 1024  # a manifest lists globals; 4 MiB is far beyond any real one
_SHA = re.compile(r"[0-9a-f]{64}")
_FILE_NAME = re.compile(r"[A-Za-z0-9._-]+")
_VERIFY_FIX = ("export the fixture again (`irisenv fixture export NAMESPACE DIR`), or restore "
               "the directory from where it came (git, an artifact store)")


class FixtureError(IrisenvError):
    """A fixture directory that is not what its manifest says (or has no usable manifest)."""


@dataclass(frozen=True)
class Manifest:
    iris_version: str  # $ZVERSION of the instance it was exported from
    namespace: str
    database: str
    files: dict  # file name -> {"size": int, "sha256": hex}
    globals: tuple = ()  # global names ("^Name") in the database at export
    created: str = ""  # ISO 8601 UTC
    irisenv: str = ""  # the irisenv version that exported it
    format: int = FORMAT
    extra: dict = field(default_factory=dict)  # keys a later format adds, kept as they are

    def to_json(self) -> str:
        data = {"irisenv_fixture": self.format, "iris_version": self.iris_version,
                "namespace": self.namespace, "database": self.database,
                "created": self.created, "irisenv": self.irisenv,
                "files": {n: dict(v) for n, v in sorted(self.files.items())},
                "globals": list(self.globals), **self.extra}
        return json.dumps(data, indent=2) + "\n"


def file_digest(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def describe(directory: Path, *, iris_version: str, namespace: str, database: str,
             globals_: tuple, created: str, irisenv: str) -> Manifest:
    """The manifest of the data file now in ``directory``."""
    size, sha = file_digest(Path(directory) / DATA_FILE)
    return Manifest(iris_version=iris_version, namespace=namespace, database=database,
                    files={DATA_FILE: {"size": size, "sha256": sha}},
                    globals=tuple(globals_), created=created, irisenv=irisenv)


def write(directory: Path, manifest: Manifest) -> Path:
    path = Path(directory) / MANIFEST
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read(directory: Path) -> Manifest:
    """The manifest of ``directory``; FixtureError when it is missing or malformed."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise FixtureError(f"fixture {directory} does not exist or is not a directory",
                           "a fixture is a directory made by `irisenv fixture export`",
                           "check the path")
    try:
        if path.stat().st_size > MANIFEST_LIMIT:
            raise _bad(path, f"it is larger than {MANIFEST_LIMIT // (1024 * 1024)} MiB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FixtureError(f"fixture {directory} has no manifest",
                           f"{MANIFEST} is missing: without it nothing can be checked",
                           _VERIFY_FIX) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, f"it is not JSON ({exc})") from None
    except OSError as exc:
        raise _bad(path, f"it cannot be read ({exc.strerror or exc})") from None
    return parse(data, path)


def parse(data, path: Path) -> Manifest:
    """A Manifest from the manifest's JSON value; FixtureError naming what is wrong."""
    if not isinstance(data, dict):
        raise _bad(path, "it is not a JSON object")
    fmt = data.get("irisenv_fixture")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise _bad(path, '"irisenv_fixture" (the format version) is missing or not a number')
    if fmt > FORMAT:
        raise FixtureError(f"fixture manifest {path} has format {fmt}",
                           f"this irisenv reads format {FORMAT}; a newer irisenv wrote it",
                           "upgrade irisenv")
    if fmt < 1:
        raise _bad(path, f"format {fmt} is not one irisenv wrote")
    for key in ("iris_version", "namespace", "database"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise _bad(path, f'"{key}" is missing or not a non-empty string')
    files = data.get("files")
    if not isinstance(files, dict) or not files:
        raise _bad(path, '"files" is missing or empty')
    if DATA_FILE not in files:
        raise _bad(path, f'"files" does not list {DATA_FILE}')
    for name, entry in files.items():
        if not _FILE_NAME.fullmatch(name) or name in (".", "..", MANIFEST):
            raise _bad(path, f'"files" lists {name!r}, which is not a plain file name')
        if (not isinstance(entry, dict) or not isinstance(entry.get("size"), int)
                or isinstance(entry.get("size"), bool) or entry["size"] < 0
                or not isinstance(entry.get("sha256"), str)
                or not _SHA.fullmatch(entry["sha256"])):
            raise _bad(path, f'"files"["{name}"] needs "size" (a number) and "sha256" '
                       "(64 lower-case hex digits)")
    globals_ = data.get("globals", [])
    if not isinstance(globals_, list) or not all(isinstance(g, str) for g in globals_):
        raise _bad(path, '"globals" is not a list of names')
    known = {"irisenv_fixture", "iris_version", "namespace", "database", "files", "globals",
             "created", "irisenv"}
    return Manifest(iris_version=data["iris_version"], namespace=data["namespace"],
                    database=data["database"],
                    files={n: {"size": e["size"], "sha256": e["sha256"]}
                           for n, e in files.items()},
                    globals=tuple(globals_), created=str(data.get("created", "")),
                    irisenv=str(data.get("irisenv", "")), format=fmt,
                    extra={k: v for k, v in data.items() if k not in known})


def problems(directory: Path, manifest: Manifest) -> list[str]:
    """What in ``directory`` differs from ``manifest``: missing, extra, wrong size, wrong
    sha256; [] when it matches."""
    directory = Path(directory)
    found = []
    present = {p.name for p in directory.iterdir()}
    for name in sorted(set(present) - set(manifest.files) - {MANIFEST}):
        found.append(f"{name}: not listed in the manifest")
    for name, entry in sorted(manifest.files.items()):
        path = directory / name
        if name not in present:
            found.append(f"{name}: missing")
            continue
        if path.is_symlink() or not path.is_file():
            found.append(f"{name}: not a regular file")
            continue
        size = path.stat().st_size
        if size != entry["size"]:
            found.append(f"{name}: {size} bytes, the manifest says {entry['size']}")
            continue
        if file_digest(path)[1] != entry["sha256"]:
            found.append(f"{name}: sha256 differs from the manifest (the file was changed)")
    return found


def verify(directory: Path) -> Manifest:
    """The manifest of ``directory`` once every file matches it; else FixtureError listing
    every difference."""
    manifest = read(directory)
    found = problems(directory, manifest)
    if found:
        raise FixtureError(f"fixture {directory} does not match its manifest",
                           "; ".join(found), _VERIFY_FIX)
    return manifest


def _bad(path: Path, why: str) -> FixtureError:
    return FixtureError(f"fixture manifest {path} is not valid", why, _VERIFY_FIX)

