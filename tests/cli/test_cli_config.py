"""`irisenv config ...` in-process and as a subprocess: exit codes, --json shapes, round-trip
edits, no secret in any output, and no heavy import on the fast paths."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import run  # tests/cli is on sys.path

from irisenv.config import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "irisenv" / "config" / "reference.toml"
FILE = "iris-devtester.toml"
SECRET = "Zebra-Secret-9177"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory holding a copy of the example, as the working directory."""
    d = tmp_path / "demo"
    d.mkdir()
    shutil.copy(EXAMPLE, d / FILE)
    monkeypatch.chdir(d)
    for key in list(os.environ):
        if key.startswith("IRISENV_") or key == "IRIS_PASSWORD":
            monkeypatch.delenv(key)
    return d




def subprocess_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRISENV_") and k != "IRIS_PASSWORD"}
    env.update(extra)
    return env


def irisenv(*argv, cwd, **extra_env):
    return subprocess.run([sys.executable, "-m", "irisenv", *argv], capture_output=True, text=True,
                          cwd=cwd, env=subprocess_env(**extra_env), timeout=60)


# ------------------------------------------------------------------ top level
def test_version(capsys):
    from irisenv._version import __version__

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"irisenv {__version__}"


def test_help(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "config" in out and "exit codes" in out


def test_no_verb_prints_help(capsys):
    code, out, _ = run(capsys)
    assert code == 0 and "usage: irisenv" in out


@pytest.mark.parametrize("argv", [["bogus"], ["config"], ["config", "frobnicate"],
                                  ["config", "get"], ["--no-such-flag"]])
def test_usage_errors_exit_64(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 64
    assert "error:" in err and "usage:" in err
    assert "Traceback" not in err


def test_subprocess_version_help_and_usage(tmp_path):
    assert irisenv("--version", cwd=tmp_path).returncode == 0
    proc = irisenv("--help", cwd=tmp_path)
    assert proc.returncode == 0 and "usage: irisenv" in proc.stdout
    proc = irisenv("no-such-verb", cwd=tmp_path)
    assert proc.returncode == 64 and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ validate
def test_validate_ok(capsys, project):
    code, out, err = run(capsys, "config", "validate")
    assert code == 0
    assert out.startswith("ok: ") and "'demo'" in out and "1 instance (iris)" in out


def test_validate_json_ok(capsys, project):
    code, out, _ = run(capsys, "config", "validate", "--json")
    data = json.loads(out)
    assert code == 0
    assert data == {"valid": True, "file": str(project / FILE), "project": "demo",
                    "instances": ["iris"]}


def test_validate_zero_config(capsys, tmp_path, monkeypatch):
    (tmp_path / "empty-dir").mkdir()
    monkeypatch.chdir(tmp_path / "empty-dir")
    monkeypatch.delenv("IRISENV_CONFIG", raising=False)
    code, out, _ = run(capsys, "config", "validate", "--json")
    assert code == 0
    assert json.loads(out) == {"valid": True, "file": None, "project": "empty-dir",
                               "instances": ["iris"]}


BROKEN = '[instances.iris]\nmemory = 2\n\n[instances.iris.ports]\nweb = true\n'


def test_validate_broken(capsys, project):
    (project / FILE).write_text(BROKEN)
    code, out, err = run(capsys, "config", "validate")
    assert code == 1 and out == ""
    assert f"{FILE}:2:10: instances.iris.memory" in err
    assert f"{FILE}:5:7: instances.iris.ports.web" in err
    assert "2 problems in the config." in err
    assert "Traceback" not in err


def test_validate_json_broken(capsys, project):
    (project / FILE).write_text(BROKEN)
    code, out, err = run(capsys, "config", "validate", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["valid"] is False and data["exit_code"] == 1
    assert [(i["file"], i["line"], i["column"], i["key"]) for i in data["issues"]] == [
        (FILE, 2, 10, "instances.iris.memory"), (FILE, 5, 7, "instances.iris.ports.web")]
    for issue in data["issues"]:
        assert set(issue) >= {"file", "line", "column", "key", "error", "why", "fix"}
        assert issue["why"] and issue["fix"]


def test_validate_json_syntax_error(capsys, project):
    (project / FILE).write_text('[instances.iris\n')
    code, out, _ = run(capsys, "config", "validate", "--json")
    issue = json.loads(out)["issues"][0]
    assert code == 1 and issue["line"] == 1 and issue["column"] and issue["key"] == ""


def test_validate_with_c_and_env_var(capsys, project, tmp_path, monkeypatch):
    other = tmp_path / "other.toml"
    other.write_text('[project]\nname = "other"\n')
    code, out, _ = run(capsys, "-c", str(other), "config", "validate")
    assert code == 0 and "'other'" in out
    monkeypatch.setenv("IRISENV_CONFIG", str(other))
    code, out, _ = run(capsys, "config", "validate")
    assert code == 0 and "'other'" in out
    code, _, err = run(capsys, "-c", str(tmp_path / "missing.toml"), "config", "validate")
    assert code == 1 and "does not exist" in err


# ------------------------------------------------------------------ show
def test_show_masks_the_password(capsys, project, monkeypatch):
    monkeypatch.setenv("IRIS_PASSWORD", SECRET)
    for argv in (["config", "show"], ["config", "show", "--json"], ["config", "show", "--origin"],
                 ["config", "show", "--json", "--origin"]):
        code, out, err = run(capsys, *argv)
        assert code == 0
        assert SECRET not in out + err
        assert "********" in out


def test_show_toml(capsys, project):
    code, out, _ = run(capsys, "config", "show")
    assert code == 0
    assert '[instances.iris]' in out and 'memory = "2g"' in out
    assert '[instances.iris.namespaces.TEST]' in out and "pool = 4" in out
    assert "# cpus = (unset)" in out


def test_show_json(capsys, project):
    code, out, _ = run(capsys, "config", "show", "--json")
    data = json.loads(out)
    inst = data["instances"]["iris"]
    assert data["project"] == {"name": "demo", "engine": None}
    assert inst["memory"] == "2g" and inst["stop_timeout"] == "1m"
    assert inst["credentials"]["password"] == "********"
    assert list(inst["namespaces"]) == ["APP", "TEST"]
    assert inst["env"] == {"TZ": "UTC"}


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(needle))


def test_show_origin(capsys, project, monkeypatch):
    (project / FILE).write_text('[project]\nname = "demo"\n\n[instances.iris]\n'
                                'memory = "3g"\nimage = "${IMG:-x/iris:1}"\n')
    monkeypatch.setenv("IMG", "y/iris:2")
    code, out, _ = run(capsys, "config", "show", "--origin")
    assert code == 0
    lines = {line.split(" = ")[0]: line for line in out.splitlines() if " = " in line}
    assert f"{FILE}:5" in lines["memory"]
    assert f"{FILE}:6" in lines["image"] and "via $IMG" in lines["image"]
    assert lines["globals"].rstrip().endswith("# default")

    monkeypatch.delenv("IMG")
    code, out, _ = run(capsys, "config", "show", "--origin")
    image = next(line for line in out.splitlines() if line.startswith("image = "))
    assert "via $IMG" not in image and "default of ${IMG:-...} ($IMG unset)" in image
    monkeypatch.setenv("IMG", "")
    code, out, _ = run(capsys, "config", "show", "--origin")
    image = next(line for line in out.splitlines() if line.startswith("image = "))
    assert "default of ${IMG:-...} ($IMG empty)" in image


def test_show_origin_json(capsys, project):
    code, out, _ = run(capsys, "config", "show", "--json", "--origin")
    data = json.loads(out)
    line = _line_of(project / FILE, "memory")
    assert data["instances.iris.memory"] == {"value": "2g", "origin": f"{project / FILE}:{line}"}
    assert data["instances.iris.credentials.password"]["value"] == "********"
    # $IRIS_PASSWORD is unset here: the default of ${IRIS_PASSWORD:-SYS} was used, not the
    # variable, and the default itself (a password) is not shown
    origin = data["instances.iris.credentials.password"]["origin"]
    assert "via $IRIS_PASSWORD" not in origin
    assert "default of ${IRIS_PASSWORD:-...} ($IRIS_PASSWORD unset)" in origin
    assert "SYS" not in origin
    assert data["instances.iris.cpus"]["origin"] == "default"
    assert data["instances.iris.namespaces.TEST.pool"]["value"] == 4
    assert data["instances.iris.namespaces.TEST.pool"]["origin"].endswith(
        f":{_line_of(project / FILE, 'pool')}")


def test_show_broken_json_is_json(capsys, project):
    (project / FILE).write_text(BROKEN)
    code, out, err = run(capsys, "config", "show", "--json")
    assert code == 1 and json.loads(out)["issues"] and "instances.iris.memory" in err


# ------------------------------------------------------------------ get
@pytest.mark.parametrize("key, expected", [
    ("instances.iris.memory", "2g"),
    ("instances.iris.cpus", ""),
    ("instances.iris.services.callin", "true"),
    ("instances.iris.namespaces.test.pool", "4"),  # namespace names are case-insensitive
    ("project.name", "demo"),
])
def test_get(capsys, project, key, expected):
    code, out, _ = run(capsys, "config", "get", key)
    assert code == 0 and out == expected + "\n"


def test_get_and_show_have_the_top_level_ports_table(capsys, project):
    code, out, _ = run(capsys, "config", "get", "ports.range")
    assert (code, out.strip()) == (0, "41972-42971")
    code, out, _ = run(capsys, "config", "show", "--json")
    assert json.loads(out)["ports"] == {"range": "41972-42971"}


def test_get_table_is_json(capsys, project):
    code, out, _ = run(capsys, "config", "get", "instances.iris.ports")
    assert code == 0
    assert json.loads(out) == {"superserver": "auto", "web": "auto", "host_ip": "127.0.0.1",
                               "preferred": None}


def test_get_unknown_key(capsys, project):
    code, out, err = run(capsys, "config", "get", "instances.iris.memry")
    assert code == 1 and out == ""
    assert "did you mean 'memory'" in err and "Traceback" not in err


def test_get_password_is_masked(capsys, project, monkeypatch):
    monkeypatch.setenv("IRIS_PASSWORD", SECRET)
    code, out, err = run(capsys, "config", "get", "instances.iris.credentials.password")
    assert code == 0 and out == "********\n"
    assert SECRET not in out + err


# ------------------------------------------------------------------ init
def test_init_writes_a_valid_file(capsys, tmp_path, monkeypatch):
    d = tmp_path / "New Project"
    d.mkdir()
    monkeypatch.chdir(d)
    code, _, err = run(capsys, "config", "init")
    assert code == 0 and "wrote" in err
    cfg = load_config(d / FILE, environ={})
    assert cfg.project == "new-project" and list(cfg.instances) == ["iris"]
    assert run(capsys, "config", "validate")[0] == 0


def test_init_refuses_to_overwrite(capsys, project):
    before = (project / FILE).read_text()
    code, _, err = run(capsys, "config", "init")
    assert code == 1 and "already exists" in err and "--force" in err
    assert (project / FILE).read_text() == before
    code, _, _ = run(capsys, "config", "init", "--force")
    assert code == 0 and (project / FILE).read_text() != before
    assert load_config(project / FILE, environ={}).project == "demo"


# ------------------------------------------------------------------ set
ODD = """\
#:schema ./schemas/iris-devtester.schema.json
# top comment   with   odd   spacing

[project]
name   =   "odd"      # trailing comment

[instances.iris]   # header comment
\timage = "containers.intersystems.com/intersystems/iris-community:latest-em"
memory="2g"
  # indented comment
globals = "256m"   #x

[instances.iris.credentials]
username = '_SYSTEM'
password = "${IRIS_PASSWORD:-SYS}"


[instances.iris.namespaces.APP]   \n\
pool = 2
# final comment, no newline at the end"""


@pytest.fixture
def odd(project):
    path = project / FILE
    path.write_text(ODD, encoding="utf-8")
    return path


def _changed_lines(before: str, after: str) -> list[tuple[int, str, str]]:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(a) == len(b), "lines were added or removed"
    return [(n, x, y) for n, (x, y) in enumerate(zip(a, b), 1) if x != y]


def test_set_changes_one_line_only(capsys, odd):
    code, _, err = run(capsys, "config", "set", "instances.iris.memory", "3g")
    assert code == 0 and "set instances.iris.memory" in err
    changes = _changed_lines(ODD, odd.read_text())
    assert changes == [(9, 'memory="2g"\n', 'memory="3g"\n')]
    assert load_config(odd, environ={}).instance().memory == 3 * 1024**3


def test_set_keeps_trailing_comments(capsys, odd):
    assert run(capsys, "config", "set", "project.name", "renamed")[0] == 0
    changes = _changed_lines(ODD, odd.read_text())
    assert len(changes) == 1 and changes[0][0] == 5
    assert changes[0][2].startswith('name   =   "renamed"') and "# trailing comment" in changes[0][2]


def test_set_integer_in_a_named_table(capsys, odd):
    assert run(capsys, "config", "set", "instances.iris.namespaces.APP.pool", "3")[0] == 0
    assert _changed_lines(ODD, odd.read_text()) == [(19, "pool = 2\n", "pool = 3\n")]


def test_set_creates_a_missing_table(capsys, odd):
    assert run(capsys, "config", "set", "instances.iris.monitoring.interval", "10s")[0] == 0
    after = odd.read_text()
    assert after.startswith(ODD)  # everything before is untouched
    assert "[instances.iris.monitoring]" in after[len(ODD):]
    assert load_config(odd, environ={}).instance().monitoring.interval == 10


def test_set_adds_a_missing_key(capsys, odd):
    assert run(capsys, "config", "set", "instances.iris.cpus", "2")[0] == 0
    after = odd.read_text()
    assert [line for line in after.splitlines() if line not in ODD.splitlines()] == ["cpus = 2.0"]
    assert load_config(odd, environ={}).instance().cpus == 2.0


@pytest.mark.parametrize("key, value, phrase", [
    ("instances.iris.memory", "2GB", "is not a size"),
    ("instances.iris.namespaces.APP.pool", "99", "outside 1..64"),
    ("instances.iris.edition", "enterprise", "no license_key"),
    ("instances.iris.ports.superserver", "70000", "not a port number"),
])
def test_set_refuses_an_invalid_value(capsys, odd, key, value, phrase):
    code, _, err = run(capsys, "config", "set", key, value)
    assert code == 1 and phrase in err and "nothing was written" in err
    assert odd.read_text() == ODD


def test_set_numeric_password_stays_a_string(capsys, odd):
    assert run(capsys, "config", "set", "instances.iris.credentials.password", "1234")[0] == 0
    assert 'password = "1234"' in odd.read_text()
    assert load_config(odd, environ={}).instance().credentials.password == "1234"


@pytest.mark.parametrize("key, phrase", [
    ("instances.iris.memry", "did you mean 'memory'"),
    ("instance.iris.memory", "did you mean 'instances'"),
    ("instances.iris.ports", "not a single setting"),
    ("instances..memory", "not a key path"),
])
def test_set_rejects_bad_keys(capsys, odd, key, phrase):
    code, _, err = run(capsys, "config", "set", key, "1")
    assert code == 1 and phrase in err and "Traceback" not in err
    assert odd.read_text() == ODD


def test_set_without_a_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IRISENV_CONFIG", raising=False)
    code, _, err = run(capsys, "config", "set", "instances.iris.memory", "3g")
    assert code == 1 and "config init" in err


def test_set_on_a_broken_file_shows_the_syntax_error(capsys, project):
    (project / FILE).write_text('[instances.iris\n')
    code, _, err = run(capsys, "config", "set", "instances.iris.memory", "3g")
    assert code == 1 and f"{FILE}:1" in err and "TOML syntax error" in err


def test_set_subprocess(project):
    proc = irisenv("config", "set", "instances.iris.memory", "4g", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert load_config(project / FILE, environ={}).instance().memory == 4 * 1024**3
    proc = irisenv("config", "set", "instances.iris.memory", "4 g", cwd=project)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ a symlinked config
@pytest.fixture
def linked(project, tmp_path):
    """iris-devtester.toml is a symbolic link (e.g. into a dotfiles or shared directory)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    target = shared / "irisenv.toml"
    (project / FILE).rename(target)
    (project / FILE).symlink_to(target)
    return project / FILE, target


def test_set_through_a_symlink_edits_the_target_and_keeps_the_link(capsys, linked):
    link, target = linked
    mode = target.stat().st_mode & 0o777
    code, _, err = run(capsys, "config", "set", "instances.iris.memory", "3g")
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert load_config(target, environ={}).instance().memory == 3 * 1024**3
    assert target.stat().st_mode & 0o777 == mode
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temp left
    assert sorted(p.name for p in link.parent.iterdir()) == [FILE]
    code, _, err = run(capsys, "config", "set", "-c", str(link), "instances.iris.memory", "4g")
    assert code == 0, err
    assert link.is_symlink() and load_config(link, environ={}).instance().memory == 4 * 1024**3


def test_init_force_through_a_symlink_rewrites_the_target(capsys, linked):
    link, target = linked
    before = target.read_text()
    code, _, err = run(capsys, "config", "init", "--force")
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() != before
    assert load_config(target, environ={}).project == "demo"  # named after the link's directory


def test_init_refuses_a_dangling_symlink(capsys, project, tmp_path):
    (project / FILE).unlink()
    missing = tmp_path / "nowhere" / "x.toml"
    (project / FILE).symlink_to(missing)
    code, _, err = run(capsys, "config", "init")
    assert code == 1 and "symbolic link" in err and "fix:" in err
    assert not missing.parent.exists() and (project / FILE).is_symlink()


# ------------------------------------------------------------------ schema
def test_schema_prints_json(capsys, tmp_path):
    from irisenv.config.schema import schema_text

    code, out, _ = run(capsys, "config", "schema")
    assert code == 0 and out == schema_text()
    assert json.loads(out)["title"] == "iris-devtester.toml"
    target = tmp_path / "s.json"
    code, _, err = run(capsys, "config", "schema", "-o", str(target))
    assert code == 0 and target.read_text() == schema_text()


# ------------------------------------------------------------------ secrets in subprocess output
def test_no_secret_in_any_subprocess_output(project):
    for argv in (["config", "show"], ["config", "show", "--json", "--origin"],
                 ["config", "get", "instances.iris.credentials.password"],
                 ["config", "get", "instances.iris.credentials"]):
        proc = irisenv(*argv, cwd=project, IRIS_PASSWORD=SECRET)
        assert proc.returncode == 0, proc.stderr
        assert SECRET not in proc.stdout + proc.stderr


def test_no_secret_in_an_error_about_the_config(project):
    (project / FILE).write_text(
        '[instances.iris]\nmemory = 2\n[instances.iris.credentials]\npassword = "${IRIS_PASSWORD}"\n')
    proc = irisenv("config", "validate", cwd=project, IRIS_PASSWORD=SECRET)
    assert proc.returncode == 1
    assert SECRET not in proc.stdout + proc.stderr


LITERAL = {  # configs that write the password (or a part of it) literally and have a problem
    "inline-table": f'[instances.iris]\ncredentials = {{ username = "bad name", password = "{SECRET}" }}\n',
    "bare-number": "[instances.iris.credentials]\npassword = 91779177\n",
    "control-char": f'[instances.iris.credentials]\npassword = "{SECRET}\\t"\n',
    "multi-line": f'[instances.iris.credentials]\npassword = """{SECRET}\n{SECRET}"""\n',
    "syntax": f'[instances.iris.credentials]\npassword = "{SECRET}\n',
    "typo-key": f'[instances.iris.credentials]\npasword = "{SECRET}"\n',
    "reference": f'[instances.iris.credentials]\npassword = "x${{{SECRET}}}"\n',
}


@pytest.mark.parametrize("text", LITERAL.values(), ids=LITERAL.keys())
def test_no_literal_password_in_validate_output(project, text):
    (project / FILE).write_text(text)
    for argv in (["config", "validate"], ["config", "validate", "--json"], ["plan"],
                 ["config", "show"]):
        proc = irisenv(*argv, cwd=project)
        assert proc.returncode == 1, (argv, proc.stdout, proc.stderr)
        shown = proc.stdout + proc.stderr
        for piece in (SECRET, "Secret", "91779177"):
            assert piece not in shown, (argv, shown)


def test_config_set_of_an_invalid_password_does_not_echo_it(project):
    proc = irisenv("config", "set", "instances.iris.credentials.password", f"{SECRET}\t",
                   cwd=project)
    assert proc.returncode == 1 and "nothing was written" in proc.stderr
    assert "Secret" not in proc.stdout + proc.stderr


def test_a_literal_password_is_masked_by_show_and_get(project):
    (project / FILE).write_text(f'[instances.iris.credentials]\npassword = "{SECRET}"\n')
    for argv in (["config", "show"], ["config", "show", "--origin"],
                 ["config", "show", "--json", "--origin"], ["config", "validate", "--json"],
                 ["config", "get", "instances.iris.credentials.password"],
                 ["config", "get", "--json", "instances.iris.credentials"]):
        proc = irisenv(*argv, cwd=project)
        assert proc.returncode == 0, proc.stderr
        assert SECRET not in proc.stdout + proc.stderr


# ------------------------------------------------------------------ the files a config names
BAD_FILES = {  # name -> (config lines, what the problem says, the key it is located at)
    "missing-licence": ('edition = "enterprise"\nlicense_key = "iris.key"', "does not exist",
                        "license_key"),
    "fifo-merge": ('merge = "pipe.cpf"', "FIFO", "merge"),
    "device-merge": ('merge = "/dev/zero"', "character device", "merge"),
    "dir-merge": ('merge = "."', "directory", "merge"),
    "huge-merge": ('merge = "huge.cpf"', "larger than 1 MiB", "merge"),
    "not-cpf": ('merge = "notes.txt"', "line 1 comes before any [section] header", "merge"),
    "environ": ('merge = "/proc/self/environ"', "not a text file", "merge"),
}


def _bad_files_project(project, lines):
    os.mkfifo(project / "pipe.cpf")
    (project / "huge.cpf").write_bytes(b"[config]\n" + b"A=1\n" * (1024 * 1024 // 4))
    (project / "notes.txt").write_text(f"remember {SECRET}\n[config]\n")
    (project / FILE).write_text(f"[instances.iris]\n{lines}\n")


@pytest.mark.parametrize("lines, says, key", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_validate_reports_unusable_merge_and_licence_files(project, lines, says, key):
    _bad_files_project(project, lines)
    proc = irisenv("config", "validate", cwd=project, IRISENV_TEST_LEAK=SECRET)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert says in proc.stderr
    line = lines.count("\n") + 2  # the key is on the last line
    assert f"{FILE}:{line}:" in proc.stderr and f"instances.iris.{key}:" in proc.stderr
    doc = json.loads(irisenv("config", "validate", "--json", cwd=project,
                             IRISENV_TEST_LEAK=SECRET).stdout)
    assert doc["valid"] is False
    assert [(i["key"], i["line"]) for i in doc["issues"]] == [(f"instances.iris.{key}", line)]
    for argv in (["config", "validate"], ["config", "validate", "--json"], ["plan"]):
        proc = irisenv(*argv, cwd=project, IRISENV_TEST_LEAK=SECRET)
        assert SECRET not in proc.stdout + proc.stderr and "PATH=" not in proc.stdout + proc.stderr


def test_validate_reports_every_file_problem_at_once(project):
    (project / FILE).write_text('[instances.a]\nmerge = "/dev/zero"\n'
                                '[instances.b]\nedition = "enterprise"\nlicense_key = "no.key"\n'
                                'merge = "nope.cpf"\n')
    proc = irisenv("config", "validate", "--json", cwd=project)
    assert proc.returncode == 1
    issues = json.loads(proc.stdout)["issues"]
    assert [(i["key"], i["line"]) for i in issues] == [
        ("instances.a.merge", 2), ("instances.b.license_key", 5), ("instances.b.merge", 6)]


def test_validate_accepts_good_files(project):
    (project / "extra.cpf").write_text("[Startup]\nSystemMode=TEST\n")
    (project / "iris.key").write_text("[License]\nKey=1\n")
    (project / FILE).write_text('[instances.iris]\nmerge = "extra.cpf"\n'
                                '[instances.ent]\nedition = "enterprise"\nlicense_key = "iris.key"\n')
    proc = irisenv("config", "validate", cwd=project)
    assert proc.returncode == 0 and proc.stdout.startswith("ok:"), proc.stderr


@pytest.mark.parametrize("lines, says, key", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_doctor_fails_on_unusable_merge_and_licence_files(capsys, project, monkeypatch,
                                                         lines, says, key):
    from irisenv.errors import IrisenvError
    from irisenv.project import Project

    def no_engine(self):
        raise IrisenvError("no engine in this test")

    monkeypatch.setattr(Project, "engine", property(no_engine))
    _bad_files_project(project, lines)
    code, out, _ = run(capsys, "doctor", "--json")
    assert code == 1
    label = {"merge": "iris: merge file", "license_key": "iris: licence"}[key]
    checks = {c["check"]: c for c in json.loads(out)["checks"]}
    assert checks[label]["status"] == "fail" and says in checks[label]["detail"]
    assert SECRET not in out


def test_doctor_reports_good_files_ok(capsys, project, monkeypatch):
    from irisenv.errors import IrisenvError
    from irisenv.project import Project

    def no_engine(self):
        raise IrisenvError("no engine in this test")

    monkeypatch.setattr(Project, "engine", property(no_engine))
    (project / "extra.cpf").write_text("[Startup]\nSystemMode=TEST\n")
    (project / FILE).write_text('[instances.iris]\nmerge = "extra.cpf"\n')
    code, out, _ = run(capsys, "doctor", "--json")
    checks = {c["check"]: c for c in json.loads(out)["checks"]}
    assert checks["iris: merge file"]["status"] == "ok"


# ------------------------------------------------------------------ import cost
HEAVY = ("docker", "rich", "iris", "tomlkit", "tenacity", "intersystems_iris", "irisnative")


def _imported(stderr: str) -> set[str]:
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name)
    return names


@pytest.mark.parametrize("argv", [["--help"], ["config", "validate"], ["--version"]])
def test_fast_paths_import_nothing_heavy(project, argv):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "irisenv", *argv],
                          capture_output=True, text=True, cwd=project, env=subprocess_env(),
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = _imported(proc.stderr)
    assert "irisenv.cli.main" in names  # the parse worked
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert not heavy, f"`irisenv {' '.join(argv)}` imports {heavy}"


@pytest.mark.parametrize("argv, own", [(["--help"], set()), (["--version"], set()),
                                       (["config", "validate"], {"irisenv.cli.config_cmd"}),
                                       (["plan", "--help"], {"irisenv.cli.plan_cmd"}),
                                       (["monitor", "report", "--help"],
                                        {"irisenv.cli.monitor_cmd"})])
def test_a_command_line_imports_only_its_own_verbs_module(project, argv, own):
    # sys.modules, not -X importtime: importlib.import_module (how verbs are loaded) is
    # not in importtime's report
    code = ("import sys\nfrom irisenv.cli.main import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\n"
            "sys.stderr.write(' '.join(sorted(m for m in sys.modules if m.endswith('_cmd'))))")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          cwd=project, env=subprocess_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(proc.stderr.split()) == own
