"""Contract tests for the stand-in IRIS image (tests/standin/, a test double).

Every behaviour the stand-in imitates (see tests/standin/README.md, which cites
docs/learnings/) is proved here against real containers of the image, driven
with the Docker SDK directly. Containers are labelled io.irisenv.test=standin
and always removed; boot delays are 0-1 s so the file stays fast.
"""
from __future__ import annotations

import io
import os
import socket
import struct
import tarfile
import time
import uuid

import docker
import pytest
from helpers import wait_for  # tests/docker is on sys.path (no __init__.py)

IMAGE = os.environ.get("IRISENV_STANDIN_IMAGE", "irisenv-standin:latest")
LABELS = {"io.irisenv.test": "standin"}
SUCCESS = ["IRIS Merge completed successfully"]


# --------------------------------------------------------------------- helpers
def uid(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:8]


def logs(c) -> str:
    return c.logs(stdout=True, stderr=True).decode("utf-8", "replace")


def tar_bytes(files: dict[str, bytes], dirs: tuple[str, ...] = (),
              executable: tuple[str, ...] = ()) -> bytes:
    """In-memory tar; every entry owned by irisowner (51773) so it can read them; files
    whose names end with one of ``executable`` get mode 0755."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, 51773, 51773
            info.mtime = int(time.time())
            tar.addfile(info)
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.uid, info.gid = len(data), 51773, 51773
            info.mode = 0o755 if executable and path.endswith(executable) else 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def put_file(c, path: str, text: str) -> None:
    directory, name = path.rsplit("/", 1)
    assert c.put_archive(directory, tar_bytes({name: text.encode()}))


def run(c, cmd, stdin: str | None = None, env: dict | None = None, user: str = "") -> tuple[int, str]:
    """docker exec; optional script on stdin (like `docker exec -i`). Returns (rc, stdout+stderr)."""
    api = c.client.api
    ex = api.exec_create(c.id, cmd, stdin=stdin is not None, stdout=True, stderr=True,
                         environment=env, user=user)
    if stdin is None:
        out = api.exec_start(ex["Id"])
    else:
        sock = api.exec_start(ex["Id"], socket=True)
        raw = getattr(sock, "_sock", sock)
        raw.settimeout(30)
        raw.sendall(stdin.encode())
        raw.shutdown(socket.SHUT_WR)  # EOF on the session's stdin
        data = b""
        while True:
            chunk = raw.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
        out = b""
        while len(data) >= 8:  # demultiplex docker's 8-byte framed stream
            _kind, size = struct.unpack(">BxxxL", data[:8])
            out += data[8:8 + size]
            data = data[8 + size:]
    info = wait_for(lambda: (lambda i: i if not i["Running"] else None)(api.exec_inspect(ex["Id"])),
                    timeout=10, step=0.05, what="exec to finish")
    return info["ExitCode"], out.decode("utf-8", "replace")


def session(c, script: str, env: dict | None = None, ns: str = "%SYS") -> tuple[int, str]:
    return run(c, ["iris", "session", "IRIS", "-U", ns], stdin=script, env=env)


def merge(c, text: str | None, path: str | None = None) -> tuple[int, str]:
    path = path or f"/home/irisowner/{uid('m')}.cpf"
    if text is not None:
        put_file(c, path, text)
    return run(c, ["iris", "merge", "IRIS", path])


def probe(c, expr: str, ns: str = "%SYS", env: dict | None = None) -> str:
    """Value of one session-grammar expression, read between markers."""
    rc, out = session(c, f'write "<<",{expr},">>",!\nhalt\n', env=env, ns=ns)
    assert rc == 0, out
    return out.split("<<", 1)[1].split(">>", 1)[0]


def qlist(c) -> list[str]:
    rc, out = run(c, ["iris", "qlist", "IRIS"])
    assert rc == 0, out
    return out.strip().split("^")


# --------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def make(client):
    """Factory: make(env=..., start=True, **kwargs) -> container (always removed)."""
    made = []

    def _make(env: dict | None = None, start: bool = True, **kw):
        environment = {"STANDIN_BOOT_SECONDS": "0"}
        environment.update(env or {})
        c = client.containers.create(IMAGE, name=uid("irisenv-standin-test-"), labels=LABELS,
                                     environment=environment, detach=True, **kw)
        made.append(c)
        if start:
            c.start()
        return c

    yield _make
    for c in made:
        try:
            c.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass


def wait_ready(c, timeout: float = 15.0):
    wait_for(lambda: "Enabling logons" in logs(c), timeout=timeout, what="Enabling logons")
    return c


@pytest.fixture(scope="module")
def iris(make):
    """Shared running instance, started with the real image's usual flags plus -k and -a."""
    c = make(start=False, command=["--check-caps", "false", "--ISCAgent", "false",
                                   "-k", "/home/irisowner/key/iris.key",
                                   "-a", "touch /tmp/after-hook-ran"])
    c.put_archive("/home/irisowner", tar_bytes({"key/iris.key": b"LICENSE-KEY-STANDIN\n"}, dirs=("key",)))
    c.start()
    return wait_ready(c)


# --------------------------------------------------------------------- boot
def test_boot_waits_for_delay_then_enables_logons(make):
    c = make(env={"STANDIN_BOOT_SECONDS": "1"})
    first = qlist(c)
    assert first[3].startswith("down, last used ")
    assert "Enabling logons" not in logs(c)
    t0 = time.monotonic()
    wait_ready(c)
    assert time.monotonic() - t0 >= 0.3  # the delay was honoured, not skipped
    assert qlist(c)[3].startswith("running, since ")
    line = next(l for l in logs(c).splitlines() if "Enabling logons" in l)
    assert "[Utility.Event] Enabling logons" in line


def test_ports_listen_after_boot(iris):
    for port in (1972, 52773):
        rc, out = run(iris, ["nc", "127.0.0.1", str(port)], stdin="")
        assert rc == 0, f"port {port}: {out}"
    rc, out = run(iris, ["wget", "-q", "-O", "-", "http://127.0.0.1:52773/csp/sys/UtilHome.csp"])
    assert rc == 0 and "stand-in" in out


def test_container_contract(iris, client):
    img = client.images.get(IMAGE)
    cfg = img.attrs["Config"]
    assert cfg["Labels"]["io.irisenv.standin"] == "1"
    assert cfg["User"] == "51773"
    assert cfg["WorkingDir"] == "/home/irisowner"
    assert set(cfg["ExposedPorts"]) == {"1972/tcp", "52773/tcp"}
    assert cfg["Entrypoint"] == ["/tini", "--", "/iris-main"]
    env = dict(e.split("=", 1) for e in cfg["Env"])
    assert env["ISC_PACKAGE_INSTALLDIR"] == "/usr/irissys"
    assert env["ISC_PACKAGE_INSTANCENAME"] == "IRIS"
    rc, out = run(iris, ["id"])
    assert "uid=51773(irisowner) gid=51773(irisowner)" in out
    rc, out = run(iris, ["cat", "/proc/1/cmdline"])
    assert "/iris-main" in out  # PID 1 is iris-main itself (/tini execs it); it handles SIGTERM


def test_iris_main_flags_key_and_after_hook(iris):
    rc, out = run(iris, ["cat", "/usr/irissys/mgr/iris.key"])
    assert rc == 0 and out == "LICENSE-KEY-STANDIN\n"
    wait_for(lambda: run(iris, ["test", "-f", "/tmp/after-hook-ran"])[0] == 0, what="-a hook")
    wait_for(lambda: "executed command touch /tmp/after-hook-ran" in logs(iris), what="executed command")


def test_qlist_format(iris):
    f = qlist(iris)
    assert len(f) == 13
    assert f[0] == "IRIS" and f[1] == "/usr/irissys" and f[2] == "2025.1.0.223.0"
    assert f[3].startswith("running, since ")
    assert f[4:8] == ["iris.cpf", "1972", "52773", "62972"]
    assert f[8] == "ok" and f[9] == "IRIS" and f[12] == "/usr/irissys"
    rc, out = run(iris, ["iris", "qlist"])  # no name: the one instance
    assert rc == 0 and out.split("^")[0] == "IRIS"


def test_monitor_and_version_knobs(make):
    c = wait_ready(make(env={"STANDIN_MONITOR_STATE": "warn", "STANDIN_VERSION": "2024.1.2.398.0"}))
    f = qlist(c)
    assert f[8] == "warn" and f[2] == "2024.1.2.398.0"
    assert probe(c, "$SYSTEM.Monitor.State()") == "1"
    assert "2024.1 (Build 398U)" in probe(c, "$ZVERSION")


def test_hang_knob_never_boots(make):
    c = make(env={"STANDIN_BOOT_SECONDS": "never"})
    # the knob's branch is entered (it never leaves it): no fixed sleep to prove an absence
    wait_for(lambda: "Starting up (stand-in boot delay: never)" in logs(c), what="boot line")
    assert "Enabling logons" not in logs(c)
    assert qlist(c)[3].startswith("down")
    rc, out = run(c, ["nc", "127.0.0.1", "1972"], stdin="")
    assert rc != 0  # nothing listens yet
    rc, out = session(c, 'write "x",!\n')
    assert rc == 1 and "Startup in progress, sign-on inhibited" in out
    rc, out = merge(c, "[Actions]\n")
    assert rc == 1 and "not running" in out


def test_license_knob(make):
    c = make(env={"STANDIN_LICENSE_ERROR": "1"})
    wait_for(lambda: "Invalid Community Edition license, may have exceeded core limit" in logs(c),
             what="licence line")
    # the instance is in its final licence-failed state (sessions say so), not still booting
    wait_for(lambda: "LICENSE LIMIT EXCEEDED" in session(c, 'write "x",!\n')[1],
             what="licence-failed state")
    assert "Enabling logons" not in logs(c)
    c.reload()
    assert c.status == "running"
    assert qlist(c)[3].startswith("down")
    rc, _ = session(c, 'write "x",!\n')
    assert rc == 1


def test_sigterm_stops_gracefully(make):
    c = wait_ready(make())
    t0 = time.monotonic()
    c.stop(timeout=10)
    took = time.monotonic() - t0
    c.reload()
    assert took < 5, took
    assert c.attrs["State"]["ExitCode"] == 0
    assert "Shutdown complete" in logs(c)


def test_iris_stop_stops_container(make):
    c = wait_ready(make())
    rc, out = run(c, ["iris", "stop", "IRIS", "quietly"])
    assert rc == 0, out
    wait_for(lambda: (c.reload(), c.status)[1] == "exited", what="container exit")
    assert c.attrs["State"]["ExitCode"] == 0


# --------------------------------------------------------------------- merge
def test_merge_creates_database_and_namespace(iris):
    ns, db = uid("NS").upper(), uid("DB").upper()
    # CreateNamespace first in the file: the fixed order still creates the DB first
    rc, out = merge(iris, f"[Actions]\nCreateNamespace:Name={ns.lower()},Globals={db}\n"
                          f"CreateDatabase:Name={db},Directory=/usr/irissys/mgr/{db.lower()}\n")
    assert rc == 0, out
    lines = out.strip().splitlines()
    assert lines[0].startswith("IRIS Merge of /home/irisowner/") and lines[0].endswith(" into /usr/irissys/iris.cpf")
    assert lines[1:] == SUCCESS
    assert probe(iris, f'##class(%SYS.Namespace).Exists("{ns}")') == "1"
    assert probe(iris, f'##class(%SYS.Namespace).Exists("{ns.lower()}")') == "1"  # case-insensitive
    assert probe(iris, f'##class(Config.Databases).Exists("{db}")') == "1"
    rc, out = session(iris, f'set sc=##class(Config.Namespaces).Get("{ns}",.p)\n'
                            'write "G=",p("Globals")," R=",p("Routines"),!\n')
    assert f"G={db} R={db}" in out
    rc, out = run(iris, ["test", "-f", f"/usr/irissys/mgr/{db.lower()}/IRIS.DAT"])
    assert rc == 0


def test_merge_delete_namespace_and_database(iris):
    ns, db = uid("NS").upper(), uid("DB").upper()
    d = f"/usr/irissys/mgr/{db.lower()}"
    assert merge(iris, f"[Actions]\nCreateDatabase:Name={db},Directory={d}\nCreateNamespace:Name={ns},Globals={db}\n")[0] == 0
    rc, out = merge(iris, f"[Actions]\nDeleteDatabase:Name={db},Directory={d}\nDeleteNamespace:Name={ns}\n")
    assert rc == 0, out
    assert probe(iris, f'##class(%SYS.Namespace).Exists("{ns}")') == "0"
    assert probe(iris, f'##class(Config.Databases).Exists("{db}")') == "0"


def test_merge_skip_rules(iris):
    user = uid("u")
    assert merge(iris, f'[Actions]\nCreateUser:Name={user},PasswordHash="a,b,10000,SHA512",Roles=%All\n')[0] == 0
    # Create on an existing object is skipped: properties are NOT updated
    rc, out = merge(iris, f'[Actions]\nCreateUser:Name={user},PasswordHash="c,d,10000,SHA512",Roles=%Manager\n')
    assert rc == 0 and out.strip().endswith(SUCCESS[0])
    assert probe(iris, f'$SYSTEM.Status.IsOK(##class(Security.Users).Get("{user}",.p))_p("Roles")') == "1%All"
    # Modify on a missing object and Delete of absent objects are skipped
    ghost = uid("ghost")
    rc, out = merge(iris, f"[Actions]\nModifyUser:Name={ghost},Enabled=0\nModifyService:Name=%Service_{ghost},Enabled=1\n"
                          f"DeleteNamespace:Name={ghost}\nDeleteDatabase:Name={ghost},Directory=/nowhere\n")
    assert rc == 0, out
    assert probe(iris, f'##class(Security.Users).Exists("{ghost}")') == "0"
    assert probe(iris, f'##class(Security.Services).Exists("%Service_{ghost}")') == "0"


def test_merge_create_user_requires_password_hash(iris):
    user = uid("u")
    rc, out = merge(iris, f"[Actions]\nCreateUser:Name={user},Password=SYS,Roles=%All\n")
    assert rc == 1
    assert f"CreateUser:Name={user},Password=SYS,Roles=%All" in out  # names the failing line
    assert "line 2" in out and "PasswordHash" in out
    assert probe(iris, f'##class(Security.Users).Exists("{user}")') == "0"


def test_merge_failures_exit_nonzero(iris):
    rc, out = merge(iris, f"[Actions]\nCreateNamespace:Name={uid('N')},Globals=NOSUCHDB{uid()}\n")
    assert rc == 1 and "does not exist" in out
    rc, out = merge(iris, "[Actions]\nCreateResource:Name=%DB_X\n")
    assert rc == 1 and "CreateResource" in out


def test_merge_lowercase_actions_section_is_ignored(iris):
    ns = uid("NS").upper()
    rc, out = merge(iris, f"[actions]\nCreateDatabase:Name={ns},Directory=/usr/irissys/mgr/{ns.lower()}\n"
                          f"CreateNamespace:Name={ns},Globals={ns}\n")
    assert rc == 0 and out.strip().endswith(SUCCESS[0])
    assert probe(iris, f'##class(%SYS.Namespace).Exists("{ns}")') == "0"


def test_merge_missing_file_reports_success(iris):
    path = f"/home/irisowner/{uid('nope')}.cpf"
    rc, out = merge(iris, None, path=path)
    assert rc == 0
    assert out.strip().splitlines() == [f"IRIS Merge of {path} into /usr/irissys/iris.cpf"] + SUCCESS


def test_merge_relative_path_is_rejected(iris):
    put_file(iris, "/home/irisowner/rel.cpf", "[Actions]\n")
    rc, out = run(iris, ["iris", "merge", "IRIS", "rel.cpf"])
    assert rc != 0 and "relative paths are not accepted" in out


def test_merge_records_config_parameters(iris):
    rc, out = merge(iris, "[config]\nglobals=0,0,32,0,0,0\n[Startup]\nSystemMode=STANDIN\n")
    assert rc == 0, out
    rc, cpf = run(iris, ["cat", "/usr/irissys/iris.cpf"])
    assert "globals=0,0,32,0,0,0" in cpf and "SystemMode=STANDIN" in cpf


def test_modify_user_change_password_visible(iris):
    get = 'set sc=##class(Security.Users).Get("_SYSTEM",.p)\nwrite "<<",sc,":",p("ChangePassword"),":",p("PasswordNeverExpires"),">>",!\n'
    assert "<<1:1:1>>" in session(iris, get)[1]  # fresh instance: change required (docs/learnings/container.md)
    assert merge(iris, "[Actions]\nModifyUser:Name=_SYSTEM,ChangePassword=0,PasswordNeverExpires=1\n")[0] == 0
    assert "<<1:0:1>>" in session(iris, get)[1]


def test_sticky_password_knob(make):
    c = wait_ready(make(env={"STANDIN_STICKY_PASSWORD_CHANGE": "1"}))
    rc, out = merge(c, "[Actions]\nModifyUser:Name=_SYSTEM,ChangePassword=0,Enabled=1,FullName=Sticky\n")
    assert rc == 0 and out.strip().endswith(SUCCESS[0])  # merge claims success ...
    rc, out = session(c, 'set sc=##class(Security.Users).Get("_SYSTEM",.p)\nwrite "<<",p("ChangePassword"),p("FullName"),">>",!\n')
    assert "<<1Sticky>>" in out  # ... but ChangePassword stayed 1


def test_modify_service_callin_visible(iris):
    get = 'set sc=##class(Security.Services).Get("%Service_CallIn",.p)\nwrite "<<",p("Enabled"),">>",!\n'
    assert "<<0>>" in session(iris, get)[1]
    assert merge(iris, "[Actions]\nModifyService:Name=%Service_CallIn,Enabled=1,AutheEnabled=48\n")[0] == 0
    assert "<<1>>" in session(iris, get)[1]


def test_create_and_modify_user_in_one_file(iris):
    user = uid("u")
    rc, out = merge(iris, f"[Actions]\nModifyUser:Name={user},ChangePassword=1\n"
                          f'CreateUser:Name={user},PasswordHash="h,s,10000,SHA512",Roles="%All",FullName="A ""B"", C"\n')
    assert rc == 0, out
    rc, out = session(iris, f'set sc=##class(Security.Users).Get("{user}",.p)\n'
                            'write "<<",p("ChangePassword"),"|",p("FullName"),"|",p("Roles"),">>",!\n')
    assert '<<1|A "B", C|%All>>' in out


# --------------------------------------------------------------------- session
def test_session_sentinel_from_exec_environment(iris):
    token = 'abc "quoted" $x `y`'
    rc, out = session(iris, 'write "IRISENV-OK:",$System.Util.GetEnviron("IRISENV_TOKEN"),!\nhalt\n',
                      env={"IRISENV_TOKEN": token})
    assert rc == 0
    assert f"IRISENV-OK:{token}" in out


def test_session_terminate_sets_exit_code(iris):
    rc, out = session(iris, 'write "before",!\ndo ##class(%SYSTEM.Process).Terminate(,3)\nwrite "after",!\n')
    assert rc == 3 and "before" in out and "after" not in out
    rc, _ = session(iris, "do ##class(%SYSTEM.Process).Terminate($JOB,4)\n")
    assert rc == 4


def test_session_syntax_error_does_not_change_exit_code(iris):
    rc, out = session(iris, 'this is not objectscript\nwrite "still-running",!\n')
    assert rc == 0
    assert "<SYNTAX>" in out and "still-running" in out


def test_session_try_catch_failed_status(iris):
    script = ('try { set sc=##class(Security.Users).Get("nobody-' + uid() + '",.p) '
              'if \'sc { throw ##class(%Exception.StatusException).CreateFromStatus(sc) } write "NOT-REACHED",! } '
              'catch ex { write "IRISENV-ERR:",ex.DisplayString(),! do ##class(%SYSTEM.Process).Terminate(,2) }\n'
              'write "IRISENV-OK",!\n')
    rc, out = session(iris, script)
    assert rc == 2
    assert "IRISENV-ERR:ERROR #838: User nobody-" in out
    assert "NOT-REACHED" not in out and "IRISENV-OK" not in out


def test_session_try_catch_unknown_class_and_success_path(iris):
    rc, out = session(iris, 'try { do ##class(No.Such).Thing() } catch ex { write "E:",ex.DisplayString(),! }\n')
    assert rc == 0 and "E:<CLASS DOES NOT EXIST> *No.Such" in out
    rc, out = session(iris, 'try { set sc=##class(Security.Users).Get("_SYSTEM",.p) if \'sc { throw '
                            '##class(%Exception.StatusException).CreateFromStatus(sc) } write "R=",p("Roles"),! } '
                            'catch ex { do ##class(%SYSTEM.Process).Terminate(,2) }\n')
    assert rc == 0 and "R=%All" in out


def test_session_probes_and_forms(iris):
    assert probe(iris, '##class(%SYS.Namespace).Exists("USER")') == "1"
    assert probe(iris, '##class(Config.Databases).Exists("IRISSYS")') == "1"
    assert probe(iris, '##class(Security.Users).Exists($System.Util.GetEnviron("U"))', env={"U": "SuperUser"}) == "1"
    assert probe(iris, "$SYSTEM.Monitor.State()") == "0"
    assert probe(iris, "$zv").startswith("IRIS for UNIX (Ubuntu Server LTS for ")
    assert probe(iris, "$NAMESPACE", ns="USER") == "USER"
    rc, out = session(iris, 'set sc=##class(Security.Users).Get("nobody",.p) write "<<",sc,">>",!\n')
    assert "<<0 ERROR #838: User nobody does not exist>>" in out
    # -U%SYS glued form, "terminal" synonym, case-insensitive instance name
    rc, out = run(iris, ["iris", "terminal", "iris", "-U%SYS"], stdin='w "T",$NAMESPACE,!\nh\n')
    assert rc == 0 and "T%SYS" in out
    # Security.* / Config.* classes exist only in %SYS
    rc, out = session(iris, 'write ##class(Security.Users).Exists("_SYSTEM"),!\n', ns="USER")
    assert rc == 0 and "<CLASS DOES NOT EXIST> *Security.Users" in out
    rc, out = session(iris, 'write "x",!\n', ns="NOSUCHNS")
    assert rc == 1


# --------------------------------------------------------------------- boot merge, durable %SYS
def test_cpf_merge_file_applied_at_boot(make):
    ns = uid("BOOT").upper()
    c = make(start=False, env={"ISC_CPF_MERGE_FILE": "/home/irisowner/irisenv/merge.cpf"})
    cpf = (f"[Actions]\nCreateDatabase:Name={ns},Directory=/usr/irissys/mgr/{ns.lower()}\n"
           f"CreateNamespace:Name={ns},Globals={ns}\nModifyUser:Name=_SYSTEM,ChangePassword=0\n")
    c.put_archive("/home/irisowner", tar_bytes({"irisenv/merge.cpf": cpf.encode()}, dirs=("irisenv",)))
    c.start()
    wait_ready(c)
    text = logs(c)
    assert text.index("IRIS Merge completed successfully") < text.index("Enabling logons")
    assert probe(c, f'##class(%SYS.Namespace).Exists("{ns}")') == "1"


def test_cpf_merge_file_missing_at_boot_logs_error_and_continues(make):
    c = wait_ready(make(env={"ISC_CPF_MERGE_FILE": "/home/irisowner/nope.cpf"}))
    assert "ISC_CPF_MERGE_FILE /home/irisowner/nope.cpf does not exist" in logs(c)


@pytest.fixture
def volume(client):
    vol = client.volumes.create(name=uid("irisenv-standin-test-"), labels=LABELS)
    yield vol
    for c in client.containers.list(all=True, filters={"volume": vol.name}):
        c.remove(force=True)
    vol.remove(force=True)


def test_data_directory_survives_container_replacement(make, client, volume):
    # the documented recipe: the volume must be writable by UID 51773
    # (docs/learnings/container.md, durable %SYS)
    client.containers.run(IMAGE, entrypoint=["chown", "51773:51773", "/durable"], user="0",
                          volumes={volume.name: {"bind": "/durable", "mode": "rw"}},
                          labels=LABELS, remove=True)
    env = {"ISC_DATA_DIRECTORY": "/durable/iris"}
    mount = {volume.name: {"bind": "/durable", "mode": "rw"}}
    ns = uid("DUR").upper()
    a = wait_ready(make(env=env, volumes=mount))
    assert qlist(a)[12] == "/durable/iris"
    rc, out = merge(a, f"[Actions]\nCreateDatabase:Name={ns},Directory=/durable/iris/mgr/{ns.lower()}\n"
                       f"CreateNamespace:Name={ns},Globals={ns}\n")
    assert rc == 0 and "into /durable/iris/iris.cpf" in out
    a.stop(timeout=10)
    a.remove()
    b = wait_ready(make(env=env, volumes=mount))
    assert "reusing existing data" in logs(b)
    assert probe(b, f'##class(%SYS.Namespace).Exists("{ns}")') == "1"
    b.stop(timeout=10)


def test_data_directory_errors(make, volume):
    mount = {volume.name: {"bind": "/durable", "mode": "rw"}}
    # fresh root-owned volume: irisowner cannot create the target
    c = make(env={"ISC_DATA_DIRECTORY": "/durable/iris"}, volumes=mount)
    wait_for(lambda: (c.reload(), c.status)[1] == "exited", what="exit")
    assert c.attrs["State"]["ExitCode"] != 0
    assert "ERROR #5001: Cannot create target" in logs(c)
    # non-empty directory without mgr/ refuses to start
    c2 = make(start=False, env={"ISC_DATA_DIRECTORY": "/durable"}, volumes=mount)
    c2.put_archive("/durable", tar_bytes({"something-else.txt": b"x"}))
    c2.start()
    wait_for(lambda: (c2.reload(), c2.status)[1] == "exited", what="exit")
    assert c2.attrs["State"]["ExitCode"] != 0
    assert "is not empty and contains no mgr/" in logs(c2)
    # not on a mounted volume at all
    c3 = make(env={"ISC_DATA_DIRECTORY": "/home/irisowner/durable"})
    wait_for(lambda: (c3.reload(), c3.status)[1] == "exited", what="exit")
    assert c3.attrs["State"]["ExitCode"] != 0
    assert "not on a mounted volume" in logs(c3)
