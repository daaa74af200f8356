"""The real-IRIS lane: irisenv's whole loop against a real InterSystems IRIS image.

Auto-marked ``docker`` and ``iris`` (tests/conftest.py). Skipped unless IRISENV_IRIS_IMAGE
names an IRIS image, e.g.

    IRISENV_IRIS_IMAGE=containers.intersystems.com/intersystems/iris-community:latest-em \
        python -m pytest tests/iris -m iris -v

It runs in .github/workflows/real-iris.yml. Where irisenv is developed no IRIS image can be
pulled, so as of writing this file has never run: nothing in irisenv is verified against
real IRIS until it passes somewhere (docs/verification.md).

One scenario, in order, because each step builds on the state the previous one left:

 1. a project with namespaces APP and TEST and a dedicated user ``tester`` (unique password)
 2. ``irisenv sync --timeout 300`` exits 0
 3. ``irisenv status --json``: both namespaces present, CallIn on, password verified;
    IRIS allocated the pinned caches (globals 128m, routines 48m: below 80 MB, so the
    six-value form) and no more shared memory than irisenv's memory check assumes;
    irisenv's record, read back with its own $Order loop: one node per namespace
 4. ``SELECT 1`` through ``irisenv.connect()`` and through the ``iris_connection`` fixture
    (a pytest subprocess with irisenv's plugin)
 5. TEST removed from the config: ``plan`` shows an in-place ``~`` drop, no ``-/+``
 6. ``sync``: TEST (namespace, both databases, their directories) gone; APP's data kept
 7. a namespace created by hand (``iris merge`` of a file, through ``irisenv exec``) is
    never dropped: ``plan --detailed-exitcode`` is 0 and a ``sync`` keeps it
 7b. the record in the older format (written by hand, as irisenv before the per-namespace
    record left it): ``plan`` shows the migration, ``sync`` rewrites it as nodes and
    kills the older strings; the hand-made namespace stays unrecorded
 8. a second sync is a no-op: ``plan --detailed-exitcode`` exits 0
 9. ``_SYSTEM`` needs no password change: the driver logs in as _SYSTEM/SYS
10. ``irisenv down`` removes the container

The CLI runs as a subprocess (what a user sees: exit codes, stdout, stderr). Cleanup is by
label through the Docker SDK in a fixture, whatever happened. With IRISENV_ARTIFACTS_DIR set,
the container log and a transcript of every CLI call are written there before cleanup
(the workflow uploads them when the job fails).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

IRIS_IMAGE = os.environ.get("IRISENV_IRIS_IMAGE", "")
ARTIFACTS = os.environ.get("IRISENV_ARTIFACTS_DIR", "")
PROJECT_LABEL = "io.irisenv.project"
INSTANCE = "iris"
# Where irisenv puts its databases with the default (ephemeral) storage:
# irisenv.iris.converge.db_dir() -> /usr/irissys/mgr/irisenv/<ns>-data|code/
MGR = "/usr/irissys/mgr"
GLOBALS_MB = 128
ROUTINES_MB = 48  # below 80: a single routines= value would be raised to 80 MB
HAND_NS = "HANDMADE"
HAND_DB = "HANDMADE_DB"

SYNC_TIMEOUT = 300  # irisenv's own readiness deadline (a cold IRIS start is 20-60 s)
CLI_TIMEOUT = 900  # the subprocess guard: pull + create + converge, generously


# ---------------------------------------------------------------------- the project
class RealProject:
    """A throwaway irisenv project on the real IRIS image, driven through the CLI."""

    def __init__(self, path: Path):
        self.path = path
        self.name = f"real-{uuid.uuid4().hex[:8]}"
        self.password = "Pw-" + secrets.token_urlsafe(12)
        self.config = path / "iris-devtester.toml"
        self.transcript: list[str] = []
        self.finished = False  # set by the scenario once it ran to the end

    def write(self, namespaces: tuple[str, ...]) -> None:
        ns_tables = "\n".join(f"[instances.{INSTANCE}.namespaces.{n}]" for n in namespaces)
        self.config.write_text(textwrap.dedent(f"""\
            [project]
            name = "{self.name}"

            [instances.{INSTANCE}]
            image = "{IRIS_IMAGE}"
            memory = "3g"
            globals = "{GLOBALS_MB}m"
            routines = "{ROUTINES_MB}m"
            stop_timeout = "60s"

            [instances.{INSTANCE}.credentials]
            username = "tester"
            password = "{self.password}"

            [instances.{INSTANCE}.services]
            callin = true

            """) + ns_tables + "\n", encoding="utf-8")

    # ------------------------------------------------------------------ CLI
    def run(self, *args: str, input: str | None = None,
            timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "irisenv", "-c", str(self.config), *args]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=self.path, capture_output=True, text=True, input=input,
                              timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)
        self.transcript.append(
            f"$ irisenv {' '.join(args)}   # exit {proc.returncode}, "
            f"{time.monotonic() - t0:.1f}s\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}\n")
        # irisenv must never print the configured password (no secret in any output);
        # `irisenv env` is the one verb that hands it out, on purpose
        if args[:1] != ("env",):
            assert self.password not in proc.stdout + proc.stderr, \
                f"the password leaked in the output of `irisenv {' '.join(args)}`"
        return proc

    def ok(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, describe(proc)
        return proc

    def json(self, *args: str) -> dict:
        return json.loads(self.ok(*args, "--json").stdout)

    # ------------------------------------------------------------------ inside IRIS
    def objectscript(self, lines: list[str], namespace: str = "%SYS") -> dict:
        """Run ObjectScript through `irisenv exec ... iris session` (independent of irisenv's
        own runner) and return the values the lines printed as IRISENV-T:key=value."""
        script = "\n".join(lines + ["halt"]) + "\n"
        proc = self.run("exec", "--instance", INSTANCE, "--", "iris", "session", "IRIS", "-U", namespace,
                        input=script, timeout=120)
        assert proc.returncode == 0, describe(proc)
        values = dict(re.findall(r"IRISENV-T:([\w.%-]+)=(\S*)", proc.stdout))
        assert values, f"no IRISENV-T values in the session output\n{describe(proc)}"
        return values

    def namespace_state(self, *names: str) -> dict:
        """Whether each namespace and each of irisenv's databases for it exists."""
        lines = []
        for n in names:
            lines.append(f'write "IRISENV-T:ns.{n}=",##class(%SYS.Namespace).Exists("{n}"),!')
            for db in (f"{n}_DATA", f"{n}_CODE"):
                lines.append(f'write "IRISENV-T:db.{db}=",##class(Config.Databases).Exists("{db}"),!')
        return self.objectscript(lines)

    def path_exists(self, path: str) -> bool:
        proc = self.run("exec", "--instance", INSTANCE, "--", "test", "-e", path, timeout=60)
        return proc.returncode == 0

    # ------------------------------------------------------------------ artifacts
    def save_artifacts(self, outcome: str) -> None:
        if not ARTIFACTS:
            return
        out = Path(ARTIFACTS) / self.name
        out.mkdir(parents=True, exist_ok=True)
        (out / "transcript.txt").write_text(f"outcome: {outcome}\n\n" + "\n".join(self.transcript),
                                            encoding="utf-8")
        try:
            logs = subprocess.run([sys.executable, "-m", "irisenv", "-c", str(self.config),
                                   "logs", INSTANCE], cwd=self.path, capture_output=True,
                                  text=True, timeout=120, stdin=subprocess.DEVNULL)
            (out / "irisenv-logs.txt").write_text(logs.stdout + logs.stderr, encoding="utf-8")
        except Exception as exc:  # the container may be gone already
            (out / "irisenv-logs.txt").write_text(f"could not read the log: {exc}\n")


def describe(proc: subprocess.CompletedProcess) -> str:
    args = proc.args[proc.args.index("-c") + 2:] if "-c" in proc.args else proc.args
    return (f"exit {proc.returncode} for irisenv {' '.join(map(str, args))}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")


def remove_by_label(project: str) -> None:
    """Remove every container and volume labelled for ``project``; the product's own
    `down` is under test, so cleanup does not rely on it."""
    import docker
    import docker.errors

    client = docker.from_env(timeout=120)
    try:
        label = {"label": f"{PROJECT_LABEL}={project}"}
        for c in client.containers.list(all=True, filters=label):
            try:
                c.remove(force=True)
            except docker.errors.APIError:
                pass
        for v in client.volumes.list(filters=label):
            try:
                v.remove(force=True)
            except docker.errors.APIError:
                pass
    finally:
        client.close()


def labelled_containers(project: str) -> list:
    import docker

    client = docker.from_env(timeout=60)
    try:
        return client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    finally:
        client.close()


@pytest.fixture
def real_project(tmp_path):
    if not IRIS_IMAGE:  # conftest skips first; this guards a direct run of the file
        pytest.skip("IRISENV_IRIS_IMAGE is not set")
    p = RealProject(tmp_path)
    p.write(("APP", "TEST"))
    try:
        yield p
    finally:
        if not p.finished:  # failed or interrupted: keep the log before the container goes
            p.save_artifacts("failed")
        remove_by_label(p.name)


def driver():
    try:
        import iris.dbapi  # intersystems-irispython
    except ImportError:
        pytest.fail("the real-IRIS lane needs the driver: pip install -e '.[test,driver]'",
                    pytrace=False)
    return iris.dbapi


def scalar(conn, sql: str, params: tuple = ()):
    cur = conn.cursor()
    try:
        cur.execute(sql, params) if params else cur.execute(sql)
        row = cur.fetchone()
        return None if row is None else row[0]
    finally:
        cur.close()


# ---------------------------------------------------------------------- the scenario
def test_real_iris_lifecycle(real_project: RealProject, tmp_path):
    p = real_project
    import irisenv

    # 1-2. sync creates the container, waits for readiness, converges IRIS and verifies it
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")

    # 3. status reads IRIS itself
    status = p.json("status")
    (row,) = [r for r in status["instances"] if r["instance"] == INSTANCE]
    assert row["state"] == "running" and row["iris"] == "running", row
    st = row["iris_state"]
    assert st is not None, f"IRIS state unknown: {row.get('iris_state_error')}"
    assert st["namespaces"] == {"APP": "present", "TEST": "present"}, st
    assert set(st["owned_namespaces"]) == {"APP", "TEST"}, st
    assert st["callin"] is True, st
    assert st["user"] == "tester" and st["user_exists"] is True, st
    assert st["password_verified"] is True, st
    assert not st["password_change_required"], st
    assert not st["system_password_change_required"], st
    assert st["pending"] == [], st
    check_pinned_caches(p)
    record = read_record(p)
    assert set(record["nodes"]) == {"APP", "TEST"}, record
    for value in record["nodes"].values():
        kind, created, run, init = value.split("^")
        assert (kind, run, init) == ("declared", "sync", "") and int(created) > 0, record

    # 4a. a real SQL round trip through irisenv.connect() (default namespace: APP)
    dbapi = driver()
    conn = irisenv.connect(config=str(p.config), timeout=120)
    try:
        assert int(scalar(conn, "SELECT 1")) == 1
        # data in APP, to prove later that dropping TEST leaves APP alone
        cur = conn.cursor()
        cur.execute("CREATE TABLE IrisenvProbe (id INT, note VARCHAR(40))")
        cur.execute("INSERT INTO IrisenvProbe (id, note) VALUES (?, ?)", (1, "kept"))
        cur.close()
        try:
            conn.commit()
        except Exception:  # autocommit connections may refuse an explicit commit
            pass
    finally:
        conn.close()

    # 4b. the same through the pytest plugin's iris_connection fixture, in a subprocess
    run_plugin_fixture_test(p, tmp_path)

    # 5. TEST leaves the config: an in-place drop, never a container replacement
    p.write(("APP",))
    text = p.ok("plan").stdout
    assert "-/+" not in text, text
    assert "~ iris" in text and "namespace TEST" in text, text
    plan = p.json("plan")
    kinds = [s["action"] for s in plan["steps"]]
    assert kinds == ["converge"], plan
    changes = plan["steps"][0]["iris_changes"]
    assert [c["op"] for c in changes] == ["-"], changes
    assert changes[0]["change"].startswith("namespace TEST"), changes
    assert p.run("plan", "--detailed-exitcode").returncode == 2

    # 6. sync drops TEST (namespace, both databases, their directories); APP keeps its data
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    seen = p.namespace_state("TEST", "APP")
    assert seen["ns.TEST"] == "0", seen
    assert seen["db.TEST_DATA"] == "0" and seen["db.TEST_CODE"] == "0", seen
    assert seen["ns.APP"] == "1" and seen["db.APP_DATA"] == "1" and seen["db.APP_CODE"] == "1", seen
    assert not p.path_exists(f"{MGR}/irisenv/test-data"), "TEST's data directory is still there"
    assert not p.path_exists(f"{MGR}/irisenv/test-code"), "TEST's code directory is still there"
    assert p.path_exists(f"{MGR}/irisenv/app-data/IRIS.DAT"), "APP's database file is gone"
    conn = irisenv.connect(config=str(p.config), timeout=120)
    try:
        assert scalar(conn, "SELECT note FROM IrisenvProbe WHERE id = ?", (1,)) == "kept"
    finally:
        conn.close()
    st = p.json("status")["instances"][0]["iris_state"]
    assert st["namespaces"] == {"APP": "present"} and st["owned_namespaces"] == ["APP"], st

    # 7. a namespace made by hand is never dropped
    make_namespace_by_hand(p)
    assert p.namespace_state(HAND_NS)[f"ns.{HAND_NS}"] == "1"
    proc = p.run("plan", "--detailed-exitcode")
    assert proc.returncode == 0, "a hand-made namespace must not show up in the plan\n" + describe(proc)
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    assert p.namespace_state(HAND_NS)[f"ns.{HAND_NS}"] == "1", "sync dropped a hand-made namespace"
    st = p.json("status")["instances"][0]["iris_state"]
    assert HAND_NS not in st["owned_namespaces"], st

    # 7b. the record as irisenv before the per-namespace record kept it: migrated by sync
    p.objectscript(['kill ^IRISENV set ^IRISENV("owned")="APP"',
                    'write "IRISENV-T:old=",$Get(^IRISENV("owned")),!'])
    text = p.ok("plan").stdout
    assert "one node per namespace" in text and "namespace APP" not in text, text
    assert p.run("plan", "--detailed-exitcode").returncode == 2
    p.ok("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "plain")
    record = read_record(p)
    assert record["nodes"] == {"APP": "declared^0^sync^"}, record
    assert record["old"] == "000", record
    assert p.namespace_state(HAND_NS)[f"ns.{HAND_NS}"] == "1", "the migration dropped a namespace"

    # 8. converged: a second sync has nothing to do
    proc = p.run("plan", "--detailed-exitcode")
    assert proc.returncode == 0, describe(proc)
    sync = p.json("sync", "--timeout", str(SYNC_TIMEOUT), "--progress", "quiet")
    assert sync["changes"] is False, sync

    # 9. _SYSTEM: the first-boot merge cleared its forced password change (ModifyUser ...
    #    ChangePassword=0), so the default _SYSTEM/SYS logs in without "Password change required"
    env = json.loads(p.ok("env", "--format", "json").stdout)
    try:
        sys_conn = dbapi.connect(hostname=env["IRIS_HOST"], port=int(env["IRIS_PORT"]),
                                 namespace="USER", username="_SYSTEM", password="SYS",
                                 timeout=30, sharedmemory=False)
    except Exception as exc:
        pytest.fail(f"_SYSTEM/SYS could not log in: {exc}", pytrace=False)
    try:
        assert int(scalar(sys_conn, "SELECT 1")) == 1
    finally:
        sys_conn.close()
    # and the wrong password is refused with the text connect() classifies as access denied
    from irisenv.iris.connect import classify
    with pytest.raises(Exception) as info:
        dbapi.connect(hostname=env["IRIS_HOST"], port=int(env["IRIS_PORT"]), namespace="USER",
                      username="tester", password=p.password + "-wrong", timeout=30,
                      sharedmemory=False)
    assert classify(str(info.value)) == "access_denied", str(info.value)

    # 10. down removes the container (by label; the fixture double-checks and cleans up)
    p.save_artifacts("passed (saved before down)")
    p.ok("down", "--progress", "plain")
    assert labelled_containers(p.name) == []
    p.finished = True


def check_pinned_caches(p: RealProject) -> None:
    """The first-boot merge reached the CPF, and IRIS allocated what it says: its startup
    line "[Generic.Event] <g>MB global buffers, <r>MB routine buffers, ..." in messages.log
    (the way InterSystems' ARES page suggests confirming a merge's memory settings)."""
    from irisenv.config import memory

    cpf = p.ok("exec", INSTANCE, "--", "cat", "/usr/irissys/iris.cpf", timeout=60).stdout
    assert f"globals=0,0,{GLOBALS_MB},0,0,0" in cpf.splitlines(), cpf
    assert f"routines=0,0,0,0,0,{ROUTINES_MB}" in cpf.splitlines(), cpf
    log = p.ok("exec", INSTANCE, "--", "cat", f"{MGR}/messages.log", timeout=60).stdout
    caches = re.findall(r"(\d+)MB global buffers, (\d+)MB routine buffers", log)
    assert caches, "no shared memory allocation line in messages.log\n" + log[-3000:]
    assert caches[-1] == (str(GLOBALS_MB), str(ROUTINES_MB)), caches[-1]
    total = re.findall(r"Allocated (\d+)MB shared memory", log)
    assert total, "no 'Allocated ...MB shared memory' line in messages.log"
    estimate = memory.shared(GLOBALS_MB * memory.MB, ROUTINES_MB * memory.MB) // memory.MB
    assert int(total[-1]) <= estimate, \
        f"IRIS allocated {total[-1]} MB shared memory; irisenv's memory check assumes {estimate}"


def read_record(p: RealProject) -> dict:
    """irisenv's record in %SYS, read with the same $Order loop irisenv's probe uses (one
    line; two blanks after the argumentless quit), and whether the older strings exist."""
    values = p.objectscript([
        'set n="" for { set n=$Order(^IRISENV("ns",n)) quit:n=""  '
        'write "IRISENV-T:rec.",n,"=",$Get(^IRISENV("ns",n)),! }',
        'write "IRISENV-T:old=",$Data(^IRISENV("owned")),$Data(^IRISENV("temp")),'
        '$Data(^IRISENV("syschange")),!',
    ])
    return {"nodes": {k.removeprefix("rec."): v for k, v in values.items()
                      if k.startswith("rec.")}, "old": values["old"]}


def make_namespace_by_hand(p: RealProject) -> None:
    """CreateDatabase + CreateNamespace in a merge file applied with `iris merge`, the way a
    user might: through `irisenv exec`, not through irisenv's converge."""
    merge = (f"[Actions]\n"
             f"CreateDatabase:Name={HAND_DB},Directory={MGR}/handmade/\n"
             f"CreateNamespace:Name={HAND_NS},Globals={HAND_DB},Routines={HAND_DB}\n")
    proc = p.run("exec", "--instance", INSTANCE, "--", "sh", "-c", "cat > /tmp/irisenv-handmade.cpf",
                 input=merge, timeout=60)
    assert proc.returncode == 0, describe(proc)
    proc = p.run("exec", "--instance", INSTANCE, "--", "iris", "merge", "IRIS", "/tmp/irisenv-handmade.cpf",
                 timeout=300)
    assert proc.returncode == 0, describe(proc)


def run_plugin_fixture_test(p: RealProject, tmp_path: Path) -> None:
    """A tiny test suite using the iris_connection fixture, run by pytest in a subprocess
    with --irisenv-config (the plugin syncs once: a no-op on the converged project)."""
    suite = tmp_path / "plugin_suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n")  # pins rootdir: not this repo's config
    (suite / "test_fixture.py").write_text(textwrap.dedent("""\
        def test_select_one(iris_connection, iris_instance):
            assert iris_instance.namespace == "APP"
            cur = iris_connection.cursor()
            cur.execute("SELECT 1")
            assert int(cur.fetchone()[0]) == 1
            cur.close()
        """))
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
           "--irisenv-config", str(p.config), str(suite / "test_fixture.py")]
    if not _plugin_entry_point():  # irisenv not pip-installed: load the plugin by hand
        cmd[3:3] = ["-p", "irisenv.integrations.pytest_plugin"]
    proc = subprocess.run(cmd, cwd=suite, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    p.transcript.append(f"$ {' '.join(cmd)}   # exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    assert proc.returncode == 0, f"the iris_connection fixture run failed\n{proc.stdout}\n{proc.stderr}"
    assert p.password not in proc.stdout + proc.stderr


def _plugin_entry_point() -> bool:
    from importlib.metadata import entry_points

    return any(ep.value.startswith("irisenv") for ep in entry_points(group="pytest11"))
