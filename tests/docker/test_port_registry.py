"""The per-user port registry on the real engine (stand-in image): "auto" ports that stay
put across restart, kill, replace and down/sync; distinct ports for many projects, also
with their containers stopped and from concurrent syncs; a fixed port of another project,
a listener irisenv did not start, stale entries, a corrupt registry; `irisenv ports`.

Every test has a state directory (so a registry) of its own (tests/conftest.py). Tests that
need to know which port comes next give their projects a window of ports of their own
(IRISENV_PORT_RANGE) above the kernel's ephemeral range (where neither Docker's own port
picks nor outgoing connections land), checked free first."""
from __future__ import annotations

import json
import random
import shutil
import socket
import uuid
from pathlib import Path

from helpers import describe

NO_WEB = {"web": False}


def free_window(n: int) -> int:
    """The first port of ``n`` consecutive ports, all free on 127.0.0.1, in 61000..65000."""
    for _ in range(200):
        base = random.randrange(61000, 65000 - n)
        if all(_bindable(p) for p in range(base, base + n)):
            return base
    raise AssertionError(f"no {n} consecutive free ports in 61000..65000")


def _bindable(port: int) -> bool:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def host_ports(container) -> dict:
    """{container port: host port} as the container was created (bindings, any state)."""
    container.reload()
    out = {}
    for key, binds in (container.attrs["HostConfig"]["PortBindings"] or {}).items():
        hp = binds[0]["HostPort"]
        out[int(key.split("/")[0])] = int(hp) if hp else None
    return out


def published(container) -> dict:
    container.reload()
    return {int(k.split("/")[0]): int(v[0]["HostPort"])
            for k, v in (container.attrs["NetworkSettings"]["Ports"] or {}).items() if v}


def registry(state_dir: Path) -> dict:
    doc = json.loads((state_dir / "ports.json").read_text())
    return {(e["project"], e["instance"], e["kind"]): e for e in doc["entries"]}


def first_candidate(name: str, window: tuple) -> int:
    from irisenv.core.ports import candidates

    return next(candidates(window, name, "iris", "superserver"))


def rename_until(project, want, window: tuple) -> None:
    """Give ``project`` a name whose first candidate port in ``window`` is ``want``, so the
    test knows a new lease would try that port first."""
    for _ in range(500):
        project.name = f"t-{uuid.uuid4().hex[:8]}"
        if first_candidate(project.name, window) == want:
            return
    raise AssertionError("no such name found")


# ---------------------------------------------------------------- stable
def test_an_auto_port_stays_across_restart_kill_replace_and_down(project, client, state_dir):
    project.ok("sync")
    c = project.container()
    first = published(c)
    assert host_ports(c) == first  # created with the leased ports, not Docker's pick
    reg = registry(state_dir)
    assert (reg[(project.name, "iris", "superserver")]["port"],
            reg[(project.name, "iris", "web")]["port"]) == (first[1972], first[52773])
    env = json.loads(project.ok("env", "--format", "json").stdout)
    assert env["IRIS_PORT"] == str(first[1972]) and env["IRIS_WEB_PORT"] == str(first[52773])

    c.restart(timeout=1)
    project.ok("sync")
    assert published(project.container()) == first
    project.container().kill()
    project.ok("sync")
    assert published(project.container()) == first
    old_id = project.container().id
    project.ok("sync", "--recreate")
    assert project.container().id != old_id and published(project.container()) == first
    project.ok("down")
    assert project.containers() == []
    project.ok("sync")
    assert published(project.container()) == first
    env = json.loads(project.ok("env", "--format", "json").stdout)
    assert env["IRIS_PORT"] == str(first[1972])


# ---------------------------------------------------------------- unique
def test_twenty_projects_get_twenty_distinct_ports_even_with_their_containers_stopped(
        make_project, client):
    base = free_window(40)
    seen = []
    for _ in range(4):  # five at a time, then stopped: the port is free on the host
        batch = [make_project() for _ in range(5)]
        for p in batch:
            p.env["IRISENV_PORT_RANGE"] = f"{base}-{base + 39}"
        for p, proc in [(p, p.popen("sync", "--no-wait")) for p in batch]:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, f"{p.name}: exit {proc.returncode}\n{err}"
        for p in batch:
            c = p.container()
            seen += list(host_ports(c).values())
            c.stop(timeout=0)  # from now on only the registry holds its ports
    assert sorted(seen) == list(range(base, base + 40))  # 40 ports, each once
    extra = make_project()
    extra.env["IRISENV_PORT_RANGE"] = f"{base}-{base + 39}"
    p = extra.run("sync", "--no-wait")
    assert p.returncode == 1, describe(p)
    assert "no free host port" in p.stderr and "irisenv ports prune" in p.stderr
    assert extra.containers() == []


def test_sixteen_concurrent_syncs_of_different_projects_never_share_a_port(make_project):
    base = free_window(32)
    projects = []
    for _ in range(16):
        p = make_project()
        p.env["IRISENV_PORT_RANGE"] = f"{base}-{base + 31}"  # exactly enough
        projects.append(p)
    procs = [p.popen("sync", "--no-wait", "--progress", "plain") for p in projects]
    for p, proc in zip(projects, procs):
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"{p.name}: exit {proc.returncode}\n{err}"
    ports = [port for p in projects for port in published(p.container()).values()]
    assert sorted(ports) == list(range(base, base + 32))


def test_a_fixed_port_of_another_project_is_never_handed_out(make_project, client):
    base = free_window(2)
    window = (base, base + 1)
    b = make_project()
    rename_until(b, base, window)  # b's first choice would be the port a fixes
    b.env["IRISENV_PORT_RANGE"] = f"{base}-{base + 1}"
    b.configure(ports=NO_WEB)
    a = make_project()
    a.configure(ports={"superserver": base, "web": False})
    a.ok("sync", "--no-wait")
    a.container().stop(timeout=0)  # free on the host: only the registry knows it is a's
    b.ok("sync", "--no-wait")
    assert published(b.container()) == {1972: base + 1}


def test_a_port_a_program_irisenv_did_not_start_holds_is_skipped(project):
    base = free_window(2)
    window = (base, base + 1)
    rename_until(project, base, window)
    project.env["IRISENV_PORT_RANGE"] = f"{base}-{base + 1}"
    project.configure(ports=NO_WEB)
    listener = socket.socket()
    listener.bind(("127.0.0.1", base))
    listener.listen()
    try:
        project.ok("sync", "--no-wait")
        assert published(project.container()) == {1972: base + 1}
        with socket.create_connection(("127.0.0.1", base), timeout=5):
            pass  # the other program's listener is untouched
    finally:
        listener.close()


# ---------------------------------------------------------------- stale, corrupt
def test_stale_entries_are_reclaimed_when_a_port_is_needed(project, state_dir, tmp_path):
    from irisenv.registry import engine_key

    base = free_window(2)
    engine = engine_key(None)
    live_dir = tmp_path / "still-here"
    live_dir.mkdir()

    def row(name, port, project_dir):
        return {"engine": engine, "project": name, "instance": "iris", "kind": "superserver",
                "port": port, "how": "auto", "project_dir": str(project_dir),
                "assigned": "2026-01-01T00:00:00Z", "last_seen": "2099-01-01T00:00:00Z"}

    gone = f"gone-{uuid.uuid4().hex[:6]}"
    (state_dir / "ports.json").write_text(json.dumps({"schema_version": 1, "entries": [
        row(gone, base, tmp_path / "deleted"), row("alive", base + 1, live_dir)]}))
    listing = json.loads(project.ok("ports", "--json").stdout)["entries"]
    assert [(e["project"], e["container"], e["stale"]) for e in listing] == [
        ("alive", "absent", False), (gone, "absent", True)]

    project.env["IRISENV_PORT_RANGE"] = f"{base}-{base + 1}"
    project.configure(ports=NO_WEB)
    p = project.ok("sync", "--no-wait", "--progress", "plain")
    assert f"reclaimed host port {base} of project {gone}" in p.stderr, p.stderr
    assert published(project.container()) == {1972: base}
    reg = registry(state_dir)
    assert (gone, "iris", "superserver") not in reg and ("alive", "iris", "superserver") in reg


def test_a_corrupt_registry_is_moved_aside_and_rebuilt_from_the_labels(make_project, state_dir):
    base = free_window(2)
    window = (base, base + 1)
    a = make_project()
    a.env["IRISENV_PORT_RANGE"] = f"{base}-{base + 1}"
    a.configure(ports=NO_WEB)
    a.ok("sync", "--no-wait")
    taken = published(a.container())[1972]
    a.container().stop(timeout=0)
    (state_dir / "ports.json").write_text('{"schema_version": 1, "entries": [')
    b = make_project()
    rename_until(b, taken, window)  # b's first choice is a's port
    b.env["IRISENV_PORT_RANGE"] = f"{base}-{base + 1}"
    b.configure(ports=NO_WEB)
    p = b.ok("sync", "--no-wait", "--progress", "plain")
    assert "port registry" in p.stderr and "was unreadable" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert published(b.container()) == {1972: base + 1 if taken == base else base}
    assert len(list(state_dir.glob("ports.json.corrupt-*"))) == 1
    assert registry(state_dir)[(a.name, "iris", "superserver")]["port"] == taken
    a.ok("sync", "--no-wait")
    assert published(a.container()) == {1972: taken}


# ---------------------------------------------------------------- reads, the verb
def test_plan_status_and_dry_run_never_lease(project, state_dir):
    project.ok("plan")
    project.ok("status")
    project.ok("sync", "--dry-run")
    assert not (state_dir / "ports.json").exists()


def test_ports_lists_releases_and_prunes(make_project, state_dir, tmp_path):
    a = make_project()
    a.ok("sync", "--no-wait")
    ports = published(a.container())
    text = a.ok("ports").stdout
    assert text.splitlines()[0].split() == ["PROJECT", "INSTANCE", "KIND", "PORT", "HOW",
                                            "CONTAINER", "STALE", "ENGINE"]
    assert any(line.split()[:7] == [a.name, "iris", "superserver", str(ports[1972]), "auto",
                                    "running", "no"] for line in text.splitlines())
    p = a.ok("ports", "release")  # this config's project
    assert f"project {a.name}: released {ports[1972]} (iris superserver)" in p.stderr
    assert mine(a, a.name) == []
    a.ok("sync", "--no-wait")  # still running on its ports: recorded again, no replace
    assert sorted(e["port"] for e in mine(a, a.name)) == sorted(ports.values())

    b = make_project()
    b.ok("sync", "--no-wait")
    b.ok("down")
    shutil.rmtree(b.path)  # the checkout is gone too
    p = a.ok("ports", "prune", "--json")
    pruned = json.loads(p.stdout)["released"]
    assert sorted((e["project"], e["kind"]) for e in pruned) == [(b.name, "superserver"),
                                                                 (b.name, "web")]
    assert mine(a, b.name) == [] and len(mine(a, a.name)) == 2
    p = a.run("ports", "release", "Not A Name")
    assert p.returncode == 1 and "project name" in p.stderr


def test_ports_without_a_registry_shows_what_the_containers_publish_and_writes_nothing(
        project, state_dir):
    project.ok("sync", "--no-wait")
    ports = published(project.container())
    registry_file = Path(state_dir) / "ports.json"
    registry_file.unlink()
    listed = json.loads(project.ok("ports", "--json").stdout)
    assert listed["recorded"] is False
    assert sorted(e["port"] for e in listed["entries"] if e["project"] == project.name) == \
        sorted(ports.values())
    text = project.ok("ports")
    assert "no port registry yet" in text.stderr and str(ports[1972]) in text.stdout
    assert not registry_file.exists()


def mine(project, name: str) -> list:
    """`irisenv ports --json`'s entries of project ``name`` (the registry also holds the
    other irisenv containers on the engine: a new registry is seeded from their labels)."""
    listed = json.loads(project.ok("ports", "--json").stdout)["entries"]
    return [e for e in listed if e["project"] == name]


def test_listing_imports_no_docker_py(project):
    project.ok("sync", "--no-wait")
    p = project.run("ports", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert p.returncode == 0, describe(p)
    names = {line.rsplit("|", 1)[1].strip() for line in p.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    assert "running" in p.stdout
    assert not {n for n in names if n == "docker" or n.startswith("docker.")}, names
