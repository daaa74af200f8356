"""A table of broken configs: every mistake explained precisely, never a traceback.

Each case is a file, the line (and column) the message must point at, the key path it must
name and a phrase it must contain. The rendered message must also carry `why:` and `fix:`.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from irisenv.config import load_config
from irisenv.errors import ConfigError

FILE = "iris-devtester.toml"

# (id, text, line, column or None, key path ("" for syntax errors), phrase in the message)
CASES = [
    # --- TOML syntax: line and column from the parser
    ("syntax-unclosed-string", '[instances.iris]\nimage = "abc\n', 2, 13, "", "TOML syntax error"),
    ("syntax-missing-equals", '[instances.iris]\nmemory "2g"\n', 2, 8, "", "Expected '='"),
    ("syntax-duplicate-key", '[instances.iris]\nmemory = "2g"\nmemory = "3g"\n', 3, 14, "",
     "Cannot overwrite a value"),
    ("syntax-bad-table-header", '[instances.iris\nmemory = "2g"\n', 1, 16, "", "Expected ']'"),
    ("syntax-duplicate-table", '[instances.iris]\n[instances.iris]\n', 2, None, "",
     "TOML syntax error"),
    ("syntax-bare-value", "[instances.iris]\nimage = iris:latest\n", 2, None, "", "TOML syntax error"),
    # --- unknown keys at every level, with did-you-mean
    ("unknown-top-level", '[instance.iris]\nmemory = "2g"\n', 1, 2, "instance", "did you mean 'instances'"),
    ("unknown-instance-key", '[instances.iris]\nmemry = "2g"\n', 2, 1, "instances.iris.memry",
     "did you mean 'memory'"),
    ("unknown-subtable", "[instances.iris.port]\nweb = 1\n", 1, 17, "instances.iris.port",
     "did you mean 'ports'"),
    ("unknown-ports-key", "[instances.iris.ports]\nsuperservr = 1\n", 2, 1,
     "instances.iris.ports.superservr", "did you mean 'superserver'"),
    ("unknown-project-key", '[project]\nnmae = "x"\n', 2, 1, "project.nmae", "did you mean 'name'"),
    ("unknown-namespace-key", "[instances.iris.namespaces.APP]\npools = 2\n", 2, 1,
     "instances.iris.namespaces.APP.pools", "did you mean 'pool'"),
    ("unknown-monitoring-key", "[instances.iris.monitoring]\nintervall = \"30s\"\n", 2, 1,
     "instances.iris.monitoring.intervall", "did you mean 'interval'"),
    ("unknown-key-dotted", 'instances.iris.memry = "2g"\n', 1, 16, "instances.iris.memry",
     "did you mean 'memory'"),
    # --- wrong types
    ("type-memory-int", "[instances.iris]\nmemory = 2\n", 2, 10, "instances.iris.memory",
     'must be a size string such as "512m"'),
    ("type-cpus-string", '[instances.iris]\ncpus = "two"\n', 2, 8, "instances.iris.cpus", "must be a number"),
    ("type-callin-string", '[instances.iris.services]\ncallin = "yes"\n', 2, 10,
     "instances.iris.services.callin", "must be true or false"),
    ("type-pool-zero", "[instances.iris.namespaces.APP]\npool = 0\n", 2, 8,
     "instances.iris.namespaces.APP.pool", "outside 1..64"),
    ("type-pool-65", "[instances.iris.namespaces.APP]\npool = 65\n", 2, 8,
     "instances.iris.namespaces.APP.pool", "outside 1..64"),
    ("pool-min-above-max", "[instances.iris.namespaces.APP]\npool = { min = 5, max = 2 }\n",
     2, 8, "instances.iris.namespaces.APP.pool", "min (5) is above max (2)"),
    ("pool-table-without-max", "[instances.iris.namespaces.APP]\npool = { min = 2 }\n",
     2, 8, "instances.iris.namespaces.APP.pool", "needs both min and max"),
    ("pool-table-unknown-key", "[instances.iris.namespaces.APP]\npool = { min = 1, mx = 2 }\n",
     2, 8, "instances.iris.namespaces.APP.pool", "unknown key 'mx'"),
    ("pool-on-user", "[instances.iris.namespaces.USER]\npool = 2\n", 2, 8,
     "instances.iris.namespaces.USER.pool", "USER is a built-in namespace"),
    ("pool-copy-name-declared", "[instances.iris.namespaces.APP]\npool = 3\n"
     "[instances.iris.namespaces.APP_P2]\n", 2, 8, "instances.iris.namespaces.APP.pool",
     "APP_P2 is declared, but it is also the name of a copy"),
    ("pool-template-name-too-long", f"[instances.iris.namespaces.{'A' * 56}]\npool = 10\n",
     2, 8, f"instances.iris.namespaces.{'A' * 56}.pool", "too long for a pool of 10"),
    ("type-pool-float", "[instances.iris.namespaces.APP]\npool = 2.0\n", 2, 8,
     "instances.iris.namespaces.APP.pool", "must be a whole number"),
    ("type-port-70000", "[instances.iris.ports]\nsuperserver = 70000\n", 2, 15,
     "instances.iris.ports.superserver", "not a port number"),
    ("type-port-string", '[instances.iris.ports]\nsuperserver = "1972"\n', 2, 15,
     "instances.iris.ports.superserver", "is not a port"),
    ("type-web-true", "[instances.iris.ports]\nweb = true\n", 2, 7, "instances.iris.ports.web",
     "true is not a port"),
    ("type-host-ip", '[instances.iris.ports]\nhost_ip = "localhost"\n', 2, 11,
     "instances.iris.ports.host_ip", "not an IP address"),
    ("type-instance-not-table", "[instances]\niris = 3\n", 2, 8, "instances.iris", "must be a table"),
    ("type-instances-array", '[[instances]]\nname = "x"\n', 1, 3, "instances", "table of named tables"),
    ("type-env-array", '[instances.iris]\nenv = ["A=1"]\n', 2, 7, "instances.iris.env", "must be a table"),
    ("type-env-value-bool", "[instances.iris]\nenv = { DEBUG = true }\n", 2, 17,
     "instances.iris.env.DEBUG", "must be a string"),
    ("type-image-empty", '[instances.iris]\nimage = ""\n', 2, 9, "instances.iris.image", "must not be empty"),
    ("type-inline-table", "instances = { iris = { memory = 3 } }\n", 1, 33, "instances.iris.memory",
     "must be a size string"),
    ("type-cpus-nan", "[instances.iris]\ncpus = nan\n", 2, 8, "instances.iris.cpus", "not a finite number"),
    # --- enums
    ("enum-edition", '[instances.iris]\nedition = "pro"\n', 2, 11, "instances.iris.edition",
     "not one of community, enterprise"),
    ("enum-reuse-case", '[instances.iris]\nreuse = "Never"\n', 2, 9, "instances.iris.reuse",
     "did you mean 'never'"),
    ("enum-storage", '[instances.iris]\nstorage = "disk"\n', 2, 11, "instances.iris.storage",
     "not one of ephemeral, tmpfs, volume"),
    # --- durations and sizes
    ("duration-interval-0s", '[instances.iris.monitoring]\ninterval = "0s"\n', 2, 12,
     "instances.iris.monitoring.interval", "below the minimum 1s"),
    ("duration-interval-301s", '[instances.iris.monitoring]\ninterval = "301s"\n', 2, 12,
     "instances.iris.monitoring.interval", "above the maximum 5m"),
    ("duration-retention-4m", '[instances.iris.monitoring]\nretention = "4m"\n', 2, 13,
     "instances.iris.monitoring.retention", "below the minimum 5m"),
    ("duration-retention-25h", '[instances.iris.monitoring]\nretention = "25h"\n', 2, 13,
     "instances.iris.monitoring.retention", "above the maximum 24h"),
    ("duration-bare-number", '[instances.iris]\nstop_timeout = "30"\n', 2, 16,
     "instances.iris.stop_timeout", "is not a duration"),
    ("duration-int", "[instances.iris]\nstop_timeout = 30\n", 2, 16, "instances.iris.stop_timeout",
     "duration string"),
    ("duration-fraction", '[instances.iris]\nstop_timeout = "1.5h"\n', 2, 16,
     "instances.iris.stop_timeout", "whole number"),
    ("duration-500ms-stop", '[instances.iris]\nstop_timeout = "500ms"\n', 2, 16,
     "instances.iris.stop_timeout", "below the minimum 1s"),
    ("size-2GB", '[instances.iris]\nmemory = "2GB"\n', 2, 10, "instances.iris.memory", "is not a size"),
    ("size-too-small", '[instances.iris]\nroutines = "1m"\n', 2, 12, "instances.iris.routines",
     "too small"),
    # --- cross-field rules
    ("cross-spares-reuse", '[instances.iris]\nspares = 1\n', 2, 10, "instances.iris.spares",
     'reuse is "matching"'),
    ("cross-spares-volume", '[instances.iris]\nreuse = "never"\nstorage = "volume"\nspares = 2\n',
     4, 10, "instances.iris.spares", 'storage is "volume"'),
    ("spares-too-many", '[instances.iris]\nreuse = "never"\nspares = 9\n', 3, 10,
     "instances.iris.spares", "above the maximum"),
    ("cross-cpu-enable", "[instances.iris.monitoring]\ncpu_enable = 90\n", 2, 14,
     "instances.iris.monitoring.cpu_enable", "must be below cpu_disable"),
    ("cross-memory-enable", "[instances.iris.monitoring]\nmemory_disable = 50\nmemory_enable = 60\n",
     3, 17, "instances.iris.monitoring.memory_enable", "must be below memory_disable"),
    ("cross-license-community", '[instances.iris]\nlicense_key = "iris.key"\n', 2, 15,
     "instances.iris.license_key", "edition is not enterprise"),
    ("cross-enterprise-no-key", '[instances.iris]\nedition = "enterprise"\n', 2, 11,
     "instances.iris.edition", "no license_key"),
    ("cross-memory-too-small", '[instances.iris]\nmemory = "512m"\nglobals = "1g"\n', 2, 10,
     "instances.iris.memory", 'at least "1698m"'),
    ("cross-same-host-port", "[instances.a.ports]\nsuperserver = 1972\n\n[instances.b.ports]\n"
     "web = 1972\n", 5, 7, "instances.b.ports.web", "also used by instances.a.ports.superserver"),
    ("cross-env-managed", '[instances.iris]\nenv = { ISC_DATA_DIRECTORY = "/d" }\n', 2, 9,
     "instances.iris.env.ISC_DATA_DIRECTORY", "set by irisenv itself"),
    ("cross-no-instance", "[instances]\n", 1, 2, "instances", "declares no instance"),
    # --- names
    ("name-instance-case", "[instances.My_Iris]\n", 1, 12, "instances.My_Iris", "not Docker-safe"),
    ("name-project-case", '[project]\nname = "Demo"\n', 2, 8, "project.name", 'name = "demo"'),
    ("name-ns-percent", '[instances.iris.namespaces."%SYS"]\n', 1, 28, "instances.iris.namespaces.%SYS",
     "not a valid name"),
    ("name-ns-digit", "[instances.iris.namespaces.1APP]\n", 1, 28, "instances.iris.namespaces.1APP",
     "start with a letter"),
    ("name-ns-injection", '[instances.iris.namespaces."APP;Halt"]\n', 1, 28,
     "instances.iris.namespaces.APP;Halt", "not a valid name"),
    ("name-ns-too-long", f"[instances.iris.namespaces.{'A' * 60}]\n", 1, 28,
     f"instances.iris.namespaces.{'A' * 60}", "longer than 59 characters"),
    ("name-ns-reserved", "[instances.iris.namespaces.BROKER]\n", 1, 28,
     "instances.iris.namespaces.BROKER", "reserved by IRIS"),
    ("name-ns-duplicate", "[instances.iris.namespaces.app]\n\n[instances.iris.namespaces.APP]\n", 3, 28,
     "instances.iris.namespaces.APP", "declared twice"),
    ("name-user-quote", "[instances.iris.credentials]\nusername = \"o'brien\"\n", 2, 12,
     "instances.iris.credentials.username", "not accepted"),
    ("name-user-space", '[instances.iris.credentials]\nusername = "test user"\n', 2, 12,
     "instances.iris.credentials.username", "not accepted"),
    ("name-password-newline", '[instances.iris.credentials]\npassword = "a\\nb"\n', 2, 12,
     "instances.iris.credentials.password", "control character"),
    ("name-password-empty", '[instances.iris.credentials]\npassword = ""\n', 2, 12,
     "instances.iris.credentials.password", "password is empty"),
    ("name-env-key", '[instances.iris]\nenv = { "1X" = "v" }\n', 2, 9, "instances.iris.env.1X",
     "not valid"),
    # --- interpolation
    ("interp-unset", '[instances.iris]\nimage = "${IRISENV_TEST_UNSET_VAR}"\n', 2, 9, "instances.iris.image",
     "IRISENV_TEST_UNSET_VAR is not set"),
    ("interp-unclosed", '[instances.iris]\nimage = "${IMAGE"\n', 2, 9, "instances.iris.image", "not closed"),
    ("interp-bad-name", '[instances.iris]\nimage = "${1IMAGE}"\n', 2, 9, "instances.iris.image",
     "not a variable reference"),
    ("interp-unset-size", '[instances.iris]\nmemory = "${IRISENV_TEST_UNSET_VAR}"\nglobals = "1g"\n', 2, 10,
     "instances.iris.memory", "is not set"),
    ("interp-bad-result", '[instances.iris]\nmemory = "${IRISENV_TEST_MEM}"\n', 2, 10,
     "instances.iris.memory", "'2 GB' is not a size"),
    ("interp-env-value", '[instances.iris]\nenv = { A = "${IRISENV_TEST_UNSET_VAR}" }\n', 2, 13,
     "instances.iris.env.A", "is not set"),
]

ENVIRON = {"IRISENV_TEST_MEM": "2 GB"}


def _load(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)  # the message names the file relative to the working directory
    path = tmp_path / FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=ENVIRON)
    return info.value


def test_the_table_is_large_enough():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case_id, text, line, column, key, phrase", CASES, ids=[c[0] for c in CASES])
def test_broken_config_is_explained(tmp_path, monkeypatch, case_id, text, line, column, key, phrase):
    err = _load(tmp_path, monkeypatch, text)
    rendered = err.render()
    issue = err.issues[0]
    assert issue.file == FILE
    assert issue.line == line, rendered
    if column is not None:
        assert issue.column == column, rendered
        assert f"{FILE}:{line}:{column}: " in rendered
    else:
        assert f"{FILE}:{line}" in rendered
    assert issue.key == key, rendered
    if key:
        assert f": {key}: " in rendered.splitlines()[0]
    assert phrase in rendered, rendered
    assert "\n  why: " in rendered and "\n  fix: " in rendered, rendered
    assert "Traceback" not in rendered and 'File "' not in rendered
    # the offending line is quoted, with a caret under the column
    assert f"  {line} | " in rendered
    # the JSON form carries the same location
    d = err.to_dict()["issues"][0]
    assert (d["file"], d["line"], d["key"]) == (FILE, line, key)


def test_several_problems_are_all_located(tmp_path, monkeypatch):
    text = '[instances.iris]\nmemory = 2\n\n[instances.iris.ports]\nweb = true\n[instances.x]\nmemry = 1\n'
    err = _load(tmp_path, monkeypatch, text)
    assert [(i.line, i.key) for i in err.issues] == [
        (2, "instances.iris.memory"), (5, "instances.iris.ports.web"), (7, "instances.x.memry")]


CLI_CASES = ["syntax-unclosed-string", "unknown-instance-key", "type-port-70000",
             "cross-license-community", "name-ns-injection", "interp-unset"]


@pytest.mark.parametrize("case_id", CLI_CASES)
def test_cli_validate_reports_the_location(tmp_path, case_id):
    _, text, line, _col, key, phrase = next(c for c in CASES if c[0] == case_id)
    path = tmp_path / FILE
    path.write_text(text, encoding="utf-8")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("IRISENV_")}
    proc = subprocess.run([sys.executable, "-m", "irisenv", "-c", str(path), "config", "validate"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert f"{FILE}:{line}" in proc.stderr
    assert key in proc.stderr and phrase in proc.stderr
    assert "why:" in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
