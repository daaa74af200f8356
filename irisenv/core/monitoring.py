"""The monitoring policy (`[instances.*.monitoring]`): what must hold inside IRIS and in the
container, what a probe found, and the one in-place action (`~`) that closes the gap. Pure.

What irisenv sets up for an enabled policy (docs/learnings/monitoring.md gives the sources):

- a ^SystemPerformance profile PROFILE sampling every ``interval`` seconds, ``count``
  samples, so one run lasts ``run_length`` = min(retention, 1 h);
- a Task Manager task TASK_NAME (%SYS.Task.RunLegacyTask) firing every minute whose
  ExecuteCode is the TICK line: when no run is recorded, or the recorded one has ended, it
  starts a run into SPDIR and records its id and end time in ^IRISENV("mon","run"/"end");
- the files in MONDIR the watcher uses (policy, suspend.cos, resume.cos, watch.sh).

irisenv's record is ^IRISENV("mon",...): "policy" (the last policy applied, encoded), "task"
(the id of the task irisenv created), "files" (the digest of the files installed), "run",
"start" and "end" (written by the TICK: the current run's id, its start and end in epoch
seconds). Only the task whose id is recorded is ever changed or deleted:
a task or profile made by hand (another name, another id) is never touched.

``IRISENV_MONITORING=off`` turns the policy off for one run of irisenv; it is read at the
edge (project.py, ``env_off``) and passed in.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..config.units import format_duration
from .desired import MONDIR, mgr_dir
from .iris_record import NO_CHANGES, RecordChanges

SPDIR_NAME = "irisenv-sysperf"  # under the instance's mgr/ directory
PROFILE = "irisenv"  # alphanumeric: ^SystemPerformance strips anything else from a name
TASK_NAME = "irisenv monitoring"
TASK_CLASS = "%SYS.Task.RunLegacyTask"
TASK_DESCRIPTION = "irisenv: keeps ^SystemPerformance runs of profile irisenv going"
# the Task Manager schedule: daily (TimePeriod 0), every day, several times a day, every
# 1 minute (its finest step), all day long
SCHEDULE = {"TimePeriod": 0, "TimePeriodEvery": 1, "DailyFrequency": 1,
            "DailyFrequencyTime": 0, "DailyIncrement": 1, "DailyStartTime": 0,
            "DailyEndTime": 86399}
SCHEDULE_KEYS = ("TimePeriod", "DailyFrequency", "DailyFrequencyTime", "DailyIncrement")
MAX_RUN = 3600  # seconds: one ^SystemPerformance run covers at most an hour
SAMPLE_MS, DISABLE_WINDOW_MS, ENABLE_WINDOW_MS = 250, 500, 10000  # the watcher's constants
ENV_VAR = "IRISENV_MONITORING"
OK_LINE = "IRISENV-MON-OK"  # the last output line of suspend.cos / resume.cos on success
FILES = ("policy", "suspend.cos", "resume.cos", "watch.sh")


def spdir(storage: str) -> str:
    """Where irisenv's ^SystemPerformance runs write (on the volume with durable storage)."""
    return f"{mgr_dir(storage)}/{SPDIR_NAME}/"


def env_off(environ) -> bool:
    """IRISENV_MONITORING=off (also 0, false, no): monitoring off for this run."""
    return (environ.get(ENV_VAR) or "").strip().lower() in ("off", "0", "false", "no")


# ------------------------------------------------------------------ the policy
@dataclass(frozen=True)
class Policy:
    enabled: bool = True
    interval: int = 30  # seconds between samples
    retention: int = 3600  # seconds of data kept
    cpu_disable: int = 90
    cpu_enable: int = 85
    memory_disable: int = 95
    memory_enable: int = 90
    spdir: str = ""  # the output directory (spdir(storage))
    off_by_env: bool = field(default=False, compare=False)  # IRISENV_MONITORING=off
    watch: str = field(default="", compare=False)  # sha256 of watch.sh ("" when absent)

    @property
    def run_length(self) -> int:
        return self.count * self.interval

    @property
    def count(self) -> int:
        return max(min(self.retention, MAX_RUN) // self.interval, 1)

    def encode(self) -> str:
        """The record's "policy" node: the applied values, ^-separated integers."""
        return "^".join(str(int(v)) for v in (
            self.enabled, self.interval, self.retention, self.cpu_disable, self.cpu_enable,
            self.memory_disable, self.memory_enable))

    def summary(self) -> str:
        return (f"every {format_duration(self.interval)}, keep {format_duration(self.retention)}; "
                f"suspend at cpu>{self.cpu_disable}% or mem>{self.memory_disable}%")


def decode(text: str, spdir_: str = "") -> Policy | None:
    """A Policy from the record's "policy" node; None when absent or not readable."""
    parts = (text or "").split("^")
    if len(parts) < 7 or not all(p.isdigit() for p in parts[:7]):
        return None
    e, i, r, cd, ce, md, me = (int(p) for p in parts[:7])
    if i < 1:
        return None
    return Policy(bool(e), i, r, cd, ce, md, me, spdir=spdir_)


def policy(mon, storage: str, *, off: bool = False, watch: str = "") -> Policy:
    """The policy of an instance's `monitoring` table (config/model.Monitoring); ``off``:
    IRISENV_MONITORING=off for this run; ``watch``: sha256 of the watcher script."""
    return Policy(enabled=bool(mon.enabled) and not off, interval=int(mon.interval),
                  retention=int(mon.retention), cpu_disable=int(mon.cpu_disable),
                  cpu_enable=int(mon.cpu_enable), memory_disable=int(mon.memory_disable),
                  memory_enable=int(mon.memory_enable), spdir=spdir(storage),
                  off_by_env=off and bool(mon.enabled), watch=watch)


# ------------------------------------------------------------------ container files
def policy_text(p: Policy) -> str:
    """MONDIR/policy: key=value lines, integers only (and spdir), read by the watcher."""
    rows = (("enabled", int(p.enabled)), ("interval_s", p.interval),
            ("retention_s", p.retention), ("cpu_disable", p.cpu_disable),
            ("cpu_enable", p.cpu_enable), ("memory_disable", p.memory_disable),
            ("memory_enable", p.memory_enable), ("sample_ms", SAMPLE_MS),
            ("disable_window_ms", DISABLE_WINDOW_MS), ("enable_window_ms", ENABLE_WINDOW_MS),
            ("spdir", p.spdir))
    return "".join(f"{k}={v}\n" for k, v in rows)


def _quote(text: str) -> str:
    """An ObjectScript string literal."""
    return '"' + text.replace('"', '""') + '"'


def _check_path(path: str) -> str:
    if not path.startswith("/") or any(c in path for c in '"\r\n\\'):
        raise ValueError(f"not a path irisenv writes into ObjectScript: {path!r}")
    return path


def tick(p: Policy) -> str:
    """The Task Manager task's ExecuteCode, one line with literals only (a Task Manager job
    does not see irisenv's exec environment): when the recorded run ends within the minute
    (or none is recorded), start a run of PROFILE into SPDIR, restoring the instance's log
    directory and the current device afterwards, and record the run id, its start and its end
    (epoch seconds). Runs overlap by up to a minute (the task's step) rather than leave a
    gap. A run that started before IRIS did (now - $ZHOROLOG: the container restarted) is
    gone: a new one starts at once instead of waiting for the old one's end."""
    d = _quote(_check_path(p.spdir))
    return ('set t=$ZDATETIME($HOROLOG,-2) if (\'(t+60<$Get(^IRISENV("mon","end"))))'
            '!(t-$ZHOROLOG>$Get(^IRISENV("mon","start"))) { '
            'set io=$IO,d=$$getlogdir^SystemPerformance() '
            f'do setlogdir^SystemPerformance({d}) '
            f'set r=$$run^SystemPerformance({_quote(PROFILE)}) use io '
            'do setlogdir^SystemPerformance(d) '
            f'if r\'=0 {{ set ^IRISENV("mon","run")=r,^IRISENV("mon","start")=t,'
            f'^IRISENV("mon","end")=t+{p.run_length} }} }}')


_COS_CATCH = ' catch ex { write !,"IRISENV-ERR:",ex.DisplayString(),! halt }'
_THROW = "if 'sc { throw ##class(%Exception.StatusException).CreateFromStatus(sc) }"
STOP_RUN = ('set r=$Get(^IRISENV("mon","run")) if r\'="" { set x=$$Stop^SystemPerformance(r,0) } '
            'kill ^IRISENV("mon","end")')


def suspend_cos() -> str:
    """MONDIR/suspend.cos: suspend the task and stop the current run, keeping its files
    (Stop with 0 also writes its report). Idempotent; ends with OK_LINE."""
    return ('try { set id=$Get(^IRISENV("mon","task")) if id\'="" { '
            f'set sc=##class(%SYS.Task).Suspend(id) {_THROW} }} {STOP_RUN} '
            f'write !,"{OK_LINE}",! halt }}' + _COS_CATCH + "\nhalt\n")


def resume_cos(p: Policy) -> str:
    """MONDIR/resume.cos: resume the task and start a run now (the TICK). Idempotent."""
    return ('try { set id=$Get(^IRISENV("mon","task")) if id\'="" { '
            f'set sc=##class(%SYS.Task).Resume(id) {_THROW} }} {tick(p)} '
            f'write !,"{OK_LINE}",! halt }}' + _COS_CATCH + "\nhalt\n")


def files(p: Policy, watch: bytes | None) -> dict:
    """{path in the container: content} of MONDIR; watch.sh only when it ships."""
    out = {f"{MONDIR}/policy": policy_text(p).encode(),
           f"{MONDIR}/suspend.cos": suspend_cos().encode(),
           f"{MONDIR}/resume.cos": resume_cos(p).encode()}
    if watch is not None:
        out[f"{MONDIR}/watch.sh"] = watch
    return out


def files_digest(p: Policy) -> str:
    """What the record's "files" node holds once MONDIR has this policy's files."""
    h = hashlib.sha256()
    for part in (policy_text(p), suspend_cos(), resume_cos(p), p.watch):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


# ------------------------------------------------------------------ observed
@dataclass(frozen=True)
class TaskSeen:
    """The recorded task as the probe read it."""

    name: str = ""
    namespace: str = ""
    task_class: str = ""
    schedule: str = ""  # TimePeriod,DailyFrequency,DailyFrequencyTime,DailyIncrement
    code_ok: bool = False  # its ExecuteCode is this policy's TICK
    suspended: bool | None = None


@dataclass(frozen=True)
class MonObserved:
    recorded: Policy | None = None  # ^IRISENV("mon","policy")
    task_id: str = ""  # ^IRISENV("mon","task")
    task: TaskSeen | None = None  # None: no task with the recorded id
    profile: tuple | None = None  # (interval, count) of PROFILE; None: absent
    profile_known: bool = True  # False: the profile could not be read (kept from the record)
    files: str = ""  # ^IRISENV("mon","files")
    files_present: bool = False  # MONDIR/policy exists
    run: str = ""  # ^IRISENV("mon","run")
    end: int = 0  # ^IRISENV("mon","end")

    @property
    def anything(self) -> bool:
        """Something irisenv made is recorded."""
        return bool(self.recorded or self.task_id or self.files)


def schedule_text() -> str:
    return ",".join(str(SCHEDULE[k]) for k in SCHEDULE_KEYS)


def task_ok(t: TaskSeen | None) -> bool:
    return (t is not None and t.name == TASK_NAME and t.namespace == "%SYS"
            and t.task_class == TASK_CLASS and t.schedule == schedule_text() and t.code_ok)


# ------------------------------------------------------------------ the action
@dataclass(frozen=True)
class ConvergeMonitoring:
    """Enable, update or remove the monitoring policy in place."""

    policy: Policy
    change: str  # "enable" | "update" | "remove"
    details: tuple = ()  # what changes, e.g. ("interval 30s -> 10s",)
    profile: bool = True  # (re)define the profile (stops the current run, keeping its files)
    kind = "monitoring"
    symbol = "~"

    def describe(self) -> str:
        if self.change == "enable":
            return f"monitoring: enable ({self.policy.summary()})"
        if self.change == "remove":
            why = "IRISENV_MONITORING=off" if self.policy.off_by_env else "disabled"
            return f"monitoring: remove ({why})"
        return "monitoring: " + "; ".join(self.details)

    def record(self, created: int, run: str) -> RecordChanges:
        return NO_CHANGES  # its own statements write ^IRISENV("mon",...) (iris/monitoring.py)


def _pair(name: str, old: int, new: int, fmt=format_duration) -> list:
    return [f"{name} {fmt(old)} -> {fmt(new)}"] if old != new else []


def _pct(v: int) -> str:
    return f"{v}%"


def plan(want: Policy | None, seen: MonObserved | None) -> tuple:
    """The monitoring action that brings ``seen`` to ``want`` (empty when nothing to do, or
    when the probe did not read monitoring). A runtime state (the task suspended by the
    watcher, the current run) is never planned against."""
    if want is None or seen is None:
        return ()
    if not want.enabled:
        return (ConvergeMonitoring(want, "remove"),) if seen.anything else ()
    old = seen.recorded
    want_profile = (want.interval, want.count)
    if old is None:
        return (ConvergeMonitoring(want, "enable"),)
    details = (_pair("interval", old.interval, want.interval)
               + _pair("retention", old.retention, want.retention)
               + _pair("cpu_disable", old.cpu_disable, want.cpu_disable, _pct)
               + _pair("cpu_enable", old.cpu_enable, want.cpu_enable, _pct)
               + _pair("memory_disable", old.memory_disable, want.memory_disable, _pct)
               + _pair("memory_enable", old.memory_enable, want.memory_enable, _pct))
    if not old.enabled:
        details.insert(0, "enable")
    profile = (old.interval, old.count) != want_profile
    if seen.profile is None and seen.profile_known:
        details.append("profile missing -> defined")
        profile = True
    elif seen.profile is not None and seen.profile != want_profile and not profile:
        details.append(f"profile {PROFILE} (every {seen.profile[0]}s x {seen.profile[1]}) -> "
                       f"every {want.interval}s x {want.count}")
        profile = True
    if seen.task is None:
        details.append("task missing -> created")
    elif not task_ok(seen.task) and not details:
        details.append("task differs -> updated")
    if not seen.files_present:
        details.append(f"files in {MONDIR} missing -> installed")
    elif seen.files != files_digest(want) and not details:
        details.append(f"files in {MONDIR} outdated -> installed")
    if not details:
        return ()
    return (ConvergeMonitoring(want, "update", tuple(details), profile=profile),)
