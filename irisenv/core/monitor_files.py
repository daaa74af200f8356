"""The watcher's files in a container, read on the host (pure: text in, records out).

The monitoring watcher (irisenv/iris/watch.sh) keeps its state in MONDIR, one directory
inside the container: ``policy`` (what sync wrote), ``state`` (one line, rewritten at least
once a second), ``transitions.log``, ``samples.log`` and, while the user paused collection,
``pause``. This module parses those formats, says the one word `irisenv status` shows for
monitoring, and holds the shell text that reads them in the exec the host runs anyway
(the IRIS state probe, `monitor status`): shell built-ins only where the cost matters.
"""
from __future__ import annotations

from dataclasses import dataclass

from .desired import MONDIR

# ------------------------------------------------------------------ shell text
# Sets w=1 when the watcher recorded in watch.pid runs: "<pid> <start time>" (the start
# time is field 22 of /proc/<pid>/stat, as the watcher itself checks, so a pid reused
# after a restart is not taken for it); a file with the pid alone: that pid exists.
# Built-ins only, and no `set --` (a prelude must keep "$@" for its `exec "$@"`).
ALIVE = (
    'w=; p=; t=; { read -r p t _ < "$d/watch.pid"; } 2>/dev/null; '
    'case "$p" in ""|*[!0-9]*) ;; *) '
    'if [ -z "$t" ]; then if [ -d "/proc/$p" ]; then w=1; fi; '
    'elif { read -r l < "/proc/$p/stat"; } 2>/dev/null; then l=${l##*) }; i=1; '
    'while [ $i -lt 20 ]; do l=${l#* }; i=$((i+1)); done; '
    'if [ "${l%% *}" = "$t" ]; then w=1; fi; fi;; esac; ')

# Read in the IRIS state probe's own exec before its session starts (iris/runner.py
# prelude): built-ins only (read, test, printf), so the added cost is one shell. `state`,
# whether the user's `pause` file exists, and whether the watcher is alive.
PROBE_PRELUDE = (
    f"d={MONDIR}; {{ "
    's=; if IFS= read -r s < "$d/state" || [ -n "$s" ]; then printf "state %s\\n" "$s"; fi; '
    'if [ -e "$d/pause" ]; then echo pause; fi; '
    + ALIVE + 'if [ -n "$w" ]; then echo alive; fi; '
    "} 2>/dev/null")

# `monitor status`: every file the host shows, each after a line "@@ <name>" (a file that
# does not exist prints nothing after its line); "pause" and "alive" print 1 when the pause
# file exists (whatever it holds), when the watcher runs.
DUMP_PRELUDE = (
    f"d={MONDIR}; {{ "
    "for f in policy state; do echo \"@@ $f\"; cat \"$d/$f\"; echo; done; "
    'echo "@@ pause"; if [ -e "$d/pause" ]; then echo 1; fi; '
    'echo "@@ alive"; ' + ALIVE + 'if [ -n "$w" ]; then echo 1; fi; '
    'echo "@@ transitions"; tail -n "${IRISENV_MON_TAIL:-10}" "$d/transitions.log"; '
    "} 2>/dev/null")


def probe_watch(prelude_output: str) -> dict | None:
    """What PROBE_PRELUDE printed, as {"state": WatchState | None, "paused": bool,
    "alive": bool}; None when it printed nothing useful (no monitoring files)."""
    state, paused, alive = None, False, False
    for line in prelude_output.splitlines():
        if line.startswith("state "):
            state = parse_state(line[6:])
        elif line.strip() == "pause":
            paused = True
        elif line.strip() == "alive":
            alive = True
    if state is None and not paused:
        return None
    return {"state": state, "paused": paused, "alive": alive}


def split_dump(text: str) -> dict:
    """DUMP_PRELUDE's output: {file name: its text}; a name with no text is left out."""
    out, name, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith("@@ "):
            if name and "".join(lines).strip():
                out[name] = "\n".join(lines).strip("\n") + "\n"
            name, lines = line[3:].strip(), []
        elif name:
            lines.append(line)
    if name and "".join(lines).strip():
        out[name] = "\n".join(lines).strip("\n") + "\n"
    return out


# ------------------------------------------------------------------ records
@dataclass(frozen=True)
class WatchState:
    """The watcher's `state` line."""

    state: str  # collecting | suspended | paused | off
    reason: str  # cpu | memory | manual | disabled | -
    cpu: float | None  # percent of the CPUs the container may use; None: not known yet
    mem: float | None  # percent of its memory limit
    since: int | None  # epoch seconds of the last transition
    updated: int | None  # epoch seconds the watcher last wrote the line
    pid: int | None

    def as_dict(self) -> dict:
        return {"state": self.state, "reason": self.reason, "cpu": self.cpu, "mem": self.mem,
                "since": self.since, "updated": self.updated, "pid": self.pid}


@dataclass(frozen=True)
class Transition:
    at: int  # epoch seconds
    state: str  # collecting | suspended | paused | off | error
    reason: str
    cpu: float | None
    mem: float | None
    note: str = ""

    def as_dict(self) -> dict:
        return {"at": self.at, "state": self.state, "reason": self.reason, "cpu": self.cpu,
                "mem": self.mem, "note": self.note}


def _fields(text: str) -> dict:
    return dict(w.split("=", 1) for w in text.split() if "=" in w)


def _pct(v: str | None) -> float | None:
    try:
        return float(v) if v not in (None, "", "-") else None
    except ValueError:
        return None


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v not in (None, "", "-") else None
    except ValueError:
        return None


def parse_state(line: str) -> WatchState | None:
    """``state=suspended reason=cpu cpu=97.3 mem=40.1 since=... updated=... pid=...``;
    None for a line without a state."""
    f = _fields(line.strip())
    if not f.get("state"):
        return None
    return WatchState(state=f["state"], reason=f.get("reason", "-"), cpu=_pct(f.get("cpu")),
                      mem=_pct(f.get("mem")), since=_int(f.get("since")),
                      updated=_int(f.get("updated")), pid=_int(f.get("pid")))


def parse_policy(text: str) -> dict:
    """``key=value`` lines: integers as int, anything else (spdir) as text."""
    out: dict = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key or key.startswith("#"):
            continue
        value = value.strip()
        out[key] = int(value) if value.lstrip("-").isdigit() else value
    return out


def parse_transitions(text: str) -> list[Transition]:
    """``<epoch> <state> <reason> cpu=<pct> mem=<pct> [note]`` lines; others skipped."""
    out = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or not words[0].isdigit():
            continue
        rest, note, f = words[3:], [], {}
        for i, w in enumerate(rest):
            key, sep, value = w.partition("=")
            if sep and key in ("cpu", "mem") and not note:
                f[key] = value
            else:
                note = rest[i:]
                break
        out.append(Transition(at=int(words[0]), state=words[1], reason=words[2],
                              cpu=_pct(f.get("cpu")), mem=_pct(f.get("mem")),
                              note=" ".join(note)))
    return out


def parse_samples(text: str) -> list[tuple[int, float, float]]:
    """``<epoch> <cpu pct> <mem pct>`` lines, in file order; others skipped."""
    out = []
    for line in text.splitlines():
        words = line.split()
        if len(words) != 3:
            continue
        t, cpu, mem = _int(words[0]), _pct(words[1]), _pct(words[2])
        if t is not None and cpu is not None and mem is not None:
            out.append((t, cpu, mem))
    return out


# ------------------------------------------------------------------ the word
def word(state: WatchState | None, *, paused: bool = False, alive: bool = True) -> str:
    """What `irisenv status` shows for monitoring: ``collecting``, ``suspended: cpu 97 %``,
    ``paused``, ``off``; `` (watcher not running)`` after it when the watcher's pid is not
    alive (the state line is then its last word, not the current one)."""
    if paused:
        text = "paused"
    elif state is None or state.state == "off":
        return "off"
    elif state.state == "suspended":
        figure = state.cpu if state.reason == "cpu" else state.mem
        what = "mem" if state.reason == "memory" else state.reason
        text = (f"suspended: {what} {figure:.0f} %" if figure is not None and what in
                ("cpu", "mem") else f"suspended: {state.reason}")
    else:
        text = state.state
    return text if alive else f"{text} (watcher not running)"
