"""The namespace pool inside IRIS (docs/pool.md): the template's master, copies created,
dropped and reset.

- The **master** of a template is its data database file taken once its init holds
  (``<mgr>/irisenv/<ns>-pool/<init hash>/IRIS.DAT``), with the documented procedure for
  copying a database file that iris/fixture.py follows too: dismount
  (``SYS.Database.DismountDatabase``), copy ``IRIS.DAT`` (``%Library.File.CopyFile``),
  mount (``SYS.Database.MountDatabase``), all in one statement so the mount always follows.
- A **copy** ``<NS>_P<n>`` is a namespace whose globals database ``<NS>_P<n>_DATA`` is its
  own and whose routines database is the template's ``<NS>_CODE`` (Config.Namespaces
  ``Globals`` / ``Routines``): created by a CPF merge with an empty data database, then
  reset from the master. Creating the database file from the master directly would rely on
  how ``CreateDatabase`` treats an existing ``IRIS.DAT``, which is not documented.
- A **reset** dismounts the copy's data database, copies the master over its ``IRIS.DAT``
  and mounts it again; a batch of copies is one ``iris session`` (one exec), each copy on
  one line of its own so one copy's failure does not stop the others.

The lease table (irisenv/leases.py) says which copies are clean; this module never reads
it. Every name and path reaches ObjectScript through the exec environment.
"""
from __future__ import annotations

import re
import time
import uuid

from ..core.iris_record import POOL, NamespaceRecord, RecordChanges
from ..core.pool_plan import MASTER_EMPTY
from ..errors import IrisenvError
from ..names import namespace as check_namespace
from . import runner
from .converge import CONVERGE_PATH, db_dir, record_statements
from .probe import _val, read_record
from .probe import record_statements as read_record_statements
from .runner import VAL_TAG, env_ref

DAT = "IRIS.DAT"
_DIGEST = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")  # no "..", no "/"


def _name(key: str) -> str:
    """A namespace name out of a lease-table key (``<instance>/<NS>``) or a bare name."""
    return check_namespace(key.rpartition("/")[2])


def _digest(digest: str) -> str:
    if not _DIGEST.fullmatch(digest or ""):
        raise ValueError(f"bad master hash {digest!r}")
    return digest


def pool_dir(storage: str, template: str) -> str:
    return db_dir(storage, _name(template), "pool")  # the directory a drop removes


def master_path(storage: str, template: str, digest: str) -> str:
    return f"{pool_dir(storage, template)}{_digest(digest)}/{DAT}"


def copy_dir(storage: str, copy: str) -> str:
    return db_dir(storage, _name(copy), "data")


# ------------------------------------------------------------------ merge lines
def create_lines(d, a) -> list:
    """[Actions] lines of core/pool_plan.CreatePoolCopy: the copy's own (empty) data
    database and its namespace mapping the template's code database."""
    n, t = _name(a.name), _name(a.template)
    return [f"CreateDatabase:Name={n}_DATA,Directory={copy_dir(d.storage, n)}",
            f"CreateNamespace:Name={n},Globals={n}_DATA,Routines={t}_CODE,Interop=0"]


def drop_lines(d, a) -> list:
    """[Actions] lines of core/pool_plan.DropPoolCopy: the copy and its data database; the
    template's code database stays."""
    n = _name(a.name)
    return [f"DeleteNamespace:Name={n}",
            f"DeleteDatabase:Name={n}_DATA,Directory={copy_dir(d.storage, n)}"]


# ------------------------------------------------------------------ the master
def _master_statement() -> str:
    """Take the master unless it exists: one line, so the template's database is mounted
    again whatever the copy did. Writes master=<exists|copied>^<ok>^<status>."""
    t, m = env_ref("IRISENV_TDIR"), env_ref("IRISENV_MASTER")
    return (f'set ok=1,sc=1,how="exists" if \'##class(%File).Exists({m}) {{ set how="copied",'
            f'ok=##class(%File).CreateDirectoryChain({env_ref("IRISENV_MDIR")}) if ok {{ '
            f"set sc=##class(SYS.Database).DismountDatabase({t}) if sc {{ "
            f'set ok=##class(%File).CopyFile({env_ref("IRISENV_TDAT")},{m}) '
            f"set sc=##class(SYS.Database).MountDatabase({t}) }} }} }} "
            + _val("master", 'how_"^"_ok_"^"_sc'))


def ensure_master(engine, container_id: str, d, template: str, digest: str, *,
                  timeout: float = 120) -> bool:
    """Make sure the master of ``template`` for init hash ``digest`` exists: taken from the
    template's data database when its record says it holds that init (an older or newer
    template is not this master). Returns True when it was taken now; IrisenvError when it
    cannot be. Masters of other hashes are removed once a new one is taken."""
    t = _name(template)
    master = master_path(d.storage, t, digest)
    tdir = db_dir(d.storage, t, "data")
    values = runner.run(engine, container_id, read_record_statements() + [
        _val("has", f'##class(%File).Exists({env_ref("IRISENV_MASTER")})')],
        env={"IRISENV_MASTER": master}, timeout=timeout,
        what=f"looking for the pool master of {t}").values
    if values.get("has") == "1":
        return False
    records, _, _ = read_record(values)
    rec = records.get(t)
    holds = rec is not None and (rec.init == digest or (digest == MASTER_EMPTY and rec.init == ""))
    if not holds:
        raise IrisenvError(
            f"the pool of namespace {t} has no master for its init {digest}",
            f"namespace {t} holds init {rec.init if rec else 'none'}, not {digest}: its "
            "initialised data is not there to copy",
            "run `irisenv sync` (it initialises the template, then takes the master)")
    env = {"IRISENV_TDIR": tdir, "IRISENV_TDAT": tdir + DAT, "IRISENV_MASTER": master,
           "IRISENV_MDIR": master.rsplit("/", 1)[0] + "/"}
    got = runner.run(engine, container_id, [_master_statement()], env=env, timeout=timeout,
                     what=f"taking the pool master of {t}").values.get("master", "")
    how, ok, sc = (got.split("^", 2) + ["", ""])[:3]
    if ok != "1" or sc != "1":
        engine.exec(container_id, ["rm", "-f", "--", master], timeout=timeout)
        mounted = "" if sc == "1" or how == "exists" else (
            f"; database {t}_DATA may still be dismounted: in `irisenv session` run "
            f'write ##class(SYS.Database).MountDatabase("{tdir}")')
        raise IrisenvError(f"the pool master of namespace {t} could not be taken",
                           f"copying {tdir}{DAT} to {master} failed (copy {ok or '?'}, "
                           f"status {sc or '?'}){mounted}",
                           "check the disk space of the instance (`irisenv exec -- df -h`) "
                           "and run `irisenv sync` again")
    if how == "copied":
        engine.exec(container_id, ["find", pool_dir(d.storage, t), "-mindepth", "1",
                                   "-maxdepth", "1", "!", "-name", _digest(digest),
                                   "-exec", "rm", "-rf", "--", "{}", "+"], timeout=timeout)
    return how == "copied"


# ------------------------------------------------------------------ resets
def _reset_statement(i: int) -> str:
    """Reset copy i from its master: one line, so the mount follows the dismount; then its
    record's init follows the master. Writes reset.<i>=<ok>^<status>, the status being
    nomaster or nocopy when the master or the copy's namespace does not exist."""
    e = lambda k: env_ref(f"IRISENV_{k}_{i}")  # noqa: E731
    return (f'set ok=0,sc="nomaster" if ##class(%File).Exists({e("MASTER")}) {{ set sc="nocopy" '
            f'if ##class(%SYS.Namespace).Exists({e("NAME")}) {{ '
            f"set sc=##class(SYS.Database).DismountDatabase({e('DIR')}) if sc {{ "
            f"set ok=##class(%File).CopyFile({e('MASTER')},{e('DAT')}) "
            f"set sc=##class(SYS.Database).MountDatabase({e('DIR')}) "
            f'if ok {{ if sc {{ set ^IRISENV("ns",{e("NAME")})={e("REC")} }} }} }} }} }} '
            f'write "{VAL_TAG}reset.{i}=",ok,"^",sc,!')


def _jobs(copies) -> list:
    """(copy name, template name, hash) out of drain's jobs ``[(copy key, template key,
    hash)]``."""
    return [(_name(c), _name(t), _digest(h)) for c, t, h in copies]


def _run_resets(engine, container_id: str, d, jobs: list, *, timeout: float) -> dict:
    """{copy name: "" | "nomaster" | "nocopy" | error} for one batch, one exec."""
    stmts, env, now = [], {}, int(time.time())
    for i, (copy, template, digest) in enumerate(jobs):
        cdir = copy_dir(d.storage, copy)
        env.update({f"IRISENV_NAME_{i}": copy, f"IRISENV_DIR_{i}": cdir,
                    f"IRISENV_DAT_{i}": cdir + DAT,
                    f"IRISENV_MASTER_{i}": master_path(d.storage, template, digest),
                    f"IRISENV_REC_{i}": NamespaceRecord(POOL, now, template, digest).encode()})
        stmts.append(runner.Tolerant(_reset_statement(i), f"reset.{i}"))
    values = runner.run(engine, container_id, stmts, env=env, timeout=timeout,
                        what="resetting pool copies").values
    out = {}
    for i, (copy, _t, _h) in enumerate(jobs):
        ok, _, sc = values.get(f"reset.{i}", "?").partition("^")
        if ok == "1" and sc == "1":
            out[copy] = ""
        elif sc in ("nomaster", "nocopy"):
            out[copy] = sc
        else:
            out[copy] = (f"the reset of {copy} failed (copy {ok}, status {sc or '?'}); its "
                         f"database may be dismounted: `irisenv sync` resets it again")
    return out


def reset_copies(engine, container_id: str, desired, copies, *, timeout: float = 300) -> dict:
    """Reset ``copies`` (pool_reset.drain's jobs: ``[(copy key, template key, master
    hash)]``, keys ``<instance>/<NS>`` or bare names) from their templates' masters.
    Returns {copy key as given: "" when reset, else why it was not} (drain's contract).
    A missing master is taken first (ensure_master); a copy that does not exist in IRIS
    (a grown copy whose creator died) is created (create_copy) and reset."""
    given = {_name(c): c for c, _t, _h in copies}
    jobs = _jobs(copies)
    said = _run_resets(engine, container_id, desired, jobs, timeout=timeout) if jobs else {}
    again = [j for j in jobs if said.get(j[0]) in ("nomaster", "nocopy")]
    errors: dict = {}
    for template, digest in sorted({(t, h) for c, t, h in again if said[c] == "nomaster"}):
        try:
            ensure_master(engine, container_id, desired, template, digest, timeout=timeout)
        except IrisenvError as exc:
            errors[(template, digest)] = f"{exc.what}: {exc.why}"
    missing = [j for j in again if said[j[0]] == "nocopy"]
    if missing:
        try:
            _create(engine, container_id, desired, missing, timeout=timeout)
        except IrisenvError as exc:
            errors.update({j[0]: f"{exc.what}: {exc.why}" for j in missing})
    retry = [j for j in again if j[0] not in errors and (j[1], j[2]) not in errors]
    if retry:
        said.update(_run_resets(engine, container_id, desired, retry, timeout=timeout))
    for copy, template, digest in jobs:
        why = errors.get(copy) or errors.get((template, digest))
        if why:
            said[copy] = why
        elif said.get(copy) == "nomaster":
            said[copy] = f"the master of {template} for init {digest} is missing"
        elif said.get(copy) == "nocopy":
            said[copy] = f"namespace {copy} does not exist"
    return {given[c]: said.get(c, "no answer from the reset") for c in given}


# ------------------------------------------------------------------ creating a copy
def _create(engine, container_id: str, d, jobs: list, *, timeout: float) -> None:
    """Merge the copies' databases and namespaces, then record them (init empty: not reset
    yet). The caller resets them."""
    from ..core.pool_plan import CreatePoolCopy
    from ..core.runspec import iris_files

    lines = ["[Actions]"] + [line for c, t, h in jobs
                             for line in create_lines(d, CreatePoolCopy(c, t, h))]
    # A file of this call's own: leases growing the pool at once (and the resetter creating
    # a copy whose creator died) run here in parallel, and must not merge each other's.
    path = CONVERGE_PATH.replace("converge.cpf", f"pool-{uuid.uuid4().hex}.cpf")
    engine.put_files(container_id, iris_files({path: ("\n".join(lines) + "\n").encode()}))
    try:
        res = engine.exec(container_id, ["iris", "merge", "IRIS", path], timeout=timeout)
    finally:
        try:
            engine.exec(container_id, ["rm", "-f", "--", path], timeout=timeout)
        except IrisenvError:
            pass  # a leftover file in irisenv's directory of the container is harmless
    if res.exit_code != 0:
        raise IrisenvError("iris merge failed while creating pool copies",
                           (res.stdout + res.stderr).strip()[-800:],
                           "read the failing line above; run `irisenv sync` again")
    now = int(time.time())
    stmts, env = record_statements(RecordChanges(writes=tuple(
        (c, NamespaceRecord(POOL, now, t, "")) for c, t, _h in jobs)))
    runner.run(engine, container_id, stmts, env=env, timeout=timeout,
               what="recording pool copies")


def create_copy(engine, container_id: str, desired, copy: str, template: str, digest: str,
                *, timeout: float = 300) -> None:
    """Create pool copy ``copy`` of ``template`` (lease-table keys or bare names) and reset
    it from the master of init hash ``digest`` (the lease's Grow path; then
    LeaseTable.grown). IrisenvError when it could not be made clean."""
    said = reset_copies(engine, container_id, desired, [(copy, template, digest)],
                        timeout=timeout)
    why = said.get(copy, "no answer")
    if why:
        raise IrisenvError(f"pool copy {_name(copy)} of {_name(template)} could not be created",
                           why, "read `irisenv logs`; run `irisenv sync` again")
