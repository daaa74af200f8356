"""`irisenv monitor`: the monitoring policy seen and steered from the host.

Each verb costs one exec per instance (plus, for `report`, one engine copy per file):
- status: the watcher's files in MONDIR (core/monitor_files.DUMP_PRELUDE) and IRIS's side
  (irisenv's record ^IRISENV("mon",...), the task's Suspended flag) in one `sh -c` that
  then runs the session (iris/runner.py prelude). When IRIS does not answer, the files
  still come back and the IRIS part says why.
- pause / resume: one `sh -c` that creates (removes) MONDIR/pause, then pipes MONDIR's
  suspend.cos into `iris session` (success: the script's last line IRISENV-MON-OK); a
  resume leaves the action to a running watcher, which knows the load (see _ACT).
- report: see :func:`report`.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from .core import monitor_files as mf
from .errors import IrisenvError

_PROMPT = re.compile(r"^(?:[%\w-]+>\s*)+")
OK_LINE = "IRISENV-MON-OK"  # the last output line of suspend.cos / resume.cos on success
READ_TIMEOUT = 30
ACT_TIMEOUT = 60  # suspend stops a run, which writes its report: give it time

# IRIS's side, read in the status exec: every ^IRISENV("mon",k) node (run, end, task, ...,
# written by sync and by the task's tick) and the recorded task's Suspended flag
# (%SYS.Task: https://docs.intersystems.com/iris20251/csp/documatic/%25CSP.Documatic.cls
# ?LIBRARY=%25SYS&CLASSNAME=%25SYS.Task). ^IRISENV and %SYS.Task live in %SYS.
READ_STATEMENTS = (
    'set k="" for { set k=$Order(^IRISENV("mon",k)) quit:k=""  '
    'write "IRISENV-VAL:mon.",k,"=",$Get(^IRISENV("mon",k)),! }',
    ("set id=$Get(^IRISENV(\"mon\",\"task\")) if id'=\"\",##class(%SYS.Task).%ExistsId(id) { "
     'set t=##class(%SYS.Task).%OpenId(id) write "IRISENV-VAL:task.suspended=",t.Suspended,! }',
     "task"),
)
# `report --now`: an interim report of the current run, written next to the others
# ($$Preview^SystemPerformance(runid) -> "1^<file>" or "0^<reason>":
# https://docs.intersystems.com/iris20251/csp/docbook/DocBook.UI.Page.cls?KEY=GCM_systemperf)
PREVIEW_STATEMENT = ('set r=$Get(^IRISENV("mon","run")) if r\'="" { '
                     'write "IRISENV-VAL:preview=",$$Preview^SystemPerformance(r),! }')


def _statements(items) -> list:
    from .iris.runner import Tolerant

    return [Tolerant(*s) if isinstance(s, tuple) else s for s in items]


# ------------------------------------------------------------------ the container
def running_container(project, instance: str | None, *, stopped_ok: bool = False):
    """(the instance's config, its running container); IrisenvError when there is none
    (``stopped_ok``: a container that exists will do)."""
    from .core.labels import container_name

    inst = project.config.instance(instance)
    name = container_name(project.name, inst.name)
    c = next((c for c in project.engine.list_project(project.name) if c.name == name
              and c.state not in ("removing", "dead")), None)
    if c is None:
        raise IrisenvError(f"instance {inst.name} has no container",
                           f"no container {name} with irisenv's labels exists",
                           "run `irisenv sync` first")
    if c.state != "running" and not (stopped_ok and c.state in ("exited", "created")):
        raise IrisenvError(f"instance {inst.name} is not running",
                           f"its container {name} is {c.state}", "run `irisenv sync`")
    return inst, c


def config_policy(inst) -> dict:
    """The monitoring policy the config declares (seconds and percent)."""
    m = inst.monitoring
    return {k: getattr(m, k) for k in ("enabled", "interval", "retention", "cpu_disable",
                                       "cpu_enable", "memory_disable", "memory_enable")}


# ------------------------------------------------------------------ status
def status(project, instance: str | None, *, transitions: int = 10) -> dict:
    """One instance's monitoring, for `irisenv monitor status` (JSON shape in docs/cli.md)."""
    from .iris import runner

    inst, c = running_container(project, instance)
    prelude = mf.DUMP_PRELUDE.replace("${IRISENV_MON_TAIL:-10}", str(int(transitions)))
    iris: dict = {}
    try:
        res = runner.run(project.engine, c.id, _statements(READ_STATEMENTS),
                         timeout=READ_TIMEOUT, what="the monitoring read", prelude=prelude)
        said, values = res.prelude, res.values
    except runner.ScriptError as exc:
        said, values = getattr(exc, "prelude", ""), exc.values
        iris["error"] = exc.why
    except IrisenvError as exc:  # the exec itself failed (timed out): nothing came back
        said, values = "", {}
        iris["error"] = f"{exc.what}: {exc.why}"
    files = mf.split_dump(said)
    return assemble(inst.name, c.name, config_policy(inst), files, values, iris)


def assemble(instance: str, container: str, declared: dict, files: dict, values: dict,
             iris: dict) -> dict:
    """The status record from what the exec returned (pure; tested on its own)."""
    state = mf.parse_state(files.get("state", ""))
    paused = files.get("pause", "").strip() == "1"
    alive = files.get("alive", "").strip() == "1"
    installed = "policy" in files
    rec = {k.removeprefix("mon."): v for k, v in values.items() if k.startswith("mon.")}
    if "error" not in iris:
        suspended = values.get("task.suspended")
        iris.update(task=("absent" if not rec.get("task") else
                          "unknown" if suspended in (None, "?") else
                          "running" if suspended == "0" else "suspended"),
                    task_id=rec.get("task") or None, run=rec.get("run") or None,
                    run_ends=_int(rec.get("end")))
    return {
        "instance": instance, "container": container,
        "policy": declared,
        "installed": installed,  # sync wrote MONDIR's files
        "applied": mf.parse_policy(files.get("policy", "")) if installed else None,
        "word": mf.word(state, paused=paused, alive=alive or state is None),
        "watcher": {**(state.as_dict() if state else {"state": None}),
                    "paused": paused, "running": alive},
        "transitions": [t.as_dict() for t in mf.parse_transitions(files.get("transitions", ""))],
        "iris": iris,
    }


def _int(v) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------ pause / resume
# One exec. pause: write the pause file, then pipe suspend.cos into `iris session` (the
# watcher, seeing the file, never resumes; its own suspend, if it also acts, is idempotent).
# resume: remove the pause file; then, when a watcher runs, leave the action to it (it
# resumes collection, or keeps it suspended while the load is over a threshold; a resume
# here would start collecting behind its back) and wait until its state leaves `paused`,
# printing that line; with no watcher running, pipe resume.cos. Exit 10: no
# suspend.cos/resume.cos (sync did not set monitoring up); 11: the policy says enabled=0;
# 12: the pause file could not be written or removed; 13: the watcher did not act within
# RESUME_WAIT.
STATE_TAG = "IRISENV-MON-STATE:"
RESUME_WAIT = 5  # seconds (the watcher samples every 250 ms, then runs resume.cos)
_SESSION = 'exec iris session "${ISC_PACKAGE_INSTANCENAME:-IRIS}" -U %SYS < "$d/$a.cos"'
_ACT = (f'd={mf.MONDIR}; a="$1"; '
        '[ -f "$d/$a.cos" ] || exit 10; '
        'grep -q "^enabled=1" "$d/policy" 2>/dev/null || exit 11; '
        'if [ "$a" = suspend ]; then date +%s > "$d/pause.tmp" && mv -f "$d/pause.tmp" "$d/pause" '
        f'|| exit 12; {_SESSION}; fi; '
        'rm -f "$d/pause" || exit 12; ' + mf.ALIVE +
        'if [ -n "$w" ]; then n=0; while [ $n -lt ' + str(RESUME_WAIT * 20) + ' ]; do s=; '
        '{ IFS= read -r s < "$d/state"; } 2>/dev/null; case "$s" in ""|"state=paused "*) ;; '
        f'*) echo "{STATE_TAG} $s"; exit 0;; esac; sleep 0.05; n=$((n+1)); done; exit 13; fi; '
        + _SESSION)


def act(project, instance: str | None, action: str) -> dict:
    """``action`` "pause" or "resume" in one instance: the pause file and the IRIS side,
    in one exec. Returns {"instance", "action", "seconds", "by", "word"} ("by": "iris" when
    the exec ran the script, "watcher" when the watcher resumed; "word": the watcher's word
    after a resume it made); IrisenvError on failure."""
    inst, c = running_container(project, instance)
    script = "suspend" if action == "pause" else "resume"
    t0 = time.monotonic()
    res = project.engine.exec(c.id, ["sh", "-c", _ACT, "sh", script], timeout=ACT_TIMEOUT)
    seconds = time.monotonic() - t0
    state = check_act(inst.name, action, res)
    return {"instance": inst.name, "action": action, "seconds": round(seconds, 3),
            "by": "watcher" if state else "iris",
            "word": mf.word(state) if state else ("paused" if action == "pause" else None)}


def check_act(instance: str, action: str, res):
    """None when the exec ended with the script's IRISENV-MON-OK line; the watcher's new
    state when it made the resume; else IrisenvError."""
    verb = f"monitor {action}"
    if res.exit_code == 10:
        raise IrisenvError(f"{verb}: monitoring is not set up in instance {instance}",
                           f"its container has no {mf.MONDIR}/ files (sync writes them when "
                           "monitoring is enabled)",
                           f"check [instances.{instance}.monitoring] enabled = true (the "
                           "default) and IRISENV_MONITORING, then run `irisenv sync`")
    if res.exit_code == 11:
        raise IrisenvError(f"{verb}: monitoring is disabled in instance {instance}",
                           "the policy sync last applied says enabled=0: there is nothing to "
                           f"{action}",
                           f"set [instances.{instance}.monitoring] enabled = true and run "
                           "`irisenv sync` (without IRISENV_MONITORING=off)")
    if res.exit_code == 12:
        raise IrisenvError(f"{verb}: could not write {mf.MONDIR}/pause in instance {instance}",
                           (res.stderr or res.stdout).strip() or "the shell could not write it",
                           "check that the directory belongs to the container's user "
                           "(irisowner); `irisenv sync` reinstalls it")
    # a piped session may print its prompt ("%SYS>") before a line's output and after the
    # last: the prompt is not output
    if res.exit_code == 13:
        raise IrisenvError(f"{verb}: the watcher did not resume collection in instance "
                           f"{instance}", f"the pause file is removed, but the watcher's state "
                           f"still says paused after {RESUME_WAIT}s",
                           "see `irisenv monitor status` (its last transitions); `irisenv "
                           "sync` restarts the watcher")
    said = next((line.split(STATE_TAG, 1)[1].strip() for line in res.stdout.splitlines()
                 if line.startswith(STATE_TAG)), None)
    if res.exit_code == 0 and said is not None:
        state = mf.parse_state(said)
        if state is None or (state.state == "suspended" and state.reason == "manual"):
            raise IrisenvError(f"{verb}: the watcher could not resume collection in instance "
                               f"{instance}", f"its state: {said} (its resume script failed)",
                               "see `irisenv monitor status` (the error in its last "
                               "transitions) and `irisenv logs`")
        return state
    lines = [_PROMPT.sub("", line).strip() for line in (res.stdout + res.stderr).splitlines()]
    lines = [line for line in lines if line]
    if res.exit_code == 0 and lines and lines[-1] == OK_LINE:
        return None
    err = next((line.split("IRISENV-ERR:", 1)[1].strip() for line in reversed(lines)
                if "IRISENV-ERR:" in line), None)
    said = err or (lines[-1] if lines else "no output")
    state = "the pause file is in place" if action == "pause" else "the pause file is removed"
    raise IrisenvError(f"{verb}: IRIS did not confirm in instance {instance}",
                       f"`iris session` exited {res.exit_code} without {OK_LINE}: {said} "
                       f"({state}; the watcher follows it)",
                       "read `irisenv logs`; if IRIS is still starting, retry; `irisenv "
                       "sync` reinstalls the monitoring scripts")


# ------------------------------------------------------------------ report
GITIGNORE = ("# made by `irisenv monitor report`: reports are not committed by default;\n"
             "# delete this file to commit them\n*\n")


def default_out(project, instance: str, now: float | None = None) -> Path:
    """./irisenv-reports/<project>-<instance>-<YYYYmmdd-HHMMSS>/ under the working
    directory: reports are the user's files, put where the user stands (never the state
    directory, which is irisenv's own)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now or time.time()))
    return Path.cwd() / "irisenv-reports" / f"{project.name}-{instance}-{stamp}"


# lists SPDIR's reports (SPDIR as the policy file names it) and prints the files the
# overview needs, in one exec
_LIST = (f'd={mf.MONDIR}; {{ s=$(sed -n "s/^spdir=//p" "$d/policy"); '
         'echo "@@ samples"; cat "$d/samples.log"; '
         'echo "@@ transitions"; cat "$d/transitions.log"; echo "@@ policy"; cat "$d/policy"; '
         'echo "@@ reports"; if [ -n "$s" ] && [ -d "$s" ]; then '
         'for f in "${s%/}"/*.html; do [ -f "$f" ] && echo "$f"; done; fi; '
         'echo "@@ now"; date +%s; } 2>/dev/null')


def report(project, instance: str | None, out: Path | None, *, now: bool = False,
           on_step=None) -> dict:
    """Copy the instance's ^SystemPerformance reports (SPDIR/*.html) into ``out`` through
    the engine (remote engines too), with samples.log and transitions.log, and write
    overview.html there. ``now``: first ask IRIS for an interim report of the current run.
    A stopped container's files are copied all the same (the engine copies out of a
    stopped container; then SPDIR is copied whole and its reports kept).
    Returns {"out", "reports", "preview", "overview", ...}."""
    from .report.overview import render

    inst, c = running_container(project, instance, stopped_ok=True)
    engine, step = project.engine, on_step or (lambda text: None)
    preview = None
    if now and c.state == "running":
        preview = _preview(engine, c.id, inst.name)
        step(f"interim report of run {preview['run']}: {preview['file']}" if preview.get("file")
             else f"warning: no interim report: {preview['why']}")
    elif now:
        preview = {"run": None, "why": f"the container is {c.state}"}
        step(f"warning: no interim report: {preview['why']}")
    if c.state == "running":
        files = mf.split_dump(engine.exec(c.id, ["sh", "-c", _LIST], timeout=READ_TIMEOUT).stdout)
    else:
        files = _copied_files(engine, c.id)
    if "policy" not in files:
        raise IrisenvError(f"monitor report: monitoring is not set up in instance {inst.name}",
                           f"its container has no {mf.MONDIR}/policy (sync writes it when "
                           "monitoring is enabled)",
                           f"check [instances.{inst.name}.monitoring] enabled = true (the "
                           "default), then run `irisenv sync`")
    out = _out_dir(project, inst.name, out)
    if c.state == "running":
        paths = [p.strip() for p in files.get("reports", "").split("\n") if p.strip()]
        made = (preview or {}).get("file") or ""
        if made.startswith("/") and made not in paths:  # an interim report written elsewhere
            paths.append(made)
        reports = []
        for path in paths:
            try:
                reports += engine.get_files(c.id, path, str(out))
            except IrisenvError as exc:  # e.g. purged by the watcher since the listing
                step(f"warning: {Path(path).name} not copied: {exc.why or exc.what}")
                continue
            step(f"copied {Path(path).name}")
    else:
        reports = _copy_spdir(engine, c.id, files, out)
        step(f"copied {len(reports)} report(s) out of the {c.state} container")
    for name in ("samples", "transitions"):
        (out / f"{name}.log").write_text(files.get(name, ""))
    samples = mf.parse_samples(files.get("samples", ""))
    page = render(instance=inst.name, project=project.name,
                  policy=mf.parse_policy(files["policy"]), samples=samples,
                  transitions=mf.parse_transitions(files.get("transitions", "")),
                  reports=sorted(reports), now=_int(files.get("now", "").strip()))
    (out / "overview.html").write_text(page)
    return {"instance": inst.name, "out": str(out), "reports": sorted(reports),
            "preview": preview, "overview": str(out / "overview.html"),
            "samples": len(samples)}


def _out_dir(project, instance: str, out: Path | None) -> Path:
    """``out`` (or the default) made; IrisenvError when it cannot be written."""
    given = out is not None
    out = Path(out) if given else default_out(project, instance)
    try:
        if not given and not out.parent.exists():  # irisenv-reports/ made here: keep it
            out.parent.mkdir(parents=True)          # out of git status
            (out.parent / ".gitignore").write_text(GITIGNORE)
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".irisenv-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise IrisenvError(f"monitor report: cannot write to {out}",
                           f"{exc.strerror or exc}" + ("" if given else
                                                       " (the default is under the working "
                                                       "directory)"),
                           "pass --out DIR, a directory you can write") from None
    return out


def _copied_files(engine, container_id: str) -> dict:
    """MONDIR's files of a stopped container, as _LIST gives them of a running one (no
    "now": the window then ends at the last sample)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="irisenv-mon-") as tmp:
        try:
            engine.get_files(container_id, mf.MONDIR, tmp)
        except IrisenvError:
            return {}
        base = Path(tmp) / Path(mf.MONDIR).name
        return {name: (base / file).read_text(errors="replace")
                for name, file in (("policy", "policy"), ("samples", "samples.log"),
                                   ("transitions", "transitions.log"))
                if (base / file).is_file()}


def _copy_spdir(engine, container_id: str, files: dict, out: Path) -> list:
    """A stopped container's SPDIR copied whole (there is no listing without an exec);
    its HTML reports moved into ``out``, the rest (run logs) dropped."""
    import shutil
    import tempfile

    spdir = str(mf.parse_policy(files.get("policy", "")).get("spdir", "")).rstrip("/")
    if not spdir:
        return []
    with tempfile.TemporaryDirectory(prefix="irisenv-mon-") as tmp:
        try:
            copied = engine.get_files(container_id, spdir, tmp)
        except IrisenvError:
            return []
        reports = []
        for rel in copied:
            if rel.endswith(".html") and rel.count("/") == 1:  # SPDIR's own, not nested
                name = Path(rel).name
                shutil.move(str(Path(tmp) / rel), str(out / name))
                reports.append(name)
        return reports


def _preview(engine, container_id: str, instance: str) -> dict:
    """Ask IRIS for an interim report of the recorded current run: {"run", "file"} or
    {"run", "why"} when IRIS said no (a report is still written of what exists)."""
    from .iris import runner

    try:
        values = runner.run(engine, container_id, [READ_STATEMENTS[0], PREVIEW_STATEMENT],
                            timeout=ACT_TIMEOUT, what="the interim report").values
    except runner.ScriptError as exc:  # the reports that exist are copied all the same
        return {"run": None, "why": f"the request failed: {exc.why}"}
    run = values.get("mon.run") or None
    said = values.get("preview")
    if not run:
        return {"run": None, "why": "no run is recorded (collection is suspended, paused or "
                "not started yet)"}
    ok, _, detail = (said or "").partition("^")
    if ok == "1":
        return {"run": run, "file": detail}
    return {"run": run, "why": detail or f"IRIS answered {said!r}"}
