"""The CLI against a real project: no password in any output (except `irisenv env`'s
stdout, which exists to hand it to programs), connection values that match Docker,
exec and session pass-through, exit codes and the status JSON shape."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from helpers import describe


def test_password_never_appears_in_output(project, client, state_dir):
    pw = f"pw-{uuid.uuid4()}-Zq9"
    project.env["T_PW"] = pw
    project.configure(credentials={"password": "${T_PW}"})

    runs = {}

    def run(*args, input=None, expect=(0,)):
        p = project.run(*args, input=input)
        runs[" ".join(args)] = p
        assert p.returncode in expect, describe(p)
        return p

    # verbs that change things, one after another
    run("sync", "--progress", "plain")
    run("sync", "--json")
    run("sync", "--progress", "json")
    run("sync", "--recreate", "--progress", "json")
    # read-only verbs, several at a time (they take no lock)
    read_only = [
        ("plan",), ("plan", "--detailed-exitcode"), ("plan", "--json"), ("status",),
        ("status", "--json"), ("sync", "--dry-run"), ("sync", "--dry-run", "--json"), ("logs",),
        ("config", "validate"), ("config", "show"), ("config", "show", "--json"),
        ("config", "show", "--origin"), ("config", "get", "instances.iris.credentials.password"),
        ("config", "get", "instances.iris.credentials"), ("exec", "--instance", "iris", "--", "env"),
        ("exec", "--instance", "iris", "--", "sh", "-c", "cat /home/irisowner/irisenv/* 2>/dev/null; true"),
        ("env",), ("env", "--format", "dotenv"), ("env", "--format", "json"),
        ("monitor", "status"), ("monitor", "status", "--json"),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda args: run(*args), read_only))
    run("session", "iris", input='write "user=",$SYSTEM.Util.GetEnviron("IRIS_PASSWORD"),!\n'
                                 'write $ZV,!\n')
    run("env", "nosuch", expect=(1,))  # an error path
    run("monitor", "pause", "--json", expect=(0, 1))  # monitoring set up or not
    env_runs = [runs["env"], runs["env --format dotenv"], runs["env --format json"]]

    # the deliberate exception: env's stdout carries the password (that is its job) ...
    for p in env_runs:
        assert pw in p.stdout, describe(p)
    assert json.loads(env_runs[2].stdout)["IRIS_PASSWORD"] == pw
    # ... and nothing else ever does
    leaks = [key + " (stdout)" for key, p in runs.items()
             if pw in p.stdout and not key.startswith("env")]
    leaks += [key + " (stderr)" for key, p in runs.items() if pw in p.stderr]

    # nor the container: not in its environment, labels or anything docker inspect shows
    c = project.container("iris")
    assert pw not in json.dumps(c.attrs), "the password is in docker inspect of the container"
    code, out = c.exec_run(["env"])
    assert pw not in out.decode()
    # nor irisenv's state directory (locks and their owner files)
    assert list(state_dir.rglob("*.owner")), "the test looks in the wrong state directory"
    for f in state_dir.rglob("*"):
        if f.is_file():
            assert pw not in f.read_text(errors="replace"), f"password in {f}"

    down = project.run("down", "--json")
    runs["down --json"] = down
    assert down.returncode == 0, describe(down)
    leaks += [f"down --json ({s})" for s in ("stdout", "stderr") if pw in getattr(down, s)]
    assert not leaks, f"password leaked by: {leaks}"
    assert project.containers() == []


def test_env_exec_session_and_status_against_docker(project, client):
    p = project.run("status", "--json")
    assert p.returncode == 0, describe(p)
    before = json.loads(p.stdout)
    assert before["project"] == project.name
    assert before["instances"][0]["exists"] is False
    assert before["instances"][0]["state"] == "absent"

    project.ok("sync")
    c = project.container("iris")
    published = c.attrs["NetworkSettings"]["Ports"]
    ss = published["1972/tcp"][0]
    web = published["52773/tcp"][0]
    assert ss["HostIp"] == "127.0.0.1" and web["HostIp"] == "127.0.0.1"  # loopback default

    env = json.loads(project.ok("env", "--format", "json").stdout)
    assert env["IRIS_PORT"] == ss["HostPort"]
    assert env["IRIS_WEB_PORT"] == web["HostPort"]
    assert env["IRIS_HOST"] == "127.0.0.1"
    assert env["IRIS_NAMESPACE"] == "USER"
    assert env["IRIS_CONTAINER"] == c.name
    assert env["IRIS_URL"].endswith(f"@127.0.0.1:{ss['HostPort']}/USER")
    shell = project.ok("env").stdout
    assert f"export IRIS_PORT={ss['HostPort']}" in shell.splitlines()

    status = json.loads(project.ok("status", "--json").stdout)
    assert set(status) >= {"project", "instances"}
    (row,) = status["instances"]
    assert {"instance", "container", "exists", "state", "id", "image", "port", "web_port",
            "drift", "iris"} <= set(row)
    assert row["instance"] == "iris" and row["container"] == c.name
    assert row["exists"] is True and row["state"] == "running"
    assert c.id.startswith(row["id"])
    assert row["port"] == int(ss["HostPort"]) and row["web_port"] == int(web["HostPort"])
    assert row["drift"] is False and row["iris"] == "running"
    human = project.ok("status").stdout
    assert c.name in human and "running" in human

    q = project.ok("exec", "--instance", "iris", "--", "iris", "qlist", "IRIS").stdout.strip().splitlines()
    assert len(q) == 1 and q[0].startswith("IRIS^/usr/irissys^") and "^running, since" in q[0]
    p = project.run("exec", "--instance", "iris", "--", "sh", "-c", "echo to-err >&2; exit 7")
    assert p.returncode == 7 and "to-err" in p.stderr, describe(p)

    p = project.run("session", "iris", input='write "hi",!\n')
    assert p.returncode == 0, describe(p)
    assert any(line.strip().endswith(">hi") or line.strip() == "hi"
               for line in p.stdout.splitlines()), p.stdout
    token = uuid.uuid4().hex[:8]
    p = project.run("session", "iris", input=f'write "hi-"_"{token}",!\n')
    assert f"hi-{token}" in p.stdout, describe(p)  # evaluated, not echoed
    assert f'"hi-"_"{token}"' not in p.stdout


def test_cli_exit_codes(project):
    assert project.run("frobnicate").returncode == 64
    assert project.run("sync", "--no-such-flag").returncode == 64
    assert project.run("plan", "--detailed-exitcode").returncode == 2  # nothing exists yet
    assert project.containers() == []  # plan changed nothing
    project.ok("sync")
    assert project.run("plan", "--detailed-exitcode").returncode == 0
    assert project.run("plan").returncode == 0
    p = project.run("exec", "--instance", "nosuch", "--", "true")
    assert p.returncode == 1 and "nosuch" in p.stderr, describe(p)
