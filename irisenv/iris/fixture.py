"""Database fixtures inside IRIS: export a namespace's data database to a directory, and
load one into a namespace (docs/learnings/fixtures.md; the files: core/fixture.py).

The copy follows the documented procedure for copying a database file: dismount it
(``SYS.Database.DismountDatabase``), copy ``IRIS.DAT`` (never ``iris.lck``), mount it again
(``SYS.Database.MountDatabase``). A dismounted database is unavailable to the namespace only
for the time of one file copy inside the container; the rest of the instance runs on. (The
other documented way, ``Backup.General.ExternalFreeze``, freezes writes of the whole
instance, every database: wrong for copying one.)

Only namespaces in irisenv's record (^IRISENV, core/iris_record.py) are exported or
overwritten. Names are validated (irisenv.names) and every value (namespace, directory)
reaches ObjectScript through the exec environment (runner.env_ref).
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from .._version import __version__
from ..core import fixture as F
from ..core.desired import CONTAINER_DIR
from ..errors import IrisenvError
from ..names import namespace as check_namespace
from . import runner
from .probe import THROW, _val, read_record, record_statements, short_version
from .runner import VAL_TAG, env_ref

_DIR = re.compile(r"/[^\x00-\x1f\x7f]*")


@dataclass(frozen=True)
class Database:
    """What IRIS says of a namespace's data database."""

    version: str  # $ZVERSION
    name: str  # the namespace's Globals database
    directory: str
    globals: tuple  # global names ("^Name") in it, as ^$GLOBAL lists them


def _globals_loop() -> str:
    """Every global name of the namespace IRISENV_NS, in %SYS, through the extended
    ^$GLOBAL reference (^$|ns|GLOBAL(name); names come back with their caret)."""
    return (f'set ns={env_ref("IRISENV_NS")},g="",i=0 for {{ set g=$Order(^$|ns|GLOBAL(g)) '
            f'quit:g=""  set i=i+1 write "{VAL_TAG}glob.",i,"=",g,! }}')


def _database_statements() -> list:
    ns = env_ref("IRISENV_NS")
    return [
        _val("version", "$ZVERSION"),
        *record_statements(),
        runner.Tolerant(f"set sc=##class(Config.Namespaces).Get({ns},.p) {THROW} "
                        f'set sc=##class(Config.Databases).Get(p("Globals"),.q) {THROW} '
                        + _val("db", 'p("Globals")') + " " + _val("dir", 'q("Directory")'),
                        "db"),
        runner.Tolerant(_globals_loop(), "glob"),
    ]


def _globals(values: dict) -> tuple:
    found = sorted(((int(k.split(".", 1)[1]), v) for k, v in values.items()
                    if k.startswith("glob.") and k[5:].isdigit()))
    return tuple(v for _, v in found)


def database(engine, container_id: str, namespace: str, *, timeout: float = 60) -> Database:
    """The data database of ``namespace``, which irisenv's record must hold; IrisenvError
    otherwise."""
    ns = check_namespace(namespace)
    values = runner.run(engine, container_id, _database_statements(),
                        env={"IRISENV_NS": ns}, timeout=timeout,
                        what=f"reading namespace {ns}'s database").values
    records, _, _ = read_record(values)
    if ns not in records:
        raise IrisenvError(f"namespace {ns} is not one irisenv manages in this instance",
                           "irisenv exports and overwrites only the databases of namespaces "
                           "it made (its record, ^IRISENV in %SYS, does not list this one)",
                           f"declare it ([instances.<name>.namespaces.{ns}]) and run `irisenv "
                           "sync`, or pick another --instance")
    directory = values.get("dir", "")
    if values.get("db", "?") == "?" or not _DIR.fullmatch(directory) or ".." in directory:
        raise IrisenvError(f"namespace {ns}'s data database could not be found",
                           "Config.Namespaces / Config.Databases did not name a database "
                           f"directory for it (read: {directory or 'nothing'})",
                           "check the namespace with `irisenv session`; `irisenv sync` "
                           "re-creates a missing one")
    if values.get("glob") == "?":
        raise IrisenvError(f"the globals of namespace {ns} could not be listed",
                           "$Order(^$|ns|GLOBAL(...)) failed", "read `irisenv logs`")
    return Database(values.get("version", ""), values["db"], directory.rstrip("/") + "/",
                    _globals(values))


def _dat(db: Database) -> str:
    return db.directory + F.DATA_FILE


def _mount_statement(verb: str) -> str:
    return f"set sc=##class(SYS.Database).{verb}({env_ref('IRISENV_DIR')}) {THROW}"


def _remount_error(ns: str, db: Database, why: str) -> IrisenvError:
    return IrisenvError(
        f"DATABASE {db.name} OF NAMESPACE {ns} IS DISMOUNTED: irisenv could not mount it "
        "again", f"SYS.Database.MountDatabase failed: {why}",
        f"the namespace cannot read or write its data until it is mounted. In `irisenv "
        f'session` (namespace %SYS) run: write ##class(SYS.Database).MountDatabase("'
        f'{db.directory}")  (1 = mounted; else it prints why), or restart the instance '
        f"(`irisenv down` and `irisenv sync` on ephemeral storage re-create it)")


def _swap(engine, container_id: str, ns: str, db: Database, cmd: list, after: list, *,
          timeout: float, what: str) -> dict:
    """Dismount ``db``, run ``cmd`` in the container (a file copy), mount it again; then
    run ``after`` in %SYS (statements reading the result). A failed mount is reported
    loudly, with how to recover. Returns the values of ``after``."""
    env = {"IRISENV_DIR": db.directory, "IRISENV_NS": ns}
    runner.run(engine, container_id, [_mount_statement("DismountDatabase")], env=env,
               timeout=timeout, what=f"dismounting {db.name}")
    copied = None
    try:
        copied = engine.exec(container_id, cmd, timeout=timeout)
    finally:
        try:
            values = runner.run(engine, container_id, [_mount_statement("MountDatabase"),
                                                       *after],
                                env=env, timeout=timeout, what=f"mounting {db.name}").values
        except IrisenvError as exc:
            raise _remount_error(ns, db, exc.why) from None
    if copied.exit_code != 0:
        raise IrisenvError(f"{what} failed in the container",
                           (copied.stdout + copied.stderr).strip()[-800:]
                           or f"exit code {copied.exit_code}",
                           "check the disk space of the instance (`irisenv exec -- df -h`)")
    return values


def export(engine, container_id: str, namespace: str, dest: Path, *,
           timeout: float = 600) -> F.Manifest:
    """Copy ``namespace``'s data database into ``dest`` (a new or empty directory) with its
    manifest. The database is dismounted only while the file is copied inside the
    container; the file then comes out through the engine (get_files)."""
    ns = check_namespace(namespace)
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise IrisenvError(f"{dest} exists and is not an empty directory",
                           "a fixture directory holds exactly the database file and its "
                           "manifest; irisenv does not overwrite or mix into other files",
                           "name a new directory, or remove the old fixture first")
    db = database(engine, container_id, ns, timeout=timeout)
    stage = _stage()
    _make_dir(engine, container_id, stage)
    try:
        _swap(engine, container_id, ns, db, ["cp", "--", _dat(db), stage + "/" + F.DATA_FILE],
              [], timeout=timeout, what=f"copying {_dat(db)}")
        dest.mkdir(parents=True, exist_ok=True)
        written = engine.get_files(container_id, stage + "/" + F.DATA_FILE, str(dest))
    finally:
        engine.exec(container_id, ["rm", "-rf", "--", stage], timeout=timeout)
    if written != [F.DATA_FILE]:
        raise IrisenvError("the database file did not come out of the container as expected",
                           f"the engine wrote {written}", "run the export again")
    manifest = F.describe(dest, iris_version=db.version, namespace=ns, database=db.name,
                          globals_=db.globals, irisenv=__version__,
                          created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    F.write(dest, manifest)
    return manifest


def version_mismatch(manifest: F.Manifest, zversion: str) -> str | None:
    """Why a fixture cannot go into an instance whose $ZVERSION is ``zversion``, or None:
    the version and build must be the same (docs/learnings/fixtures.md)."""
    have, want = short_version(zversion), short_version(manifest.iris_version)
    if have == want:
        return None
    return (f"the fixture was exported from IRIS {want} and this instance runs IRIS {have}; "
            "irisenv loads a database file only into the IRIS version and build that wrote it")


def load(engine, container_id: str, namespace: str, source: Path, *,
         timeout: float = 600) -> F.Manifest:
    """Replace ``namespace``'s data database with the fixture in ``source``: verified
    against its manifest first, refused for another IRIS version, copied in with put_files,
    checked in the container (sha256), then dismount, copy over IRIS.DAT, mount, and the
    globals listed again and compared with the manifest's. The namespace's data before
    the load is lost. Returns the manifest."""
    from ..core.runspec import iris_files

    ns = check_namespace(namespace)
    manifest = F.verify(Path(source))
    db = database(engine, container_id, ns, timeout=timeout)
    why = version_mismatch(manifest, db.version)
    if why:
        raise IrisenvError(f"fixture {source} cannot be loaded into namespace {ns}", why,
                           "export the fixture again from an instance of this version, or run "
                           "the version it names (image = ...)")
    stage = _stage()
    staged = f"{stage}/{F.DATA_FILE}"
    data = (Path(source) / F.DATA_FILE).read_bytes()
    try:
        engine.put_files(container_id, iris_files({staged: data}))
        del data
        _check_staged(engine, container_id, staged, manifest, timeout=timeout)
        values = _swap(engine, container_id, ns, db, ["cp", "--", staged, _dat(db)],
                       [runner.Tolerant(_globals_loop(), "glob")], timeout=timeout,
                       what=f"copying the fixture over {_dat(db)}")
    finally:
        engine.exec(container_id, ["rm", "-rf", "--", stage], timeout=timeout)
    now = _globals(values)
    if values.get("glob") == "?" or set(now) != set(manifest.globals):
        raise IrisenvError(f"namespace {ns} does not hold the fixture's globals after the load",
                           f"the manifest lists {len(manifest.globals)} global(s), IRIS lists "
                           f"{len(now)}: " + ", ".join(sorted(set(now) ^ set(manifest.globals))
                                                        [:10]),
                           "read `irisenv logs`; load the fixture again")
    return manifest


def _check_staged(engine, container_id: str, path: str, manifest: F.Manifest, *,
                  timeout: float) -> None:
    res = engine.exec(container_id, ["sha256sum", "--", path], timeout=timeout)
    got = res.stdout.split()[0] if res.exit_code == 0 and res.stdout.split() else ""
    want = manifest.files[F.DATA_FILE]["sha256"]
    if got != want:
        raise IrisenvError("the fixture's database file arrived changed in the container",
                           f"sha256sum in the container: {got or res.stderr.strip() or '?'}; "
                           f"the manifest: {want}",
                           "check the disk space of the instance and load again")


def _stage() -> str:
    """A new directory for the file to pass through, inside the container (next to
    irisenv's other files, whose directory exists: put_archive needs the parent)."""
    return f"{CONTAINER_DIR}/fixture-{secrets.token_hex(6)}"


def _make_dir(engine, container_id: str, path: str) -> None:
    from ..core.runspec import iris_files

    engine.put_files(container_id, iris_files({}, dirs=(path,)))
