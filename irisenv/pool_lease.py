"""Leasing a pool copy for a caller and handing it back (docs/pool.md): what the Python API
(`irisenv.lease`), `irisenv lease` and the pytest plugin share.

A lease is the lease table's answer (irisenv/leases.py: no IRIS session, no Docker call);
when the pool may grow, the reserved copy is created inside IRIS here (the one slow path,
said so). A release marks the copy dirty and starts the resetter, detached: a
``python -m irisenv pool reset`` process in a session of its own, so that neither the end
of the releasing process nor an interrupt stops it (docs/pool.md, "Background reset").
"""
from __future__ import annotations

import subprocess
import sys

from .core import leases as core
from .errors import IrisenvError
from .leases import LeaseTable

DEFAULT_TIMEOUT = 120.0  # seconds a lease waits for a clean copy when the pool is at max


def pooled(config, instance: str | None, namespace: str | None = None):
    """(instance config, template key) of the pooled namespace ``namespace`` (default: the
    instance's first namespace); an IrisenvError when it declares no pool."""
    from .errors import did_you_mean

    inst = config.instance(instance)
    name = (namespace or inst.default_namespace).upper()
    pools = [ns.name for ns in inst.namespaces if ns.pool is not None]
    if name not in pools:
        hint = did_you_mean(name, pools)
        raise IrisenvError(f"namespace {name} of instance {inst.name} has no pool",
                           "a lease hands out a clean copy of a namespace declared with "
                           "pool = N; instance " + inst.name + " has "
                           + (f"pools on: {', '.join(pools)}" if pools else "none")
                           + (f"; {hint}" if hint else ""),
                           f"add pool = 4 to [instances.{inst.name}.namespaces.{name}] and "
                           "run `irisenv sync`")
    return inst, core.key(inst.name, name)


def table(project) -> LeaseTable:
    return LeaseTable(project.engine.endpoint, project.name)


def acquire(project, instance: str | None, namespace: str | None = None, *,
            who: core.Holder | None = None, timeout: float = DEFAULT_TIMEOUT,
            say=None, container: str | None = None) -> str:
    """Lease a clean copy of the pooled namespace; returns the copy's namespace name.
    ``say(text)`` hears a wait or a growth (once each). ``container``: the id of the
    instance's container as the caller knows it (Connection.container_id: the lease makes
    no Docker call of its own); None asks the engine (one container list). A pool that
    sync made in another container is refused (LeaseTable.lease)."""
    from .leases import holder

    inst, template = pooled(project.config, instance, namespace)
    if container is None:
        container = project.container_id(inst.name)
    who = who or holder()
    lt = table(project)
    ns = template.partition("/")[2]

    def waiting(counts):
        if counts.get(core.DIRTY):  # e.g. a dead holder's copy, expired by this lease
            start_resetter(project, lt)
        if say is not None:
            say(f"no clean copy of {ns} ({core.describe_counts(counts)}); waiting up to "
                f"{timeout:g}s for a reset")

    result = lt.lease(template, timeout=timeout, on_wait=waiting, who=who, container=container)
    if lt.expired:  # a crashed holder's copy, found by this lease: reset it now, not at
        start_resetter(project, lt)  # the next release
    if isinstance(result, core.Grow):
        if say is not None:
            say(f"growing pool {ns} to {result.size} copies")
        master = lt.read().templates[template].init
        try:
            create(project, container, result.copy, template, master)
        except BaseException:
            lt.release(result.copy)  # creating -> dirty: the resetter creates it
            start_resetter(project)
            raise
        lt.grown(result.copy, master, who)
    return result.copy.partition("/")[2]


def create(project, container: str, copy: str, template: str, digest: str) -> None:
    """Create copy ``copy`` (key ``<instance>/<NAME>``) of ``template`` inside IRIS, in
    container ``container``, from the template's master of init hash ``digest``
    (iris/pool.create_copy)."""
    from .iris.pool import create_copy

    create_copy(project.engine, container, project.iris_desired()[copy.partition("/")[0]],
                copy, template, digest)


def release(project, instance: str | None, copy: str, *, keep: bool = False) -> None:
    """Hand copy ``copy`` (its namespace name) back: dirty, reset in the background; or,
    with ``keep``, kept for inspection (not reset until released)."""
    inst = project.config.instance(instance)
    lt = table(project)
    k = core.key(inst.name, copy.upper())
    if keep:
        lt.keep(k)
        return
    lt.release(k)
    start_resetter(project, lt)


def start_resetter(project, lt: LeaseTable | None = None) -> bool:
    """Start the detached resetter unless one runs (it holds the reset lock, and looks for
    dirty copies again after letting it go: pool_reset.drain). True when started."""
    from .lock import try_file_lock

    lt = lt or table(project)
    with try_file_lock(lt.path.with_suffix(".reset.lock")) as free:
        if not free:
            return False
    subprocess.Popen(resetter_command(project), cwd=str(project.config.base_dir),
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    return True


def resetter_command(project) -> list:
    cmd = [sys.executable, "-m", "irisenv"]
    if project.config.path is not None:
        cmd += ["-c", str(project.config.path)]
    return cmd + ["pool", "reset"]


# ------------------------------------------------------------------ the resetter
def reset_jobs(project, jobs) -> dict:
    """pool_reset.drain's ``reset``: the jobs ``[(copy key, template key, master)]`` reset
    inside IRIS, one call per instance (one exec for a batch). {copy key: "" | error}."""
    from .iris.pool import reset_copies

    by_instance: dict = {}
    for job in jobs:
        by_instance.setdefault(job[0].partition("/")[0], []).append(tuple(job))
    out = {}
    for instance, batch in by_instance.items():
        try:
            cid = project.container_id(instance)
            said = reset_copies(project.engine, cid, project.iris_desired()[instance], batch)
        except IrisenvError as exc:
            said = {copy: exc.what for copy, _t, _h in batch}
        for copy, _t, _h in batch:
            out[copy] = said.get(copy, "no answer from the reset") or ""
    return out


def drain(project):
    """Reset every dirty copy of the project's pools (the hidden `irisenv pool reset`)."""
    from .pool_reset import RESETTER_LINGER
    from .pool_reset import drain as _drain

    return _drain(table(project), lambda jobs: reset_jobs(project, jobs),
                  linger=RESETTER_LINGER)
