"""Apply a namespace's declared init inside IRIS (docs/learnings/init.md).

A fixture entry (always the first) is loaded by iris/fixture.load, which replaces the
namespace's data database with the fixture's IRIS.DAT; the other entries then run on top.

Order: the record's init field is set to ``pending`` (so a failure or a crash leaves the
namespace not initialised, and the next sync resets and retries it) -> when the plan says
so, the namespace's databases are reset (dropped and created again with `iris merge`,
as a namespace drop and create do) -> the files are copied in through the engine (no bind
mount) -> each item runs in the namespace, its %Status or SQLCODE checked -> what the
code entries declared is verified (each class exists, compiled) -> the record's init
field is set to the content hash of the bytes copied in -> the copies are removed.

Values (paths, SQL text, the run expression) reach ObjectScript through the exec
environment (runner.env_ref), never through the script's text.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from ..core.desired import CONTAINER_DIR
from ..core.init import (PENDING, Item, NamespaceInit, digest_of, read, split_sql,
                         tables_to_verify)
from ..core.iris_plan import InitNamespace, IrisDesired
from ..core.iris_record import NamespaceRecord, RecordChanges
from ..errors import IrisenvError
from ..names import namespace as check_namespace
from . import runner
from .runner import VAL_TAG, env_long, env_ref

INIT_DIR = CONTAINER_DIR + "/init"
# One session's environment must stay under ARG_MAX (runner.env_long): at most SQL_BATCH
# bytes of SQL, or one statement of up to STATEMENT_LIMIT bytes alone.
SQL_BATCH = 512 * 1024
STATEMENT_LIMIT = 1024 * 1024
FIXTURE_TIMEOUT = 600  # at least this long for each step of a fixture's load (a large file)
NOT_COPIED = ("run", "fixture")  # kinds whose bytes are not copied in with the init's files
CODE_TYPES = "*.cls;*.mac;*.inc;*.int;*.xml"
_THROW = "if $SYSTEM.Status.IsError(sc) { throw ##class(%Exception.StatusException).CreateFromStatus(sc) }"
_CLASS = re.compile(rb"^\s*Class\s+(%?[A-Za-z][A-Za-z0-9.]*)", re.M)


def _step(i: int) -> str:
    return f'write "{VAL_TAG}step={i}",!'


def class_names(data: bytes) -> list[str]:
    """The class a UDL .cls file declares (``Class App.Customer Extends ...``)."""
    m = _CLASS.search(data)
    return [m.group(1).decode()] if m else []


def apply(engine, container_id: str, d: IrisDesired, a: InitNamespace, *,
          timeout: float = 120) -> None:
    from ..core.init import applied
    from ..core.runspec import iris_files

    ns = check_namespace(a.name)
    key = f"instances.{d.instance}.namespaces.{ns}.init"
    # the bytes copied in are the bytes hashed: a file edited meanwhile is recorded as is
    # (a fixture's database file is not read here: iris/fixture.load verifies it against
    # its manifest, and the sha256 recorded is the one of the manifest it loaded)
    datas = [b"" if i.kind in NOT_COPIED else read(i, key) for i in a.init.items]
    items = [i if i.kind in NOT_COPIED else Item(i.kind, i.rel, i.path, entry=i.entry,
                                                 sha=hashlib.sha256(b).hexdigest())
             for i, b in zip(a.init.items, datas)]
    _record(engine, container_id, a, PENDING, timeout)
    if a.reset:
        _reset(engine, container_id, d, ns, timeout)
    base = f"{INIT_DIR}/{ns.lower()}"
    files = {f"{base}/files/{i.rel}": b for i, b in zip(items, datas)
             if i.kind not in NOT_COPIED}
    try:
        # INIT_DIR is the root: every directory under it is made (engine.put_files)
        engine.put_files(container_id, iris_files(files, dirs=(INIT_DIR,)))
        for n, (item, data) in _groups(items, datas):
            if item.kind == "fixture":
                items[n] = replace(item, sha=_fixture(engine, container_id, d, ns, item, timeout))
                continue
            _run_group(engine, container_id, d, ns, n, item, data, base, items, datas, timeout)
        _verify(engine, container_id, d, ns, items, datas, timeout)
    finally:
        engine.exec(container_id, ["rm", "-rf", "--", base], timeout=timeout)
    done = NamespaceInit(ns, tuple(items), digest_of(items))
    _record(engine, container_id, a, done.digest, timeout)
    applied().add(done)


def _fixture(engine, cid, d: IrisDesired, ns: str, item: Item, timeout) -> str:
    """Load a fixture entry (iris/fixture.load: verified, version checked, copied in,
    swapped in while the data database is dismounted, globals compared); the sha256 of
    the IRIS.DAT loaded. An error names the entry."""
    from ..core.fixture import DATA_FILE
    from .fixture import load

    try:
        manifest = load(engine, cid, ns, item.path, timeout=max(timeout, FIXTURE_TIMEOUT))
    except IrisenvError as exc:
        raise IrisenvError(
            f"instance {d.instance}: init of namespace {ns} failed in fixture {item.rel}: "
            f"{exc.what}", exc.why,
            f"{exc.fix.rstrip('.')}; namespace {ns} stays marked not initialised, and the next "
            "sync resets its databases and applies the init again") from None
    return manifest.files[DATA_FILE]["sha256"]


def _groups(items, datas):
    """(index, (item, data)) per unit of work: a code directory entry is loaded as one
    (its classes compile together), everything else one by one."""
    seen = set()
    for n, (item, data) in enumerate(zip(items, datas)):
        if item.kind == "code" and item.entry != item.rel:
            if item.entry in seen:
                continue
            seen.add(item.entry)
        yield n, (item, data)


def _record(engine, container_id, a: InitNamespace, init: str, timeout) -> None:
    from .converge import record_statements

    rec = NamespaceRecord(a.record_kind, a.created, a.run, init)
    stmts, env = record_statements(RecordChanges(writes=((a.name, rec),)))
    runner.run(engine, container_id, stmts, env=env, timeout=timeout,
               what=f"recording namespace {a.name}'s init")


def _reset(engine, container_id, d: IrisDesired, ns: str, timeout) -> None:
    """Drop the namespace's two databases and create them again, empty."""
    from ..core.iris_plan import CreateNamespace, DropNamespace
    from ..core.runspec import iris_files
    from .converge import CONVERGE_PATH, db_dir, merge_text
    from .probe import _namespace_checks

    for actions, then in (((DropNamespace(ns),), "0"), ((CreateNamespace(ns),), "1")):
        engine.put_files(container_id, iris_files({CONVERGE_PATH: merge_text(d, actions).encode()}))
        res = engine.exec(container_id, ["iris", "merge", "IRIS", CONVERGE_PATH], timeout=timeout)
        stmts, env = _namespace_checks((ns,), "reset")
        seen = runner.run(engine, container_id, stmts, env=env, timeout=timeout,
                          what=f"checking namespace {ns}").values
        if res.exit_code != 0 or seen.get("reset.0") != then:
            raise IrisenvError(
                f"instance {d.instance}: namespace {ns} could not be reset for its init",
                ("iris merge: " + (res.stdout + res.stderr).strip()[-400:]) if res.exit_code
                else "the namespace " + ("still exists" if then == "0" else "was not created again"),
                "close sessions using it and run `irisenv sync` again; see `irisenv logs`")
        if then == "0":
            engine.exec(container_id, ["rm", "-rf", "--", db_dir(d.storage, ns, "data"),
                                       db_dir(d.storage, ns, "code")], timeout=timeout)


def _run_group(engine, cid, d, ns, n, item: Item, data: bytes, base, items, datas, timeout):
    where = f"{base}/files"
    env = {"IRISENV_INIT_PATH": f"{where}/{item.rel}"}
    p = env_ref("IRISENV_INIT_PATH")
    if item.kind == "code" and item.entry != item.rel:  # a directory entry
        env["IRISENV_INIT_PATH"] = f"{where}/{item.entry.rstrip('/')}"
        env["IRISENV_INIT_TYPES"] = CODE_TYPES
        stmts = [f'set sc=$SYSTEM.OBJ.ImportDir({p},{env_ref("IRISENV_INIT_TYPES")},"ck-d",.err,1) {_THROW}']
        # several files were loaded: name the one whose class IRIS names
        files = {c: i.rel for i, b in zip(items, datas) if i.entry == item.entry
                 for c in class_names(b)}
        _session(engine, cid, d, ns, stmts, env, timeout, item.entry, files=files)
    elif item.kind == "code":
        _session(engine, cid, d, ns, [f'set sc=$SYSTEM.OBJ.Load({p},"ck-d",.err) {_THROW}'],
                 env, timeout, item.rel)
    elif item.kind == "globals":
        env["IRISENV_INIT_NS"] = ns
        _session(engine, cid, d, ns, [
            f'set sc=##class(%Library.Global).Import({env_ref("IRISENV_INIT_NS")},"*",{p},7) {_THROW}'],
            env, timeout, item.rel)
    elif item.kind == "run":
        env = {"IRISENV_INIT_RUN": item.run}
        _session(engine, cid, d, ns, [
            f'xecute ("set sc=("_{env_ref("IRISENV_INIT_RUN")}_")") {_THROW}'],
            env, timeout, item.label)
    else:
        _sql(engine, cid, d, ns, item, data, timeout)


def _sql(engine, cid, d, ns, item: Item, data: bytes, timeout) -> None:
    """Run the script's statements, a batch of at most SQL_BATCH bytes per session, then
    check that each table its CREATE TABLE statements create exists."""
    from ..userfiles import text

    stmts_all = split_sql(text(data, item.path, f"init {item.rel}", what="SQL script"))
    for line, sql in stmts_all:
        if len(sql.encode()) > STATEMENT_LIMIT:
            raise IrisenvError(
                f"instance {d.instance}: init of namespace {ns}: {item.rel} line {line}: the "
                f"statement is {len(sql.encode()) // 1024} KiB, more than irisenv passes to "
                f"IRIS in one statement ({STATEMENT_LIMIT // 1024} KiB)",
                "a statement travels to IRIS in the environment of one exec, which Linux "
                "limits (all of a process's arguments and environment together, ARG_MAX: "
                "2 MiB with the usual stack limit)",
                f"split it into several statements (an INSERT per batch of rows), or bring "
                f"large data as a globals export (.gof) or a fixture; namespace {ns} stays "
                "marked not initialised")
    tables = tables_to_verify(stmts_all)
    lines = {}
    batch, env, size = [], {}, 0
    for k, (line, sql) in enumerate(stmts_all):
        n = len(sql.encode())
        if batch and size + n > SQL_BATCH:
            _session(engine, cid, d, ns, batch, env, timeout, item.rel, lines=lines)
            batch, env, size = [], {}, 0
        part_env, expr = env_long(f"IRISENV_SQL_{k}", sql)
        env.update(part_env)
        lines[k] = line
        batch.append(_step(k))
        batch.append(f"set r=##class(%SQL.Statement).%ExecDirect(,{expr}) "
                     "if r.%SQLCODE<0 { throw ##class(%Exception.SQL).CreateFromSQLCODE("
                     "r.%SQLCODE,r.%Message) }")
        size += n
    # the last batch also asks, once every statement ran, whether each table exists
    for k, (_, t) in enumerate(tables):
        env[f"IRISENV_TBL_{k}"] = t.text
        batch.append(f'write "{VAL_TAG}tbl.{k}=",##class(%SYSTEM.SQL.Schema).TableExists('
                     f'{env_ref(f"IRISENV_TBL_{k}")}),!')
    if not batch:
        return
    vals = _session(engine, cid, d, ns, batch, env, timeout, item.rel, lines=lines).values
    missing = [(line, t) for k, (line, t) in enumerate(tables) if vals.get(f"tbl.{k}") != "1"]
    if missing:
        line, t = missing[0]
        names = ", ".join(t.text for _, t in missing)
        raise IrisenvError(
            f"instance {d.instance}: init of namespace {ns}: table {names} does not exist "
            f"after {item.rel} (created at line {line})",
            "IRIS reported success for every statement, but $SYSTEM.SQL.Schema.TableExists "
            "does not find the table" + ("s" if len(missing) > 1 else ""),
            f"check {item.rel} (what its later statements do to the table), then run "
            f"`irisenv sync` again: namespace {ns} stays marked not initialised, and the "
            "next sync resets its databases and applies the init again")


def _session(engine, cid, d, ns, stmts, env, timeout, label, *, lines=None, files=None):
    try:
        return runner.run(engine, cid, stmts, env=env, namespace=ns, timeout=timeout,
                          what=f"init of namespace {ns} ({label})")
    except runner.ScriptError as exc:
        said = "; ".join(getattr(exc, "errors", ()) or ()) or exc.why
        where = label
        step = getattr(exc, "values", {}).get("step")
        if lines is not None and step is not None and step.isdigit():
            where = f"{label} line {lines.get(int(step), '?')}"
        for cls, rel in (files or {}).items():
            if cls in said:
                where = rel
                break
        raise IrisenvError(
            f"instance {d.instance}: init of namespace {ns} failed in {where}",
            f"IRIS said: {said}",
            f"fix {where} and run `irisenv sync` again: namespace {ns} stays marked not "
            "initialised, and the next sync resets its databases and applies the init again"
        ) from None


def _verify(engine, cid, d, ns, items, datas, timeout) -> None:
    """Every class the code files declare exists, compiled (%Dictionary.CompiledClass)."""
    names = [c for i, b in zip(items, datas) if i.kind == "code" and i.rel.endswith(".cls")
             for c in class_names(b)]
    if not names:
        return
    env = {f"IRISENV_CLS_{k}": c for k, c in enumerate(names)}
    stmts = [f'write "{VAL_TAG}cls.{k}=",##class(%Dictionary.CompiledClass).%ExistsId('
             f'{env_ref(f"IRISENV_CLS_{k}")}),!' for k in range(len(names))]
    vals = runner.run(engine, cid, stmts, env=env, namespace=ns, timeout=timeout,
                      what=f"verifying namespace {ns}'s init").values
    missing = [c for k, c in enumerate(names) if vals.get(f"cls.{k}") != "1"]
    if missing:
        raise IrisenvError(
            f"instance {d.instance}: init of namespace {ns}: class {', '.join(missing)} is not "
            "compiled",
            "IRIS reported success loading the code, but %Dictionary.CompiledClass does not "
            "hold the class",
            "check the class files, then run `irisenv sync` again (the namespace stays marked "
            "not initialised)")
