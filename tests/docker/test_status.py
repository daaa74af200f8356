"""`irisenv status` while IRIS boots, and its table with long IRIS values."""
from __future__ import annotations

import json

from helpers import instance_toml, wait_for


def test_status_during_boot_says_starting(project):
    project.configure(boot="never")
    project.ok("sync", "--no-wait")
    out = project.ok("status").stdout
    assert "IRIS state unknown" not in out, out
    row = next(line for line in out.splitlines() if line.startswith("iris "))
    assert row.split()[3] == "starting", out
    assert "iris: IRIS is starting" in out
    [inst] = json.loads(project.ok("status", "--json").stdout)["instances"]
    assert inst["iris"] == "starting" and inst["iris_state"] is None
    assert inst["iris_state_error"] is None and inst["monitor"] is None


def test_status_columns_stay_aligned_with_long_values(project):
    project.write(instance_toml("iris", env={"STANDIN_MONITOR_STATE": "hung"}),
                  instance_toml("a-much-longer-instance-name"))
    project.ok("sync", "--no-wait")

    def table():
        out = project.ok("status").stdout
        return out if "running/hung" in out and out.count(" running ") >= 2 else None

    out = wait_for(table, timeout=30, what="both instances running")
    lines = [line for line in out.splitlines()[1:] if not line.startswith("  ")]
    header = lines[0]
    for col in ("IRIS", "PORT", "WEB", "DRIFT"):
        start = header.index(col)
        for row in lines[1:]:  # every value starts under its heading
            assert row[start - 1] == " " and row[start] != " ", f"{col} misaligned:\n{out}"
