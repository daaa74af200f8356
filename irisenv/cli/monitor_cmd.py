"""irisenv monitor status|pause|resume|report: the monitoring policy from the host
(irisenv/monitor_host.py does the work; docs/cli.md#irisenv-monitor)."""
from __future__ import annotations

import argparse
import sys

from .common import print_json


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="monitor_action", metavar="ACTION", parser_class=type(p),
                           required=True)
    s = sub.add_parser("status", help="policy, task, watcher state, last transitions, figures",
                       description="The monitoring of each instance (or INSTANCE): the policy "
                                   "(config and applied), IRIS's task and current run, the "
                                   "watcher's state and why, its last transitions, the latest "
                                   "CPU and memory figures. One exec per instance.")
    s.add_argument("instance", nargs="?", metavar="INSTANCE", help="default: every instance")
    s.add_argument("-n", "--transitions", type=int, default=10, metavar="N",
                   help="how many of the last transitions to show (default 10)")
    pa = sub.add_parser("pause", help="suspend collection until `monitor resume`",
                        description="Suspend collection now and keep it suspended: the watcher "
                                    "does not resume it, whatever the load, until `irisenv "
                                    "monitor resume`. Survives container restarts (not a "
                                    "replace).")
    re_ = sub.add_parser("resume", help="undo `monitor pause`: collect again now",
                         description="Remove the pause and start collecting now; the watcher "
                                     "suspends again if the load is over the thresholds.")
    for q in (pa, re_):
        q.add_argument("instance", nargs="?", metavar="INSTANCE",
                       help="default: every running instance with monitoring enabled")
    r = sub.add_parser("report", help="copy the reports out and write overview.html",
                       description="Copy INSTANCE's ^SystemPerformance HTML reports, "
                                   "samples.log and transitions.log out of the container "
                                   "(remote engines too) and write overview.html: CPU and "
                                   "memory over the retention window, thresholds and "
                                   "transitions marked, links to each report.")
    r.add_argument("instance", nargs="?", metavar="INSTANCE",
                   help="default: the first declared instance")
    r.add_argument("--out", metavar="DIR",
                   help="where to write (made when missing; default ./irisenv-reports/"
                        "<project>-<instance>-<YYYYmmdd-HHMMSS>/)")
    r.add_argument("--now", action="store_true",
                   help="first have IRIS write an interim report of the current run")
    for q in (s, pa, re_, r):
        q.add_argument("--json", action="store_true", help="JSON on stdout")
        q.add_argument("-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
                       help="config file (as before the verb)")
    p.set_defaults(_run=run)


def run(args) -> int:
    from .common import load_project

    project = load_project(args)
    return {"status": _status, "pause": _act, "resume": _act,
            "report": _report}[args.monitor_action](project, args)


def _instances(project, name: str | None) -> list[str]:
    if name is not None:
        return [project.config.instance(name).name]
    return list(project.config.instances)


def _status(project, args) -> int:
    from ..errors import IrisenvError
    from ..monitor_host import config_policy, status
    from ..observe import concurrently

    names = _instances(project, args.instance)

    def one(name):
        try:
            return status(project, name, transitions=max(args.transitions, 0))
        except IrisenvError as exc:
            if args.instance is not None:
                raise
            return {"instance": name, "error": exc.what, "why": exc.why,
                    "policy": config_policy(project.config.instance(name))}

    rows = concurrently([lambda n=n: one(n) for n in names])
    if args.json:
        print_json({"project": project.name, "instances": rows})
        return 0
    for i, row in enumerate(rows):
        if i:
            print()
        _print_status(row)
    return 0


def _when(t) -> str:
    """The local time of epoch ``t``; with its date unless it is today."""
    import time

    if not t:
        return "-"
    same_day = time.localtime(t)[:3] == time.localtime()[:3]
    return time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S", time.localtime(t))


def _ago(t) -> str:
    import time

    if not t:
        return "-"
    s = max(int(time.time() - t), 0)
    ago = (f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else
           f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")
    return f"{_when(t)} ({ago} ago)"


def _policy_text(p: dict) -> str:
    from ..config.units import format_duration

    if not p.get("enabled"):
        return "disabled"
    return (f"every {format_duration(p['interval'])}, keep {format_duration(p['retention'])}; "
            f"suspend at cpu > {p['cpu_disable']} % or mem > {p['memory_disable']} %, "
            f"resume below cpu {p['cpu_enable']} % and mem {p['memory_enable']} %")


def _print_status(row: dict) -> None:
    name = row["instance"]
    print(f"{name}: policy: {_policy_text(row['policy'])}")
    if row.get("error"):
        print(f"  {row['error']} ({row['why']})")
        return
    if not row["installed"]:
        print("  not set up in the container (no monitoring files): `irisenv sync` sets it up")
    w = row["watcher"]
    print(f"  monitoring: {row['word']}")
    if w.get("state"):
        print(f"  watcher: {w['state']} (reason {w['reason']}) since {_ago(w['since'])}; "
              f"cpu {_num(w['cpu'])}, mem {_num(w['mem'])} at {_ago(w['updated'])}"
              + ("" if w["running"] else "; the watcher is NOT running"))
    if w.get("paused"):
        print("  paused by `irisenv monitor pause`: `irisenv monitor resume` undoes it")
    iris = row["iris"]
    if iris.get("error"):
        print(f"  IRIS: not read ({iris['error']})")
    else:
        run = iris.get("run")
        ends = iris.get("run_ends")
        print(f"  IRIS: task {iris['task']}" + (f" (id {iris['task_id']})" if iris.get("task_id")
                                                 else "")
              + (f"; current run {run}" + (f", ends {_when(ends)}" if ends else "")
                 if run else "; no run recorded"))
    trs = row["transitions"]
    if trs:
        print("  last transitions:")
        for t in trs:
            print(f"    {_when(t['at'])}  {t['state']:<10} {t['reason']:<7} "
                  f"cpu {_num(t['cpu'])}, mem {_num(t['mem'])}" + (f"  {t['note']}" if t['note']
                                                                   else ""))


def _num(v) -> str:
    return "-" if v is None else f"{v:.1f} %"


def _act(project, args) -> int:
    from ..errors import IrisenvError
    from ..monitor_host import act
    from ..observe import concurrently

    names = _instances(project, args.instance)
    if args.instance is None:  # every instance that has monitoring to pause or resume
        names = _actionable(project, names)

    def one(name):
        try:
            return act(project, name, args.monitor_action)
        except IrisenvError as exc:
            if len(names) == 1:
                raise
            return {"instance": name, "action": args.monitor_action, "error": exc}

    rows = concurrently([lambda n=n: one(n) for n in names])
    failed = [r for r in rows if r.get("error")]
    if args.json:
        print_json({"project": project.name, "instances": [
            {**r, "error": r["error"].to_dict()} if r.get("error") else r for r in rows]})
    done = "paused" if args.monitor_action == "pause" else "resumed"
    for r in rows:
        if r.get("error"):
            print(r["error"].render(), file=sys.stderr)
        elif not args.json:
            print(f"{r['instance']}: {_done_text(r, done)} ({r['seconds']:.2f}s)",
                  file=sys.stderr)
    return 1 if failed else 0


def _actionable(project, names: list) -> list:
    """The instances, of ``names``, whose config enables monitoring and whose container
    runs (one container list); IrisenvError when none is left, naming why."""
    from ..core.labels import container_name
    from ..errors import IrisenvError

    running = {c.name for c in project.engine.list_project(project.name)
               if c.state == "running"}
    enabled = [n for n in names if project.config.instance(n).monitoring.enabled]
    left = [n for n in enabled if container_name(project.name, n) in running]
    if not left:
        why = ("no instance enables monitoring in the config" if not enabled else
               f"no container runs of {', '.join(enabled)}")
        raise IrisenvError("nothing to pause or resume", why,
                           "run `irisenv sync` first" if enabled else
                           "set [instances.NAME.monitoring] enabled = true (the default)")
    return left


def _done_text(r: dict, done: str) -> str:
    word = r.get("word") or ""
    if r.get("by") == "watcher" and word.startswith("suspended"):
        return (f"pause lifted; collection stays {word} (over the threshold): the watcher "
                "resumes it when the load drops")
    return f"monitoring {done}" + (" by the watcher" if r.get("by") == "watcher" else "")


def _report(project, args) -> int:
    from pathlib import Path

    from ..monitor_host import report

    def step(text: str) -> None:  # progress on stderr; with --json only the warnings
        if not args.json or text.startswith("warning:"):
            print(text, file=sys.stderr)

    said = report(project, args.instance, Path(args.out) if args.out else None, now=args.now,
                  on_step=step)
    if args.json:
        print_json(said)
        return 0
    print(f"{said['instance']}: {len(said['reports'])} report(s) and {said['samples']} samples "
          f"copied", file=sys.stderr)
    print(said["overview"])
    return 0
