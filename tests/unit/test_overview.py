"""overview.html's renderer (irisenv/report/overview.py): what the page holds, read back
with an HTML parser. (tests/docker/test_monitor.py renders a real one in chromium.)"""
from __future__ import annotations

from html.parser import HTMLParser

from irisenv.core.monitor_files import Transition
from irisenv.report.overview import HEIGHT, render, runs

POLICY = {"enabled": 1, "interval_s": 30, "retention_s": 600, "cpu_disable": 90,
          "cpu_enable": 85, "memory_disable": 95, "memory_enable": 80}
NOW = 1_800_000_000


class Page(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.elements: list = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def all(self, tag, **attrs):
        return [a for t, a in self.elements if t == tag and all(
            v in (a.get("class") or "").split() if k == "class_" else a.get(k) == v
            for k, v in attrs.items())]


def _page(samples, transitions=(), reports=(), policy=POLICY, now=NOW):
    return render(instance="iris", project="demo", policy=policy, samples=list(samples),
                  transitions=list(transitions), reports=list(reports), now=now)


def _points(polyline) -> list:
    return [tuple(map(float, p.split(","))) for p in polyline["points"].split()]


def test_two_lines_with_one_point_per_sample_in_the_window():
    samples = [(NOW - 900 + 5 * i, float(i % 100), 40.0) for i in range(181)]  # 15 min
    page = Page(_page(samples))
    [cpu] = page.all("polyline", **{"data-series": "cpu"})
    [mem] = page.all("polyline", **{"data-series": "mem"})
    in_window = [s for s in samples if s[0] >= NOW - 600]  # retention_s = 600
    assert len(_points(cpu)) == len(_points(mem)) == len(in_window) == 121
    xs = [x for x, _ in _points(cpu)]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)  # time runs left to right
    # 40 % is drawn lower on the page than 90 %: y grows downwards
    assert all(y == _points(mem)[0][1] for _, y in _points(mem))
    assert 0 < _points(mem)[0][1] < HEIGHT


def test_thresholds_transitions_and_report_links_are_on_the_page():
    samples = [(NOW - 300 + 5 * i, 50.0, 50.0) for i in range(60)]
    trs = [Transition(NOW - 200, "suspended", "cpu", 97.2, 40.0),
           Transition(NOW - 100, "collecting", "-", 12.0, 40.0),
           Transition(NOW - 5000, "paused", "manual", 1.0, 1.0)]  # before the window
    page_text = _page(samples, trs, ["a_IRIS_1.html", "b <&> 2.html"])
    page = Page(page_text)
    th = {a["data-threshold"]: int(a["data-value"]) for a in page.all("line", class_="threshold")}
    assert th == {"cpu_disable": 90, "cpu_enable": 85, "memory_disable": 95, "memory_enable": 80}
    ys = {a["data-threshold"]: float(a["y1"]) for a in page.all("line", class_="threshold")}
    assert ys["memory_enable"] > ys["cpu_enable"] > ys["cpu_disable"] > ys["memory_disable"]
    marks = page.all("line", class_="transition")
    assert [(m["data-state"], m["data-reason"]) for m in marks] == [("suspended", "cpu"),
                                                                     ("collecting", "-")]
    assert float(marks[0]["x1"]) < float(marks[1]["x1"])
    assert len(page.all("tr", class_="transition-row")) == 3  # the table lists them all
    assert [a["href"] for a in page.all("a", class_="report")] == ["a_IRIS_1.html",
                                                                   "b <&> 2.html"]
    assert "b <&> 2.html" not in page_text  # escaped in the text


def test_a_gap_in_the_samples_breaks_the_line():
    samples = [(NOW - 500 + 5 * i, 10.0, 20.0) for i in range(10)] + \
              [(NOW - 100 + 5 * i, 10.0, 20.0) for i in range(5)]
    page = Page(_page(samples))
    assert [len(_points(p)) for p in page.all("polyline", **{"data-series": "cpu"})] == [10, 5]
    assert [len(r) for r in runs([(0, 1), (5, 1), (100, 1)], gap=30)] == [2, 1]


def test_no_samples_says_so_and_draws_no_line():
    text = _page([], now=NOW)
    page = Page(text)
    assert page.all("polyline") == []
    assert "no samples yet" in text and "none recorded" in text
    assert page.all("line", class_="threshold")  # the policy is still drawn


def test_samples_older_than_the_window_are_named_not_drawn():
    text = _page([(NOW - 7200, 10.0, 20.0), (NOW - 7195, 10.0, 20.0)])  # retention 600
    assert Page(text).all("polyline") == []
    assert "no samples in the last 10m: the latest is from" in text
