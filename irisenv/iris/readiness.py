"""The readiness ladder (docs/learnings/readiness.md): the log line, then qlist, then a
session probe.

1. Follow the container's log stream (no polling lag) until "Enabling logons"; fail fast on
   a licence error, or when the container exits.
2. `iris qlist IRIS` says running (and not hung; hung for HUNG_SECONDS in a row fails).
3. A session runs a statement and prints the runner's sentinel.
Time runs against one deadline; a miss raises NotReadyError (exit 3) with the last log lines.
"""
from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass

from ..errors import IrisenvError, NotReadyError
from . import runner
from .qlist import parse_qlist

READY_LINE = "Enabling logons"
# A system monitor that reports "hung" this long in a row (seconds) fails the wait at once:
# more time does not help a stuck IRIS. Bounded by the wait's own deadline too.
HUNG_SECONDS = 15.0
COMMUNITY_CORES = 20  # the Community Edition's core limit (see licence_error)
LICENCE_ERROR = re.compile(r"invalid (community edition )?licen[cs]e|licen[cs]e (key )?(has )?"
                           r"expired|exceeded (the )?core limit", re.I)


@dataclass
class Readiness:
    log_seconds: float = 0.0
    qlist_seconds: float = 0.0
    probe_seconds: float = 0.0
    monitor: str = ""
    version: str = ""
    after_log: object = None  # the Background of wait_ready's after_log, when given


def run_start(state) -> float | None:
    """Where the current run's log begins, for the engine's `since`: the end of the
    previous run (None: the container never ran before, so its whole log is this run's).
    Not the run's StartedAt: the engine stamps that once the process runs, and a process
    that logs at once (a stand-in with no boot delay) writes lines stamped a moment
    earlier, which `since=StartedAt` would drop."""
    return state.finished_at


def boot_log(engine, container_id: str) -> str:
    """What the current run's log says so far (no following): "ready" once it has the ready
    line, "licence" on a licence error, else "" (still booting)."""
    stream = engine.logs_stream(container_id, follow=False,
                                since=run_start(engine.state(container_id)))
    text = b"".join(stream).decode("utf-8", "replace")
    if LICENCE_ERROR.search(text):
        return "licence"
    return "ready" if READY_LINE in text else ""


def _watch_log(engine, container_id: str, out: queue.Queue, stop: threading.Event, holder: list):
    try:
        since = run_start(engine.state(container_id))  # older runs' lines must not count
        stream = engine.logs_stream(container_id, follow=True, since=since)
        holder.append(stream)
        buf = b""
        for chunk in stream:
            if stop.is_set():
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                out.put(("line", line.decode("utf-8", "replace")))
        out.put(("end", buf.decode("utf-8", "replace")))
    except Exception as exc:  # engine trouble: reported by the waiting side
        out.put(("error", exc))


def wait_for_log(engine, container_id: str, deadline: float, *, instance: str = "",
                 ready_lines: tuple = (READY_LINE,)) -> None:
    """Return once every line of ``ready_lines`` has appeared in the current run's log."""
    lines: queue.Queue = queue.Queue()
    stop = threading.Event()
    holder: list = []
    pending = list(ready_lines)

    def watch():
        threading.Thread(target=_watch_log, args=(engine, container_id, lines, stop, holder),
                         daemon=True).start()

    watch()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise not_ready(engine, container_id, instance, f"no '{READY_LINE}' in the log yet")
            try:
                kind, item = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if kind == "line":
                if LICENCE_ERROR.search(item):
                    raise licence_error(instance, container_id, item)
                pending = [p for p in pending if p not in item]
                if not pending:
                    return
            elif kind == "end":
                state = engine.state(container_id)
                if state.running:  # the stream ended early: follow a fresh one
                    pending = list(ready_lines)  # it replays the run's log from the start
                    time.sleep(0.2)
                    watch()
                    continue
                raise IrisenvError(
                    f"instance {instance or container_id[:12]} exited while starting "
                    f"(exit code {state.exit_code})",
                    "last log lines:\n" + _indent(engine.logs_tail(container_id, 15)),
                    "read the log (`irisenv logs`); fix the cause, then `irisenv sync` again")
            else:
                raise item
    finally:
        stop.set()
        for stream in holder:
            try:
                stream.close()
            except Exception:
                pass


# intersystemsdc images run their own init (users, namespaces, CallIn) in an after-start
# hook and log "executed command" when it is done (docs/learnings/container.md,
# "intersystemsdc images"); irisenv's own IRIS-level steps must not overlap it.
AFTER_HOOK_LINE = "executed command"


def ready_lines_for(image: str) -> tuple:
    return (READY_LINE, AFTER_HOOK_LINE) if "intersystemsdc/" in image else (READY_LINE,)


def wait_ready(engine, container_id: str, timeout: float, *, instance: str = "",
               image: str = "", session_probe: bool = True, after_log=None) -> Readiness:
    """The ladder. ``after_log``, a callable, is started in a thread of its own once the
    log has the ready line, to run while the later rungs do (phase two's first look at
    IRIS: an exec alongside qlist's); its Background is returned in the Readiness, for the
    caller to use only once the ladder is climbed."""
    start = time.monotonic()
    deadline = start + timeout
    r = Readiness()
    wait_for_log(engine, container_id, deadline, instance=instance,
                 ready_lines=ready_lines_for(image))
    r.log_seconds = time.monotonic() - start
    if after_log is not None:
        from ..background import Background

        r.after_log = Background(after_log, thread="irisenv-first-look")
    hung_since = None
    while True:  # qlist: running, not hung
        res = engine.exec(container_id, ["iris", "qlist", "IRIS"], timeout=max(deadline - time.monotonic(), 1))
        q = parse_qlist(res.stdout)
        if q is not None and q.running and q.monitor != "hung":
            r.monitor, r.version = q.monitor, q.version
            break
        now = time.monotonic()
        if q is not None and q.running:  # running, but the system monitor says hung
            hung_since = now if hung_since is None else hung_since
            if now - hung_since >= HUNG_SECONDS or now > deadline:
                raise monitor_hung(engine, container_id, instance, now - hung_since)
        else:
            hung_since = None
        if now > deadline:
            raise not_ready(engine, container_id, instance,
                            f"iris qlist says {q.status if q else 'nothing'}"
                            + (f", monitor {q.monitor}" if q else ""))
        time.sleep(0.1)
    r.qlist_seconds = time.monotonic() - start - r.log_seconds
    while session_probe:  # a session probe through the runner
        try:
            runner.run(engine, container_id, ['write "IRISENV-READY",!'], timeout=max(
                deadline - time.monotonic(), 1), what="the session probe")
            break
        except runner.ScriptError as exc:
            if time.monotonic() > deadline:
                raise not_ready(engine, container_id, instance, exc.why) from None
            time.sleep(0.1)
    r.probe_seconds = time.monotonic() - start - r.log_seconds - r.qlist_seconds
    return r


def licence_error(instance: str, container_id: str, line: str) -> IrisenvError:
    """The fix follows the log line. A Community image logs "Community License expired."
    before "Invalid Community Edition license, may have exceeded core limit", so the first
    line seen tells an expired licence from a core count over the limit. The Community
    Edition is limited to 20 cores (InterSystems, "Running InterSystems Products in
    Containers": https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=ADOCK)."""
    name = instance or container_id[:12]
    if re.search(r"expired", line, re.I):
        fix = ("the licence built into a Community image expires about 13 months after the "
               "image's release: use a current tag (e.g. latest-em) instead of an old pinned "
               "one; enterprise: renew the key named by license_key")
    elif re.search(r"core limit", line, re.I):
        key = f"instances.{instance}.cpus" if instance else "cpus"
        fix = (f"the Community Edition runs on at most {COMMUNITY_CORES} cores and this container "
               f"sees more: set {key} to {COMMUNITY_CORES} or fewer in iris-devtester.toml; "
               "if the log also says the licence expired, use a current tag (e.g. latest-em); "
               "enterprise: check license_key against cpus")
    else:
        fix = ("Community: use a current tag (e.g. latest-em) and at most "
               f"{COMMUNITY_CORES} cpus; enterprise: check license_key and cpus against the licence")
    return IrisenvError(f"instance {name} has a licence error",
                        f"the IRIS log says: {line.strip()}", fix)


def monitor_hung(engine, container_id: str, instance: str, seconds: float) -> IrisenvError:
    return IrisenvError(
        f"instance {instance or container_id[:12]}: the IRIS system monitor reports \"hung\"",
        f"`iris qlist` has said running with monitor state hung for {seconds:.0f} s: IRIS is "
        "up but stuck, and waiting longer does not fix that; last log lines:\n"
        + _indent(engine.logs_tail(container_id, 10)),
        "read `irisenv logs` for what went wrong, then recreate the container "
        "(`irisenv sync --recreate`)")


def not_ready(engine, container_id: str, instance: str, where: str) -> NotReadyError:
    return NotReadyError(
        f"instance {instance or container_id[:12]} was not ready in time",
        f"{where}; last log lines:\n" + _indent(engine.logs_tail(container_id, 10)),
        "raise --timeout (a cold IRIS start takes 20-60 s), or read `irisenv logs`")


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.rstrip().splitlines()[-15:]) or "      (empty)"
