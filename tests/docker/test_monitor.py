"""`irisenv monitor status|pause|resume|report` and status's MONITORING word against the
stand-in, with the watcher's files (tests/docker: I12 formats) written into the container
by the test: what the host side reads, writes and copies, independent of the watcher.

The config turns monitoring off, so that a sync that sets monitoring up does not race the
files the test writes (and no watcher rewrites `state`)."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from html.parser import HTMLParser

from helpers import describe, instance_toml

MONDIR = "/home/irisowner/irisenv-monitor"
SPDIR = "/usr/irissys/mgr/irisenv-sysperf/"
OFF = "\n[instances.iris.monitoring]\nenabled = false\n"

# the scripts as sync writes them (their last line on success is IRISENV-MON-OK); these
# leave a mark in irisenv's record that `monitor status` reads back
COS = ('try {{ set ^IRISENV("mon","run")="{mark}" write !,"IRISENV-MON-OK",! halt }} '
       'catch ex {{ write !,"IRISENV-ERR:",ex.DisplayString(),! halt }}\nhalt\n')


def _policy(enabled: int = 1) -> str:
    return (f"enabled={enabled}\ninterval_s=30\nretention_s=3600\ncpu_disable=90\n"
            "cpu_enable=85\nmemory_disable=95\nmemory_enable=90\nsample_ms=250\n"
            f"disable_window_ms=500\nenable_window_ms=10000\nspdir={SPDIR}\n")


def _install(container, *, enabled: int = 1, samples: int = 120, reports: int = 2,
             suspend: str | None = None) -> int:
    """The watcher's files of a watcher that suspended collection a minute ago, with a
    live pid; returns the container's clock."""
    code, out = container.exec_run(["date", "+%s"])
    now = int(out)
    lines = "".join(f"{now - 5 * (samples - i)} {min(20 + i, 99)}.5 41.0\n"
                    for i in range(samples))
    files = {
        "policy": _policy(enabled),
        "state": f"state=suspended reason=cpu cpu=97.3 mem=41.0 since={now - 60} "
                 f"updated={now} pid=PID\n",
        "transitions.log": f"{now - 400} collecting - cpu=12.0 mem=40.3\n"
                           f"{now - 60} suspended cpu cpu=97.2 mem=41.0\n",
        "samples.log": lines,
        "suspend.cos": suspend or COS.format(mark="suspended-by-pause"),
        "resume.cos": COS.format(mark="resumed-by-resume"),
    }
    script = [f"mkdir -p {MONDIR} {SPDIR} && cd {MONDIR}", "sleep 600 >/dev/null 2>&1 &",
              "echo $! > watch.pid"]
    for name, text in files.items():
        script.append(f"cat > {name} <<'EOF'\n{text}EOF")
    script.append("sed -i \"s/pid=PID/pid=$(cat watch.pid)/\" state")
    for i in range(reports):
        script.append(f"echo '<html><body>report {i}</body></html>' > "
                      f"{SPDIR}c0ffee_IRIS_20261130_0{i}0000_irisenv.html")
    script.append(f"echo 'not a report' > {SPDIR}c0ffee_IRIS_20261130_020000_irisenv.log")
    code, out = container.exec_run(["sh", "-c", "\n".join(script)])
    assert code == 0, out
    return now


def _exists(container, path: str) -> bool:
    return container.exec_run(["test", "-e", path])[0] == 0


def test_status_pause_resume_and_the_status_word(project):
    project.write(instance_toml("iris") + OFF)
    project.ok("sync", "--progress", "quiet")
    c = project.container("iris")

    # nothing set up: status says so, pause names why it cannot (one error format)
    [row] = json.loads(project.ok("status", "--json").stdout)["instances"]
    assert row["monitoring"] == "off", row
    [mon] = json.loads(project.ok("monitor", "status", "--json").stdout)["instances"]
    assert mon["installed"] is False and mon["word"] == "off"
    p = project.run("monitor", "pause", "iris")
    assert p.returncode == 1 and p.stderr.startswith(
        "error: monitor pause: monitoring is not set up in instance iris"), describe(p)
    assert "  why: " in p.stderr and "  fix: " in p.stderr

    now = _install(c)
    out = project.ok("status").stdout
    header, row_line = out.splitlines()[1:3]
    assert header.split()[-1] == "MONITORING" and row_line.endswith("suspended: cpu 97 %"), out
    [row] = json.loads(project.ok("status", "--json").stdout)["instances"]
    assert row["monitoring"] == "suspended: cpu 97 %"
    assert row["monitoring_detail"]["cpu"] == 97.3 and row["monitoring_detail"]["watcher_running"]

    [mon] = json.loads(project.ok("monitor", "status", "--json").stdout)["instances"]
    assert mon["installed"] and mon["applied"]["spdir"] == SPDIR
    assert mon["policy"]["enabled"] is False  # the config's, beside the applied one
    assert mon["watcher"]["state"] == "suspended" and mon["watcher"]["since"] == now - 60
    assert [t["state"] for t in mon["transitions"]] == ["collecting", "suspended"]
    assert "error" not in mon["iris"] and mon["iris"]["run"] is None
    text = project.ok("monitor", "status").stdout
    assert "monitoring: suspended: cpu 97 %" in text and "last transitions:" in text

    p = project.ok("monitor", "pause", "iris")
    assert "iris: monitoring paused" in p.stderr, describe(p)
    assert _exists(c, f"{MONDIR}/pause")
    [mon] = json.loads(project.ok("monitor", "status", "--json").stdout)["instances"]
    assert mon["word"] == "paused" and mon["iris"]["run"] == "suspended-by-pause"  # same exec
    assert project.ok("status").stdout.splitlines()[2].endswith("paused")

    # a running watcher sees the file and says paused; resume leaves the action to it
    c.exec_run(["sh", "-c", f"sed -i 's/^state=[a-z]* reason=[a-z-]*/state=paused "
                            f"reason=manual/' {MONDIR}/state"])
    c.exec_run(["sh", "-c", f"sleep 0.3; sed -i 's/^state=paused reason=manual/"
                            f"state=collecting reason=-/' {MONDIR}/state"], detach=True)
    p = project.ok("monitor", "resume", "iris", "--json")
    [done] = json.loads(p.stdout)["instances"]
    assert done["action"] == "resume" and done["by"] == "watcher", done
    assert done["word"] == "collecting"
    assert not _exists(c, f"{MONDIR}/pause")
    [mon] = json.loads(project.ok("monitor", "status", "--json").stdout)["instances"]
    assert mon["word"] == "collecting" and mon["iris"]["run"] == "suspended-by-pause"

    # the watcher gone: the word says its state is its last, and resume runs the script
    c.exec_run(["sh", "-c", f"kill $(cat {MONDIR}/watch.pid)"])
    time.sleep(0.2)
    assert project.ok("status").stdout.splitlines()[2].endswith(
        "collecting (watcher not running)")
    project.ok("monitor", "pause", "iris")
    p = project.ok("monitor", "resume", "iris", "--json")
    assert json.loads(p.stdout)["instances"][0]["by"] == "iris"
    [mon] = json.loads(project.ok("monitor", "status", "--json").stdout)["instances"]
    assert mon["iris"]["run"] == "resumed-by-resume"


def test_pause_fails_plainly_when_iris_does_not_confirm_or_monitoring_is_disabled(project):
    project.write(instance_toml("iris") + OFF)
    project.ok("sync", "--progress", "quiet")
    c = project.container("iris")
    _install(c, suspend='write !,"IRISENV-ERR:<PROTECT> Suspend",! halt\nhalt\n')
    p = project.run("monitor", "pause", "iris", "--json")
    assert p.returncode == 1, describe(p)
    err = json.loads(p.stdout)
    assert err["error"] == "monitor pause: IRIS did not confirm in instance iris"
    assert "<PROTECT> Suspend" in err["why"] and err["fix"] and err["exit_code"] == 1
    assert _exists(c, f"{MONDIR}/pause")  # the pause stands: the watcher will not resume

    _install(c, enabled=0)
    p = project.run("monitor", "resume", "iris")
    assert p.returncode == 1 and "monitoring is disabled in instance iris" in p.stderr, \
        describe(p)
    p = project.run("monitor", "pause", "nosuch")
    assert p.returncode == 1 and "no instance named 'nosuch'" in p.stderr, describe(p)
    p = project.run("monitor")
    assert p.returncode == 64, describe(p)


class _Dom(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.elements: list = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def find(self, tag, cls=None, **attrs):
        return [a for t, a in self.elements if t == tag
                and (cls is None or cls in (a.get("class") or "").split())
                and all(a.get(k) == v for k, v in attrs.items())]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    raise AssertionError("no chromium on this machine: `apt-get install chromium` "
                         "(.ci/run installs it)")


def test_report_copies_the_reports_and_the_overview_renders_in_chromium(project, tmp_path):
    project.write(instance_toml("iris") + OFF)
    project.ok("sync", "--progress", "quiet")
    _install(project.container("iris"), samples=120, reports=2)

    out = tmp_path / "out"
    p = project.ok("monitor", "report", "--out", str(out), "--json")
    said = json.loads(p.stdout)
    assert said["reports"] == ["c0ffee_IRIS_20261130_000000_irisenv.html",
                               "c0ffee_IRIS_20261130_010000_irisenv.html"]
    assert sorted(f.name for f in out.iterdir()) == said["reports"] + [
        "overview.html", "samples.log", "transitions.log"]
    assert len((out / "samples.log").read_text().splitlines()) == 120

    # the default place: under the working directory, named after project and instance
    p = project.ok("monitor", "report")
    page = p.stdout.strip()
    assert page.startswith(str(project.path / "irisenv-reports" / f"{project.name}-iris-"))
    assert page.endswith("/overview.html")
    # irisenv-reports/ made by irisenv keeps itself out of `git status`
    assert (project.path / "irisenv-reports" / ".gitignore").read_text().endswith("*\n")

    dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                          "--dump-dom", (out / "overview.html").as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and "<svg" in dom.stdout, dom.stderr[-2000:]
    d = _Dom(dom.stdout)
    [cpu] = d.find("polyline", **{"data-series": "cpu"})
    [mem] = d.find("polyline", **{"data-series": "mem"})
    assert len(cpu["points"].split()) == len(mem["points"].split()) == 120
    th = {a["data-threshold"]: a["data-value"] for a in d.find("line", "threshold")}
    assert th == {"cpu_disable": "90", "cpu_enable": "85", "memory_disable": "95",
                  "memory_enable": "90"}
    assert [(m["data-state"], m["data-reason"]) for m in d.find("line", "transition")] == [
        ("collecting", "-"), ("suspended", "cpu")]
    assert [a["href"] for a in d.find("a", "report")] == said["reports"]
    assert (out / said["reports"][0]).read_text().strip() == \
        "<html><body>report 0</body></html>"


def test_report_of_a_stopped_container_copies_what_it_holds(project, tmp_path):
    project.write(instance_toml("iris") + OFF)
    project.ok("sync", "--progress", "quiet")
    c = project.container("iris")
    _install(c, samples=40, reports=2)
    c.stop(timeout=2)
    p = project.ok("monitor", "report", "--out", str(tmp_path / "o"), "--now", "--json")
    said = json.loads(p.stdout)
    assert said["preview"] == {"run": None, "why": "the container is exited"}
    assert "warning: no interim report: the container is exited" in p.stderr
    assert said["reports"] == ["c0ffee_IRIS_20261130_000000_irisenv.html",
                               "c0ffee_IRIS_20261130_010000_irisenv.html"]
    assert sorted(f.name for f in (tmp_path / "o").iterdir()) == said["reports"] + [
        "overview.html", "samples.log", "transitions.log"]  # the run log is left behind
    assert said["samples"] == 40
    p = project.run("monitor", "pause", "iris")  # pausing needs IRIS: refused plainly
    assert p.returncode == 1 and "instance iris is not running" in p.stderr, describe(p)
