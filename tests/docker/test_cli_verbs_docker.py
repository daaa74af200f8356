"""`exec`, `env` and `sync --progress json` against the stand-in, as a user runs them."""
from __future__ import annotations

import json

from helpers import describe, instance_toml  # tests/docker is on sys.path


def test_exec_grammar_and_a_command_that_is_not_there(project):
    project.ok("sync", "--progress", "quiet")

    # everything after -- is the command: `iris` is the command here, not the instance
    proc = project.ok("exec", "--", "iris", "qlist", "IRIS")
    assert proc.stdout.startswith("IRIS^"), describe(proc)
    proc = project.ok("exec", "--instance", "iris", "-u", "irisowner", "--", "id", "-un")
    assert proc.stdout.strip() == "irisowner", describe(proc)
    proc = project.ok("exec", "--", "sh", "-c", "echo $1; exit 0", "sh", "-la")
    assert proc.stdout.strip() == "-la", describe(proc)
    # a command's own exit code passes through
    proc = project.run("exec", "--", "sh", "-c", "exit 7")
    assert proc.returncode == 7, describe(proc)

    # a command that does not exist in the container: irisenv's error, exit 127
    proc = project.run("exec", "--", "nosuchcmd", "arg")
    assert proc.returncode == 127, describe(proc)
    assert proc.stdout == "", describe(proc)  # no raw runtime message as if it were output
    assert proc.stderr.startswith(f"error: command 'nosuchcmd' not found in container "
                                  f"{project.name}-iris"), describe(proc)
    assert "  why: " in proc.stderr and "  fix: " in proc.stderr and "sh -c" in proc.stderr

    # a path that cannot be executed, an unknown user: exit 126, said plainly
    proc = project.run("exec", "--", "/usr/irissys")
    assert proc.returncode == 126, describe(proc)
    assert proc.stderr.startswith("error: command '/usr/irissys' could not be started"), \
        describe(proc)
    proc = project.run("exec", "-u", "nobodyx", "--", "id")
    assert proc.returncode == 126, describe(proc)
    assert "error: " in proc.stderr and "nobodyx" in proc.stderr and "-u" in proc.stderr

    # the old form, instance as a word before --, is refused with the new spelling
    proc = project.run("exec", "iris", "--", "iris", "qlist", "IRIS")
    assert proc.returncode == 64, describe(proc)
    assert "irisenv exec --instance iris -- iris qlist IRIS" in proc.stderr, describe(proc)

    # an instance that is not declared, and no command at all
    proc = project.run("exec", "--instance", "nope", "--", "id")
    assert proc.returncode == 1 and "no instance named 'nope'" in proc.stderr, describe(proc)
    proc = project.run("exec")
    assert proc.returncode == 64 and "no command" in proc.stderr, describe(proc)
    proc = project.run("exec", "--")
    assert proc.returncode == 64 and "no command" in proc.stderr, describe(proc)


def test_env_refuses_an_undeclared_namespace(project):
    project.write(instance_toml("iris") + "\n[instances.iris.namespaces.APP]\n"
                  "\n[instances.iris.namespaces.TEST]\n")
    project.ok("sync", "--progress", "quiet")

    proc = project.run("env", "--namespace", "NOPE")
    assert proc.returncode == 1, describe(proc)
    assert proc.stdout == "", describe(proc)  # no URL for a namespace that does not exist
    assert "namespace NOPE" in proc.stderr and "APP, TEST" in proc.stderr, describe(proc)
    assert "USER" in proc.stderr  # the built-in one is allowed too

    env = json.loads(project.ok("env", "--format", "json", "--namespace", "test").stdout)
    assert env["IRIS_NAMESPACE"] == "TEST" and env["IRIS_URL"].endswith("/TEST")
    env = json.loads(project.ok("env", "--format", "json", "--namespace", "USER").stdout)
    assert env["IRIS_NAMESPACE"] == "USER"
    env = json.loads(project.ok("env", "--format", "json").stdout)
    assert env["IRIS_NAMESPACE"] == "APP"


def test_progress_json_prints_only_json_lines(project):
    for args in (["sync"], ["sync"], ["down"]):  # a create, a no-op, a removal
        proc = project.ok(*args, "--progress", "json")
        lines = proc.stderr.splitlines()
        assert lines, describe(proc)
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"not a JSON line: {line!r}\n{describe(proc)}") from None
        assert events[-1]["event"] == "summary", describe(proc)
        assert events[-1]["message"].startswith(f"{args[0]}: project {project.name}: ")
