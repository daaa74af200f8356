"""overview.html: one instance's CPU and memory over the retention window, as inline SVG.

Pure: figures in, one self-contained HTML page out (no script, no external asset, no
plotting library), so it opens from a copied directory, an archive or a CI artifact. The
page shows
- the container's CPU % and memory % (samples.log, one point per sample) as two lines,
  broken where samples are missing (the container was stopped, or the watcher was);
- the policy's four thresholds as dashed horizontal lines;
- each transition of the watcher (suspend, resume, pause, error) as a vertical marker;
- the transitions as a table, and a link to each ^SystemPerformance report copied with it.
"""
from __future__ import annotations

import time
from html import escape

WIDTH, HEIGHT = 960, 320  # the plot's viewBox
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 36  # margins inside it
GAP = 30  # seconds without a sample that break a line (samples come every 5 s)
COLORS = {"cpu": "#d9480f", "mem": "#1c7ed6"}
MARK_COLORS = {"suspended": "#c92a2a", "collecting": "#2b8a3e", "paused": "#862e9c",
               "off": "#495057", "error": "#e67700"}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#212529}
h1{font-size:20px;margin:0 0 4px} .sub{color:#495057;margin:0 0 16px}
svg{max-width:100%;height:auto;border:1px solid #dee2e6;background:#fff}
.axis{stroke:#adb5bd;stroke-width:1} .grid{stroke:#f1f3f5;stroke-width:1}
.tick{font-size:11px;fill:#495057}
.series{fill:none;stroke-width:1.6;stroke-linejoin:round}
.threshold{stroke-width:1;stroke-dasharray:6 4;opacity:.8}
.transition{stroke-width:1.5;opacity:.85}
.legend span{display:inline-block;margin-right:16px} .sw{display:inline-block;width:14px;
height:3px;vertical-align:middle;margin-right:4px}
table{border-collapse:collapse;margin-top:8px} td,th{padding:2px 10px;text-align:left;
border-bottom:1px solid #e9ecef} th{font-weight:600}
.empty{color:#868e96;font-style:italic}
"""


def _fmt_time(t: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _fmt_seconds(s: int) -> str:
    if s % 3600 == 0:
        return f"{s // 3600}h"
    if s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"


def _pct(v) -> str:
    return "-" if v is None else f"{v:.1f} %"


class _Scale:
    def __init__(self, t0: int, t1: int):
        self.t0, self.t1 = t0, max(t1, t0 + 1)

    def x(self, t: float) -> float:
        return round(LEFT + (t - self.t0) / (self.t1 - self.t0) * (WIDTH - LEFT - RIGHT), 1)

    @staticmethod
    def y(pct: float) -> float:
        pct = min(max(pct, 0.0), 100.0)
        return round(TOP + (100 - pct) / 100 * (HEIGHT - TOP - BOTTOM), 1)


def runs(points: list, gap: int = GAP) -> list[list]:
    """``points`` (time, value) split where two neighbours are more than ``gap`` s apart."""
    out: list[list] = []
    for p in points:
        if out and p[0] - out[-1][-1][0] <= gap:
            out[-1].append(p)
        else:
            out.append([p])
    return out


def window(samples: list, now: int | None, retention: int) -> tuple[int, int]:
    """The time range shown: the retention window ending now (else at the last sample)."""
    end = now or (samples[-1][0] if samples else int(time.time()))
    return end - retention, end


def _svg(samples, transitions, policy, t0, t1) -> str:
    sc = _Scale(t0, t1)
    parts = [f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
             f' width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="CPU and memory, percent">']
    for pct in (0, 25, 50, 75, 100):  # the y grid
        y = sc.y(pct)
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4}" text-anchor="end">'
                     f"{pct} %</text>")
    for i in range(5):  # the x ticks
        t = t0 + (t1 - t0) * i / 4
        x = sc.x(t)
        parts.append(f'<line class="axis" x1="{x}" y1="{HEIGHT - BOTTOM}" x2="{x}" '
                     f'y2="{HEIGHT - BOTTOM + 4}"/>')
        parts.append(f'<text class="tick" x="{x}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle">{time.strftime("%H:%M", time.localtime(t))}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
                 f'y2="{HEIGHT - BOTTOM}"/>')
    for key, kind in (("cpu_disable", "cpu"), ("cpu_enable", "cpu"),
                      ("memory_disable", "mem"), ("memory_enable", "mem")):
        if isinstance(policy.get(key), int):
            y = sc.y(policy[key])
            parts.append(f'<line class="threshold {kind}" data-threshold="{key}" '
                         f'data-value="{policy[key]}" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" '
                         f'y2="{y}" stroke="{COLORS[kind]}"><title>{key.replace("_", " ")} '
                         f"{policy[key]} %</title></line>")
    shown = [s for s in samples if t0 <= s[0] <= t1]
    for kind, col in (("cpu", 1), ("mem", 2)):
        for run in runs([(s[0], s[col]) for s in shown]):
            pts = " ".join(f"{sc.x(t)},{sc.y(v)}" for t, v in run)
            parts.append(f'<polyline class="series {kind}" data-series="{kind}" '
                         f'stroke="{COLORS[kind]}" points="{pts}"/>')
    for tr in transitions:
        if t0 <= tr.at <= t1:
            x = sc.x(tr.at)
            label = f"{_fmt_time(tr.at)}: {tr.state} ({tr.reason}) cpu {_pct(tr.cpu)}, " \
                    f"mem {_pct(tr.mem)}" + (f" {tr.note}" if tr.note else "")
            parts.append(f'<line class="transition {escape(tr.state)}" '
                         f'data-state="{escape(tr.state)}" data-reason="{escape(tr.reason)}" '
                         f'data-at="{tr.at}" x1="{x}" y1="{TOP}" x2="{x}" '
                         f'y2="{HEIGHT - BOTTOM}" stroke="{MARK_COLORS.get(tr.state, "#495057")}">'
                         f"<title>{escape(label)}</title></line>")
    parts.append("</svg>")
    return "\n".join(parts)


def render(*, instance: str, project: str, policy: dict, samples: list, transitions: list,
           reports: list, now: int | None = None) -> str:
    """The page. ``policy``: the policy file's values (retention_s, the thresholds);
    ``samples``: (epoch, cpu %, mem %); ``transitions``: core/monitor_files.Transition;
    ``reports``: file names relative to the page; ``now``: the container's clock."""
    retention = int(policy.get("retention_s") or 3600)
    t0, t1 = window(samples, now, retention)
    shown = [s for s in samples if t0 <= s[0] <= t1]
    title = f"irisenv monitoring: {project} / {instance}"
    last = shown[-1] if shown else None
    if last:
        summary = (f"{len(shown)} samples from {_fmt_time(shown[0][0])} to "
                   f"{_fmt_time(last[0])}; latest cpu {last[1]:.1f} %, mem {last[2]:.1f} %")
    elif samples:  # the watcher wrote none lately: it (or the container) was stopped
        summary = (f"no samples in the last {_fmt_seconds(retention)}: the latest is from "
                   f"{_fmt_time(samples[-1][0])} (was the watcher stopped?)")
    else:
        summary = "no samples yet (the watcher writes one every 5 s)"
    thresholds = ", ".join(f"{k.replace('_', ' ')} {policy[k]} %" for k in
                           ("cpu_disable", "cpu_enable", "memory_disable", "memory_enable")
                           if isinstance(policy.get(k), int))
    interval = policy.get("interval_s")
    policy_line = (f"every {_fmt_seconds(int(interval))}, " if isinstance(interval, int) else "") \
        + f"window {_fmt_seconds(retention)}" + (f"; {thresholds}" if thresholds else "") \
        + ("" if policy.get("enabled", 1) else "; monitoring is disabled")
    rows = "\n".join(
        f'<tr class="transition-row"><td>{escape(_fmt_time(t.at))}</td><td>{escape(t.state)}'
        f"</td><td>{escape(t.reason)}</td><td>{_pct(t.cpu)}</td><td>{_pct(t.mem)}</td>"
        f"<td>{escape(t.note)}</td></tr>" for t in reversed(transitions))
    links = "\n".join(f'<li><a class="report" href="{escape(r, quote=True)}">{escape(r)}</a></li>'
                      for r in reports)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="sub" id="summary">{escape(summary)}</p>
<p class="sub" id="policy">Policy: {escape(policy_line)}</p>
<p class="legend"><span><i class="sw" style="background:{COLORS['cpu']}"></i>CPU % of the
container's CPUs</span><span><i class="sw" style="background:{COLORS['mem']}"></i>memory % of its
limit</span><span>dashed: thresholds</span><span>vertical: transitions (red suspended, green
collecting, purple paused)</span></p>
{_svg(samples, transitions, policy, t0, t1)}
<h2>Transitions</h2>
{f'<table id="transitions"><tr><th>time</th><th>state</th><th>reason</th><th>cpu</th><th>mem</th><th>note</th></tr>{rows}</table>' if rows else '<p class="empty" id="transitions">none recorded</p>'}
<h2>^SystemPerformance reports</h2>
{f'<ul id="reports">{links}</ul>' if links else '<p class="empty" id="reports">none yet: a report is written when a run ends, is stopped, or on `irisenv monitor report --now`</p>'}
</body></html>
"""
