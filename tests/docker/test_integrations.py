"""The integrations against a real Docker engine and the stand-in IRIS image (a test double
of an IRIS container, tests/standin/): nox (`irisenv.session`, through examples/noxfile.py),
the pytest plugin under pytest-xdist, the plugin's inertness, and `irisenv.connect()`'s
error path (the stand-in's port 1972 speaks no IRIS protocol, so only the error path can
be exercised here).

Each test copies examples/standin/iris-devtester.toml into its own directory with a unique
project name, runs nox / pytest / python as a subprocess with a scrubbed environment (no
PYTEST_*, IRISENV_*, IRIS_* of the outer run), and removes everything Docker holds for that
name afterwards, straight through the Docker SDK.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import docker
import docker.errors
import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
STANDIN_CONFIG = EXAMPLES / "standin" / "iris-devtester.toml"
STANDIN_IMAGE = os.environ.get("IRISENV_STANDIN_IMAGE", "irisenv-standin:latest")
PROJECT_LABEL = "io.irisenv.project"
TIMEOUT = 300


# ---------------------------------------------------------------------- helpers
@dataclass
class StandinProject:
    name: str
    dir: Path
    config: Path
    password: str
    client: object

    def containers(self) -> list:
        return self.client.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={self.name}"})

    def container(self):
        found = self.containers()
        assert len(found) == 1, f"expected one container, found {[c.name for c in found]}"
        found[0].reload()
        return found[0]

    def superserver_port(self, container) -> int:
        binding = container.attrs["NetworkSettings"]["Ports"]["1972/tcp"]
        return int(binding[0]["HostPort"])

    def project(self):
        import irisenv
        from irisenv.project import Project

        return Project(irisenv.load_config(self.config))

    def cleanup(self) -> None:
        for c in self.containers():
            try:
                c.remove(force=True)
            except docker.errors.APIError:
                pass
        for v in self.client.volumes.list(filters={"label": f"{PROJECT_LABEL}={self.name}"}):
            try:
                v.remove(force=True)
            except docker.errors.APIError:
                pass


def clean_env(**extra) -> dict:
    """The environment for a child process: nothing of the outer pytest/xdist run, no
    irisenv or IRIS variables (but the test's own IRISENV_STATE_DIR), no colour."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "IRISENV_", "IRIS_", "COV_")) and k != "FORCE_COLOR"}
    env["IRISENV_STATE_DIR"] = os.environ["IRISENV_STATE_DIR"]  # tests/conftest.py: per test
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def run(cmd, *, cwd, env, timeout=TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def describe(proc) -> str:
    return (f"exit {proc.returncode}: {' '.join(map(str, proc.args))}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")


@pytest.fixture
def standin(tmp_path, client):  # `client`: tests/docker/conftest.py
    """A copy of examples/standin/iris-devtester.toml with a unique project name (and a
    unique password, to look for it in every output)."""
    name = f"t-int-{uuid.uuid4().hex[:8]}"
    text = STANDIN_CONFIG.read_text(encoding="utf-8")
    text, n = re.subn(r'(?m)^name = "example-app-standin"$', f'name = "{name}"', text)
    assert n == 1, "examples/standin/iris-devtester.toml no longer has the expected [project] name"
    text = text.replace('image = "irisenv-standin:latest"', f'image = "{STANDIN_IMAGE}"')
    pdir = tmp_path / "project"
    pdir.mkdir()
    config = pdir / "iris-devtester.toml"
    config.write_text(text, encoding="utf-8")
    p = StandinProject(name=name, dir=pdir, config=config,
                       password=f"Pw{uuid.uuid4().hex[:14]}", client=client)
    yield p
    p.cleanup()


def write_suite(directory: Path, files: dict) -> Path:
    """A throwaway test project: pytest.ini pins the rootdir (not this repository's
    pyproject.toml); no conftest.py, so only the installed irisenv plugin is in play."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n")
    for name, body in files.items():
        (directory / name).write_text(textwrap.dedent(body))
    return directory


def pytest_cmd(*args) -> list:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:benchmark",
            "-p", "no:randomly", *args]


# ---------------------------------------------------------------------- (a) nox
def test_nox_session_gets_the_connection_variables(standin, tmp_path):
    """examples/noxfile.py: `nox -s env` syncs and its command sees IRIS_* matching the
    real container; the password never appears in nox's output. Then `nox -s tests` runs
    examples/tests against the same container (the plugin's sync is a no-op)."""
    env = clean_env(IRISENV_CONFIG=str(standin.config), IRIS_PASSWORD=standin.password)
    nox = [sys.executable, "-m", "nox", "-f", EXAMPLES / "noxfile.py", "--no-color",
           "--envdir", tmp_path / ".nox"]
    proc = run([*nox, "-s", "env"], cwd=tmp_path, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, describe(proc)
    assert "Session env was successful" in out, describe(proc)
    assert standin.password not in out
    assert "urllib3" not in out, "the engine client's debug lines leak into nox's output"

    seen = dict(line.split("=", 1) for line in proc.stdout.splitlines()
                if re.match(r"^IRIS_[A-Z_]+=", line))
    c = standin.container()
    assert c.status == "running"
    assert seen["IRIS_HOST"] == "127.0.0.1"  # host_ip of the config, the engine is local
    assert int(seen["IRIS_PORT"]) == standin.superserver_port(c)
    assert seen["IRIS_NAMESPACE"] == "APP"
    assert seen["IRIS_USERNAME"] == "_SYSTEM"
    assert seen["IRIS_CONTAINER"] == c.name == f"{standin.name}-iris"
    assert seen["IRIS_PASSWORD"] == f"<hidden, {len(standin.password)} characters>"
    assert seen["IRIS_URL"] == f"iris://_SYSTEM:********@127.0.0.1:{seen['IRIS_PORT']}/APP"
    created = c.id

    # the tests session: irisenv.session() then pytest on examples/tests with the plugin
    proc = run([*nox, "-s", "tests", "--", "-m", "not iris", "-p", "no:cacheprovider",
                "-p", "no:benchmark"], cwd=tmp_path, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, describe(proc)
    assert re.search(r"\b2 passed, 2 deselected\b", out), describe(proc)
    assert standin.password not in out
    assert standin.container().id == created  # converged: reused, never recreated
    assert not (EXAMPLES / ".nox").exists()


# ---------------------------------------------------------------------- (b) pytest + xdist
XDIST_TEST = """\
    import json, os, time, uuid
    from dataclasses import replace
    from pathlib import Path

    import pytest


    @pytest.mark.parametrize("n", range({count}))
    def test_{label}(n, iris_instance, iris_namespace, irisenv_project):
        from irisenv.iris import probe

        time.sleep(0.2)  # keep both workers busy, so each one gets tests
        project = irisenv_project
        want = project.iris_desired()[iris_instance.instance]
        cid = project.container_id(iris_instance.instance)
        seen = probe.observe(project.engine, cid, replace(want, namespaces=(iris_namespace,)),
                             iris_instance.password)
        assert seen.namespaces[iris_namespace], "this worker's namespace is gone"
        # recorded inside IRIS as irisenv's, kind test-run with this run's id
        rec = seen.records[iris_namespace]
        assert rec.kind == "test-run" and rec.run and rec.created > 0
        runs = Path(os.environ["IRISENV_STATE_DIR"]) / "runs"
        record = {{"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
                   "namespace": iris_namespace, "container": cid,
                   "port": iris_instance.port, "default_namespace": iris_instance.namespace,
                   "markers": sorted(str(p.relative_to(runs)) for p in runs.glob("*/*")),
                   "cwd_files": sorted(p.name for p in Path.cwd().iterdir())}}
        out = Path(os.environ["IRISENV_IT_OUT"])
        (out / f"{{uuid.uuid4().hex}}.json").write_text(json.dumps(record))
"""


def test_pytest_plugin_under_xdist(standin, tmp_path, monkeypatch, state_dir):
    """Two workers: one sync for the run, one container, a namespace per worker (present
    while the tests ran, owned by irisenv), all dropped at the end; the run's sync marker
    (in the state directory, never in the checkout) is gone once the run is over."""
    out = tmp_path / "records"
    out.mkdir()
    suite = write_suite(tmp_path / "suite", {
        "test_one.py": XDIST_TEST.format(count=4, label="one"),
        "test_two.py": XDIST_TEST.format(count=4, label="two"),
    })
    env = clean_env(IRISENV_IT_OUT=str(out), IRIS_PASSWORD=standin.password)
    proc = run(pytest_cmd("-n", "2", "-p", "xdist", "--dist", "load", "-q",
                          "--irisenv-config", standin.config, suite), cwd=suite, env=env)
    assert proc.returncode == 0, describe(proc)
    assert re.search(r"\b8 passed\b", proc.stdout), describe(proc)
    assert standin.password not in proc.stdout + proc.stderr

    records = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert len(records) == 8
    by_worker: dict = {}
    for r in records:
        by_worker.setdefault(r["worker"], set()).add(r["namespace"])
    assert set(by_worker) == {"gw0", "gw1"}, by_worker
    assert all(len(ns) == 1 for ns in by_worker.values()), by_worker  # one per worker (session)
    namespaces = sorted(ns for s in by_worker.values() for ns in s)
    assert len(set(namespaces)) == 2, by_worker  # and not the same one
    assert {r["default_namespace"] for r in records} == {"APP"}

    # one container, the one every test saw, created once and never restarted
    c = standin.container()
    assert {r["container"] for r in records} == {c.id}
    assert {r["port"] for r in records} == {standin.superserver_port(c)}
    assert c.attrs["RestartCount"] == 0
    # sync happened once for the run: one marker, the same for both workers (they share
    # the run id); the controller removed it when the run ended; nothing in the checkouts
    assert len({tuple(r["markers"]) for r in records}) == 1, records
    assert len(records[0]["markers"]) == 1, records[0]["markers"]
    assert list((state_dir / "runs").iterdir()) == []
    assert sorted(p.name for p in standin.dir.iterdir()) == ["iris-devtester.toml"]
    assert not any(".irisenv" in r["cwd_files"] for r in records)

    # the worker namespaces were dropped at the end of the run; APP and TEST stay
    monkeypatch.setenv("IRIS_PASSWORD", standin.password)  # the config's ${IRIS_PASSWORD:-SYS}
    project = standin.project()
    from irisenv.iris import probe

    want = project.iris_desired()["iris"]
    seen = probe.observe(project.engine, c.id, replace(want, namespaces=tuple(namespaces)),
                         standin.password)
    assert {ns: seen.namespaces[ns] for ns in namespaces} == {ns: False for ns in namespaces}
    assert set(seen.records) == {"APP", "TEST"}  # their record nodes went with them
    assert seen.recorded("declared") == {"APP", "TEST"}
    status = run([sys.executable, "-m", "irisenv", "status", "--json"], cwd=standin.dir,
                 env=clean_env(IRIS_PASSWORD=standin.password))
    assert status.returncode == 0, describe(status)
    row = json.loads(status.stdout)["instances"][0]
    assert row["iris_state"]["owned_namespaces"] == ["APP", "TEST"]
    assert row["iris_state"]["namespaces"] == {"APP": "present", "TEST": "present"}


PLAIN_TEST = """\
    import os
    from pathlib import Path


    def test_synced(iris_instance):
        runs = Path(os.environ["IRISENV_STATE_DIR"]) / "runs"
        Path(os.environ["IRISENV_IT_OUT"]).write_text(
            "\\n".join(sorted(p.name for p in runs.glob("*/*"))))
"""


def test_a_run_without_xdist_leaves_no_marker(standin, tmp_path, state_dir):
    """Without xdist the one pytest process is the run: its sync marker exists while the
    tests run and is removed at the end; neither the suite nor the config's directory gets
    anything (no .irisenv/)."""
    out = tmp_path / "markers.txt"
    suite = write_suite(tmp_path / "suite", {"test_plain.py": PLAIN_TEST})
    env = clean_env(IRISENV_IT_OUT=str(out), IRIS_PASSWORD=standin.password)
    proc = run(pytest_cmd("-q", "--irisenv-config", standin.config, suite), cwd=suite, env=env)
    assert proc.returncode == 0, describe(proc)
    assert out.read_text().startswith("synced-") and len(out.read_text().split()) == 1
    assert list((state_dir / "runs").iterdir()) == []
    assert sorted(p.name for p in standin.dir.iterdir()) == ["iris-devtester.toml"]
    assert not (suite / ".irisenv").exists()


ONCE = """\
import sys
import irisenv
from irisenv.project import Project

print("SYNCED" if Project(irisenv.load_config(sys.argv[1])).sync_once(sys.argv[2]) else "SKIPPED")
"""


def test_sync_once_is_once_across_processes(standin, tmp_path, state_dir):
    """Four processes of one run (as xdist workers are) call sync_once at the same time:
    exactly one syncs; a second run id syncs again (a no-op on the converged project)."""
    script = tmp_path / "once.py"
    script.write_text(ONCE)
    env = clean_env(IRIS_PASSWORD=standin.password)
    for run_id in ("run-a", "run-b"):
        procs = [subprocess.Popen([sys.executable, str(script), str(standin.config), run_id],
                                  cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
                 for _ in range(4)]
        results = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=TIMEOUT)
            assert p.returncode == 0, stderr
            results.append(stdout.strip())
        assert sorted(results) == ["SKIPPED"] * 3 + ["SYNCED"], (run_id, results)
    assert len(standin.containers()) == 1
    markers = sorted(str(p.relative_to(state_dir / "runs")) for p in state_dir.glob("runs/*/*"))
    assert [m.split("/synced-")[0] for m in markers] == ["run-a", "run-b"], markers
    assert sorted(p.name for p in standin.dir.iterdir()) == ["iris-devtester.toml"]


# ---------------------------------------------------------------------- (c) inert plugin
INERT_TEST = """\
    import sys
    from pathlib import Path


    def test_plugin_loaded_but_inert(pytestconfig):
        assert pytestconfig.pluginmanager.hasplugin("irisenv")
        assert pytestconfig.getoption("irisenv_instance") is None
        assert "docker" not in sys.modules
        assert "irisenv.project" not in sys.modules
        assert "irisenv.engine.docker" not in sys.modules
        # and no config file anywhere it would be discovered
        here = Path.cwd().resolve()
        assert not any((d / "iris-devtester.toml").exists() for d in (here, *here.parents))
"""


@pytest.mark.parametrize("extra", [[], ["-n", "2", "-p", "xdist"],
                                   ["--irisenv-config", "does-not-exist.toml"]],
                         ids=["plain", "xdist", "missing-config"])
def test_plugin_is_inert_without_fixtures(tmp_path, extra):
    suite = write_suite(tmp_path / "suite", {"test_inert.py": INERT_TEST})
    proc = run(pytest_cmd("-q", *extra, suite), cwd=suite, env=clean_env())
    assert proc.returncode == 0, describe(proc)
    assert re.search(r"\b1 passed\b", proc.stdout), describe(proc)


# ---------------------------------------------------------------------- (d) connect()
def test_connect_to_the_standin_fails_clearly(standin, monkeypatch):
    """The stand-in's port 1972 accepts TCP but speaks no IRIS protocol: connect() must
    end in irisenv's NotReadyError within its timeout, not a raw driver exception."""
    try:
        import iris.dbapi  # noqa: F401  (intersystems-irispython, in the test extra)
    except ImportError:
        pytest.fail("the driver is missing: pip install -e '.[test]' (it holds "
                    "intersystems-irispython)", pytrace=False)
    import irisenv
    from irisenv.errors import IrisenvError, NotReadyError

    # before sync: no container, a plain irisenv error saying what to do
    with pytest.raises(IrisenvError) as info:
        irisenv.connect(config=standin.config, timeout=2)
    assert not isinstance(info.value, NotReadyError)
    assert "not running" in info.value.what and "irisenv sync" in info.value.fix

    monkeypatch.setenv("IRIS_PASSWORD", standin.password)  # the config's ${IRIS_PASSWORD:-SYS}
    irisenv.sync(standin.config, timeout=120)
    t0 = time.monotonic()
    with pytest.raises(NotReadyError) as info:
        irisenv.connect(config=standin.config, timeout=2)
    elapsed = time.monotonic() - t0
    err = info.value
    port = standin.superserver_port(standin.container())
    assert elapsed < 20, f"connect(timeout=2) took {elapsed:.1f}s"
    assert f"127.0.0.1:{port}/APP" in err.what and "instance iris" in err.what
    assert err.why.startswith("the driver said:")
    assert "irisenv status" in err.fix
    assert err.__cause__ is None and err.__context__ is None  # no driver traceback chained
    assert standin.password not in f"{err.what} {err.why} {err.fix} {err!r}"


# ---------------------------------------------------------------------- crashed run
CRASH_TEST = """\
    import os, signal
    from pathlib import Path


    def test_crash(iris_instance, iris_namespace):
        Path(os.environ["IRISENV_IT_OUT"]).write_text(iris_namespace)
        os.kill(os.getpid(), signal.SIGKILL)  # the run dies: no fixture teardown
"""


def test_crashed_run_leaves_its_namespace_until_abandoned(standin, tmp_path, monkeypatch,
                                                          state_dir):
    """A run killed mid-test never drops its namespace. It stays recorded as a test-run
    namespace: a sync meanwhile leaves it alone (it could belong to a live run); once its
    record is older than TEMP_TTL, the next sync drops it."""
    from irisenv.core.iris_plan import TEMP_TTL
    from irisenv.core.iris_record import TEST_RUN
    from irisenv.iris import probe, runner

    out = tmp_path / "namespace.txt"
    suite = write_suite(tmp_path / "suite", {"test_crash.py": CRASH_TEST})
    env = clean_env(IRISENV_IT_OUT=str(out), IRIS_PASSWORD=standin.password)
    proc = run(pytest_cmd("-q", "--irisenv-config", standin.config, suite), cwd=suite, env=env)
    assert proc.returncode == -9, describe(proc)
    # the run never ended: its sync marker stays until pruned by age (irisenv/runs.py)
    assert len(list(state_dir.glob("runs/*/synced-*"))) == 1
    name = out.read_text()

    monkeypatch.setenv("IRIS_PASSWORD", standin.password)
    project = standin.project()
    want = project.iris_desired()["iris"]
    cid = standin.container().id

    def seen():
        return probe.observe(project.engine, cid, replace(want, namespaces=(name,)),
                             standin.password)

    left = seen()
    assert left.namespaces[name] and left.records[name].kind == TEST_RUN

    cli_env = clean_env(IRIS_PASSWORD=standin.password)
    plan = run([sys.executable, "-m", "irisenv", "plan", "--detailed-exitcode"],
               cwd=standin.dir, env=cli_env)
    assert plan.returncode == 0, describe(plan)  # recent: nothing to do
    sync = run([sys.executable, "-m", "irisenv", "sync", "--progress", "plain"],
               cwd=standin.dir, env=cli_env)
    assert sync.returncode == 0, describe(sync)
    assert seen().namespaces[name], "a sync dropped a namespace a live run could be using"

    # age the record past TEMP_TTL (as if the crash were long ago); then sync drops it
    old = int(time.time() - TEMP_TTL - 60)
    run_id = left.records[name].run
    runner.run(project.engine, cid, [f'set ^IRISENV("ns","{name}")="test-run^{old}^{run_id}^"'],
               what="ageing the test-run record")
    plan = run([sys.executable, "-m", "irisenv", "plan"], cwd=standin.dir, env=cli_env)
    assert plan.returncode == 0, describe(plan)
    assert f"namespace {name}" in plan.stdout, describe(plan)
    sync = run([sys.executable, "-m", "irisenv", "sync", "--progress", "plain"],
               cwd=standin.dir, env=cli_env)
    assert sync.returncode == 0, describe(sync)
    after = seen()
    assert not after.namespaces[name] and name not in after.records
    assert set(after.records) == {"APP", "TEST"}
    assert standin.password not in plan.stdout + plan.stderr + sync.stdout + sync.stderr
