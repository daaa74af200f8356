"""The per-user port registry: ``ports.json`` in the state directory (irisenv/statedir.py),
which makes an ``"auto"`` port stable -- the same (engine, project, instance, kind) gets the
same host port across restarts, replacements, `down`/`sync` and reboots, as long as its
entry lives -- and unique among this user's projects. The pure parts (entries, the file
format, which port to lease, stale rules) are in core/ports.py; this module does the I/O.

- Every change is a read-modify-write under a filelock (``locks/ports.lock``, its holder in
  ``locks/ports.owner``) with a short timeout, then an atomic replace of the file. Readers
  take no lock (a reader sees the old file or the new one, never half of one).
- A file irisenv cannot read (not JSON, not a registry) is moved aside to
  ``ports.json.corrupt-<time>`` with a warning, and rebuilt from what the engine at hand
  holds: its irisenv containers' labels (project, instance, spec, leased ports, project
  directory) and published ports. A missing file is built the same way, silently (the
  first sync after an upgrade, or a deleted state directory). A file written by a newer
  irisenv is left alone (error).
- `sync` (irisenv/phases.py) calls :func:`lease` once, between its plan and the apply;
  `plan` and `status` never open the registry. A new port is checked free on the engine's
  host first: not published by any container on the engine, and for a local engine bindable
  on the instance's ``host_ip``; for a remote one (tcp://, ssh://) nothing answers a
  connect from here.
"""
from __future__ import annotations

import errno
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from . import statedir
from .core import ports as P
from .errors import IrisenvError

FILE = "ports.json"
LOCK_TIMEOUT = 10.0  # seconds: the lock is held for milliseconds by each holder
STALE_ENV = "IRISENV_PORT_STALE_AFTER"
CONNECT_TIMEOUT = 0.3  # seconds for the connect test of a remote engine's port
CONTAINER_PORTS = {"superserver": 1972, "web": 52773}


def path() -> Path:
    return statedir.directory() / FILE


def engine_key(endpoint: str | None) -> str:
    """An engine as the registry (and the project lock) spell it."""
    from .lock import normalize_endpoint, tls_from_env

    return normalize_endpoint(endpoint, tls=tls_from_env())


def stale_after(environ=None) -> float:
    """Seconds after which an entry irisenv has not seen is stale: $IRISENV_PORT_STALE_AFTER
    ("30d", "12h", ...: a whole number and d, h, m or s), default 30 days."""
    from .config.units import parse_duration

    env = os.environ if environ is None else environ
    text = env.get(STALE_ENV, "").strip()
    if not text:
        return P.DEFAULT_STALE_AFTER
    try:
        if text.endswith("d") and text[:-1].isdigit() and text.isascii():
            return int(text[:-1]) * P.DAY
        return parse_duration(text)
    except ValueError:
        raise IrisenvError(f"{STALE_ENV}={text!r} is not a duration",
                           "it says after how long unseen port registry entries are stale",
                           f'write a whole number and a unit, e.g. {STALE_ENV}=30d or 12h, or '
                           "unset it (default 30d)") from None


# ---------------------------------------------------------------- the file
def read(engine=None, warn=None) -> list:
    """The entries, without the lock; a corrupt file is repaired under the lock first."""
    p = path()
    text = _read(p)
    if text is None:
        return []
    try:
        return P.loads(text)
    except P.NewerRegistry as exc:
        raise _newer(p, exc) from None
    except P.CorruptRegistry:
        with transaction(engine, warn, "ports") as reg:
            return list(reg.entries)


class _Open:
    """The registry inside a transaction: ``entries`` is what gets written back."""

    def __init__(self, entries: list):
        self.entries = list(entries)


@contextmanager
def transaction(engine=None, warn=None, verb: str = "sync", timeout: float = LOCK_TIMEOUT):
    """The registry, read under its lock; what ``entries`` holds at the end is written
    (atomically) when it changed. ``engine``: where a corrupt file is rebuilt from;
    ``warn(message)``: hears that it was."""
    from .lock import file_lock

    locks = statedir.directory("locks")
    with file_lock(locks / "ports.lock", locks / "ports.owner", verb, timeout,
                   busy="another irisenv is still using the port registry",
                   fix="wait for it and run the command again; a crashed holder releases the "
                       "lock by itself"):
        p = path()
        before, fresh = _load(p, engine, warn)
        reg = _Open(before)
        yield reg
        if fresh or P.touched(before, reg.entries):
            try:
                statedir.write_file(p, P.dumps(reg.entries))
            except OSError as exc:
                raise IrisenvError(f"cannot write the port registry {p}",
                                   exc.strerror or str(exc),
                                   f"make it writable, or set {statedir.ENV} to a directory of "
                                   "your own") from None


def _load(p: Path, engine, warn) -> tuple[list, bool]:
    """(the entries, whether they are not the file's: it was missing or unreadable, and
    they were rebuilt from the engine's labels)."""
    statedir.refuse_link(p)
    text = _read(p)
    if text is None:
        # none yet (the first sync after an upgrade), or deleted: the ports the engine's
        # irisenv containers were made with are recorded at once, so that no lease hands
        # out the port of a stopped container whose project has not synced since
        return (rebuild(engine)[0] if not os.path.lexists(p) else []), True
    try:
        return P.loads(text), False
    except P.NewerRegistry as exc:
        raise _newer(p, exc) from None
    except P.CorruptRegistry as exc:
        aside = p.with_name(f"{FILE}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
        try:
            os.replace(p, aside)
        except OSError as err:
            raise IrisenvError(f"the port registry {p} is unreadable ({exc})",
                               f"moving it aside failed: {err.strerror or err}",
                               f"remove it yourself (rm {p}); irisenv rebuilds it") from None
        entries, source = rebuild(engine)
        (warn or _stderr)(f"the port registry {p} was unreadable ({exc}): moved it to "
                          f"{aside.name} and rebuilt it from {source}")
        return entries, True


def _read(p: Path) -> str | None:
    """The file's text; None when it is missing. Something there that cannot be read as
    text (a directory, say) reads as text no registry has, so it counts as corrupt."""
    try:
        return statedir.read_text(p)
    except (OSError, UnicodeError) as exc:
        return f"<unreadable: {exc.__class__.__name__}>"


def _newer(p: Path, exc: P.NewerRegistry) -> IrisenvError:
    return IrisenvError(f"the port registry {p} was written by a newer irisenv",
                        f"it has {exc}; this irisenv knows schema_version {P.SCHEMA_VERSION} "
                        "and never rewrites a newer registry",
                        "upgrade irisenv, or set IRISENV_STATE_DIR to another directory")


def _stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def rebuild(engine) -> tuple[list, str]:
    """Entries from the labels of every irisenv container on ``engine`` (none without one,
    or when it does not answer); and where they came from, for the warning."""
    if engine is None:
        return [], "nothing (no engine at hand: the next sync of each project records its ports)"
    try:
        containers = engine.list_managed()
    except IrisenvError as exc:
        return [], f"nothing (the engine did not answer: {exc.what})"
    return from_labels(containers, engine_key(engine.endpoint), time.time()), \
        f"the labels of {len(containers)} irisenv container(s) on {engine.endpoint}"


def from_labels(containers, engine: str, now: float) -> list:
    """Registry entries for the containers of one engine (core/observed.ObservedContainer):
    a fixed port from the spec label, an "auto" one from the leased-ports label or, for a
    container made before the registry, the port it publishes. The container holding the
    instance's own name wins over a leftover."""
    import json

    from .core import labels as L
    from .core.desired import SPEC_DEFAULTS

    out: dict = {}
    for c in sorted(containers, key=lambda c: c.name == L.container_name(
            c.labels.get(L.PROJECT, ""), c.instance or "")):
        project, instance = c.labels.get(L.PROJECT), c.instance
        if not project or not instance:
            continue
        spec = c.spec or {}
        try:
            leased = json.loads(c.labels.get(L.PORTS) or "{}")
        except ValueError:
            leased = {}
        for kind in P.KINDS:
            value = spec.get(kind, SPEC_DEFAULTS[kind])
            if P.valid_port(value):
                port, how = value, P.FIXED
            elif value == "auto":
                port, how = leased.get(kind) or c.ports.get(CONTAINER_PORTS[kind]), P.AUTO
            else:
                continue
            if not P.valid_port(port):
                continue
            e = P.Entry(engine, project, instance, kind, port, how,
                        c.labels.get(L.PROJECT_DIR) or None, assigned=now, last_seen=now)
            out[e.key] = e  # sorted so that the instance's own container comes last
    return list(out.values())


# ---------------------------------------------------------------- sync's lease
def lease(project, desired: list, observed, plan, reporter, avoid=frozenset()) -> list:
    """The desired containers with the host ports of their "auto" ports (``host_ports``),
    the registry updated for this project: leases kept and touched, ports its containers
    publish adopted, new ones leased for new containers (create, replace), fixed ports
    recorded, ports no longer declared released. ``avoid``: ports found taken by another
    program during this sync."""
    from dataclasses import replace

    from .core.plan import Create, Replace

    config = project.config
    engine = project.engine
    new = {s.desired.instance for s in plan.steps if isinstance(s, (Create, Replace))}
    current = {d.instance: c for d in desired for c in observed.containers
               if c.name == d.name and c.state not in ("removing", "dead")}
    needs, host_ips = [], {}
    for d in desired:
        full = d.full_spec()
        host_ips[d.instance] = full["host_ip"]
        for kind in P.KINDS:
            value = full[kind]
            if value is False or value == 0:
                continue
            pref = d.preferred
            if pref is not None and kind == "web":
                pref = pref + 1 if pref < 65535 else None
            bound, picked = _bound(current.get(d.instance), kind)
            needs.append(P.Need(d.instance, kind, value, preferred=pref, bound=bound,
                                picked=picked, new_container=d.instance in new))
    keep = frozenset(c.instance for c in observed.containers if c.instance)
    key = engine_key(engine.endpoint)

    def assign(entries: list, is_free, stale):
        try:
            return P.assign(entries, needs, engine=key, project=project.name,
                            project_dir=str(config.base_dir), now=time.time(),
                            port_range=config.ports.port_range, is_free=is_free, stale=stale,
                            keep_instances=keep, avoid=frozenset(avoid))
        except P.Exhausted as exc:
            raise exhausted(exc, config) from None

    a = _unchanged(assign)  # the no-op: no lock taken, nothing written
    if a is None:
        def warn(message):
            reporter.event("warning", message)

        with transaction(engine, warn, "sync") as reg:
            entries = reg.entries
            a = assign(entries, FreeCheck(engine, host_ips),
                       lambda: stale_entries(entries, {key: engine}, time.time()))
            reg.entries = a.entries
    for instance, message in a.events:
        reporter.event("port", message, instance=instance)
    for instance, message in a.notes:
        reporter.event("note", message, instance=instance)
    return [replace(d, host_ports={k: p for (i, k), p in sorted(a.ports.items())
                                   if i == d.instance}) for d in desired]


class _Changes(Exception):
    """The lease needs a new port: it is made again under the lock."""


def _unchanged(assign):
    """assign()'s result when the registry, read without the lock, is readable and the
    lease changes nothing in it (every port leased already, seen lately); else None."""
    text = _read(path())
    try:
        entries = P.loads(text) if text is not None else None
    except P.NewerRegistry as exc:
        raise _newer(path(), exc) from None
    except P.CorruptRegistry:
        entries = None  # repaired under the lock
    if entries is None:
        return None

    def needs_lock(*_):
        raise _Changes

    try:
        a = assign(entries, needs_lock, needs_lock)
    except _Changes:
        return None
    return None if P.touched(entries, a.entries) else a


def _bound(c, kind: str) -> tuple[int | None, bool]:
    """(the host port a container binds for ``kind``, whether Docker picked it): the one it
    was created with, else the one Docker picked at its start (a container made before
    the registry, or with 0, running); None when it binds none."""
    if c is None:
        return None, False
    port = CONTAINER_PORTS[kind]
    for cport, _, host_port in (c.actual.ports if c.actual else ()):
        if cport == f"{port}/tcp" and host_port:
            return host_port, False
    published = c.ports.get(port)
    return published, published is not None


def exhausted(exc: P.Exhausted, config) -> IrisenvError:
    lo, hi = exc.port_range
    where = ("[ports] range in iris-devtester.toml" if config.origins.get("ports.range") == "file"
             else "[ports] range in iris-devtester.toml, or IRISENV_PORT_RANGE")
    return IrisenvError(
        f"instance {exc.need.instance}: no free host port for {exc.need.kind} in the range "
        f"{lo}-{hi}",
        f"of its {hi - lo + 1} ports, {exc.leased} are held by port registry entries and "
        f"{exc.taken} are in use on the engine's host",
        f"widen the range ({where}, e.g. \"{lo}-{min(hi + 1000, 65535)}\"), or free entries: "
        "`irisenv ports` lists them, `irisenv ports prune` frees stale ones, `irisenv ports "
        "release PROJECT` a project's")


class FreeCheck:
    """is_free(port, instance) for core/ports.assign: no container on the engine publishes
    the port, and for a local engine it can be bound on the instance's host_ip; for a
    remote one (engine.is_remote: tcp://, ssh://) nothing answers a connect to it at the
    address it would be published on (the engine's host for a wildcard host_ip)."""

    def __init__(self, engine, host_ips: dict):
        from .engine import engine_host, is_remote

        self.engine = engine
        self.host_ips = host_ips
        self.remote = engine_host(engine.endpoint) if is_remote(engine.endpoint) else None
        self._published: set | None = None

    def __call__(self, port: int, instance: str) -> bool:
        if self._published is None:  # one container list, at the first port checked
            self._published = set(self.engine.published_ports())
        if port in self._published:
            return False
        if self.remote is not None:
            ip = self.host_ips.get(instance, "0.0.0.0")
            return not answers(self.remote if ip in ("0.0.0.0", "::") else ip, port)
        return bindable(self.host_ips.get(instance, "127.0.0.1"), port)


def bindable(host_ip: str, port: int) -> bool:
    """Whether a listener could bind ``host_ip:port`` now: a bind test with SO_REUSEADDR
    (as Docker binds, so a connection in TIME_WAIT does not count). Only "address in use"
    counts as taken: a port only root may bind, or an address this host lacks, is
    Docker's to bind or refuse."""
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    try:
        s = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        return True
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two sockets share a port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host_ip, port))
        return True
    except OSError as exc:
        return exc.errno != errno.EADDRINUSE
    finally:
        s.close()


def answers(host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether something accepts a TCP connection at host:port (no answer in time: no)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- stale entries
def stale_entries(entries: list, engines: dict, now: float, max_age: float | None = None) -> dict:
    """{key: reason} of the stale entries. ``engines`` maps an engine key to an engine
    (to list its irisenv containers) or to None (unknown); an engine that does not answer
    is unknown."""
    max_age = stale_after() if max_age is None else max_age
    present = containers_by_engine(engines)
    out = {}
    for e in entries:
        seen = present.get(e.engine)
        container = None if seen is None else (e.project, e.instance) in seen
        dir_exists = os.path.isdir(e.project_dir) if e.project_dir else None
        reason = P.stale_reason(e, container=container, dir_exists=dir_exists, now=now,
                                max_age=max_age)
        if reason is not None:
            out[e.key] = reason
    return out


def containers_by_engine(engines: dict, timeout: float = 10.0) -> dict:
    """{engine key: {(project, instance): state}} for each engine that answered within
    ``timeout`` seconds (asked concurrently); the container holding the instance's own name
    gives the state, else a leftover of it."""
    from .background import Background
    from .core import labels as L

    asked = {k: Background(e.list_managed, thread="irisenv-ports")
             for k, e in engines.items() if e is not None}
    out = {}
    deadline = time.monotonic() + timeout
    for k, job in asked.items():
        try:
            found = job.result(timeout=max(0.0, deadline - time.monotonic()))
        except (IrisenvError, TimeoutError):
            continue
        states: dict = {}
        for c in found:
            project = c.labels.get(L.PROJECT)
            if not project or not c.instance or c.state in ("removing", "dead"):
                continue
            if c.name == L.container_name(project, c.instance) or (project, c.instance) not in states:
                states[(project, c.instance)] = c.state
        out[k] = states
    return out


# ---------------------------------------------------------------- release, prune
def release(project: str, engine=None, warn=None) -> list:
    """Remove every entry of ``project`` (on any engine); the entries removed."""
    with transaction(engine, warn, "ports release") as reg:
        gone = [e for e in reg.entries if e.project == project]
        reg.entries = [e for e in reg.entries if e.project != project]
    return gone


def prune(open_engine, engine=None, warn=None) -> list:
    """Remove every stale entry, "fixed" ones too (an explicit request); [(entry,
    reason)]. ``open_engine(key)``: an engine for an engine key (None when it cannot).
    The engines are asked before the lock is taken (a slow one never holds up a sync);
    an entry that changed meanwhile (a sync saw it) is kept."""
    entries = read(engine, warn)
    engines = {k: open_engine(k) for k in {e.engine for e in entries}}
    stale = stale_entries(entries, engines, time.time())
    judged = {e.key: e for e in entries if e.key in stale}
    with transaction(engine, warn, "ports prune") as reg:
        gone = [(e, stale[e.key]) for e in reg.entries if judged.get(e.key) == e]
        reg.entries = [e for e in reg.entries if judged.get(e.key) != e]
    return gone
