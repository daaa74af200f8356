"""Contract tests for session grammar v2 of the stand-in IRIS image (tests/standin/).

The statements below are verbatim copies of what irisenv generates to observe and
converge IRIS-level state (the lead's /tmp/grammar_v2_examples.txt, produced by
irisenv/iris/probe.py and converge.py). They run through irisenv's real runner,
`irisenv.iris.runner.run`, with the real Docker engine adapter. So the runner's own
checks (exit code 0 plus the sentinel) apply, and `.values` holds the IRISENV-VAL pairs.
tests/standin/README.md, "Session grammar v2", describes what the stand-in implements.

Containers are labelled io.irisenv.test=standin and always removed.
"""
from __future__ import annotations

import uuid

import docker
import pytest

from irisenv.engine.docker import DockerEngine  # noqa: E402
from irisenv.iris import runner  # noqa: E402
from irisenv.iris.runner import ScriptError  # noqa: E402

from test_standin import IMAGE, LABELS, merge, run as dexec, session, tar_bytes, wait_ready  # noqa: E402

# ----------------------------------------------------------- irisenv's statements (verbatim)
PROBE = [
    'write "IRISENV-VAL:version=",$ZVERSION,!',
    'set n="",i=0 for { set n=$Order(^IRISENV("ns",n)) quit:n=""  set i=i+1 write "IRISENV-VAL:rec.",i,"=",n,"^",$Get(^IRISENV("ns",n)),! }',
    'write "IRISENV-VAL:instance.syschange=",$Get(^IRISENV("instance","syschange")),!',
    'if $Data(^IRISENV("owned")) { write "IRISENV-VAL:old.owned=",$Get(^IRISENV("owned")),! }',
    'if $Data(^IRISENV("temp")) { write "IRISENV-VAL:old.temp=",$Get(^IRISENV("temp")),! }',
    'if $Data(^IRISENV("syschange")) { write "IRISENV-VAL:old.syschange=",$Get(^IRISENV("syschange")),! }',
    'set sc=##class(Security.Services).Get("%Service_CallIn",.p) if \'sc { throw ##class(%Exception.StatusException).CreateFromStatus(sc) } write "IRISENV-VAL:callin=",p("Enabled"),!',
    'set sc=##class(Security.Users).Get($System.Util.GetEnviron("IRISENV_USER"),.p) if sc { write "IRISENV-VAL:user.exists=",1,! write "IRISENV-VAL:user.change=",p("ChangePassword"),! write "IRISENV-VAL:user.enabled=",p("Enabled"),! } else { write "IRISENV-VAL:user.exists=",0,! }',
    'set sc=##class(Security.Users).Get($System.Util.GetEnviron("IRISENV_SYSUSER"),.p) if sc { write "IRISENV-VAL:system.change=",p("ChangePassword"),! }',
    'if ##class(Security.Users).Exists($System.Util.GetEnviron("IRISENV_USER"),.u) { write "IRISENV-VAL:user.password=",##class(Security.Users).CheckPassword(.u,$System.Util.GetEnviron("IRISENV_PASSWORD")),! }',
    'write "IRISENV-VAL:ns.0=",##class(%SYS.Namespace).Exists($System.Util.GetEnviron("IRISENV_NS_0")),!',
    'write "IRISENV-VAL:ns.1=",##class(%SYS.Namespace).Exists($System.Util.GetEnviron("IRISENV_NS_1")),!',
]
EXTRA_NS = 'write "IRISENV-VAL:xns.0=",##class(%SYS.Namespace).Exists($System.Util.GetEnviron("IRISENV_XNS_0")),!'
USER_STATEMENTS = [
    'if \'##class(Security.Users).Exists($System.Util.GetEnviron("IRISENV_USER")) { set sc=##class(Security.Users).Create($System.Util.GetEnviron("IRISENV_USER"),"%All",$System.Util.GetEnviron("IRISENV_PASSWORD")) if \'sc { throw ##class(%Exception.StatusException).CreateFromStatus(sc) } }',
    'if ##class(Security.Users).Exists($System.Util.GetEnviron("IRISENV_USER"),.o) { set o.PasswordExternal=$System.Util.GetEnviron("IRISENV_PASSWORD"),o.ChangePassword=0,o.PasswordNeverExpires=1,o.Enabled=1,sc=o.%Save() if \'sc { throw ##class(%Exception.StatusException).CreateFromStatus(sc) } }',
]
SET_RECORD = 'set ^IRISENV("ns",$System.Util.GetEnviron("IRISENV_REC_NAME_0"))=$System.Util.GetEnviron("IRISENV_REC_VALUE_0")'
KILL_RECORD = 'kill ^IRISENV("ns",$System.Util.GetEnviron("IRISENV_REC_KILL_0"))'
SET_INSTANCE = 'set ^IRISENV("instance","syschange")=$System.Util.GetEnviron("IRISENV_REC_INSTANCE_0")'
KILL_LEGACY = 'kill ^IRISENV("owned"),^IRISENV("temp"),^IRISENV("syschange")'
CONVERGE_MERGE = """[Actions]
CreateDatabase:Name=APP_DATA,Directory=/usr/irissys/mgr/irisenv/app-data/
CreateDatabase:Name=APP_CODE,Directory=/usr/irissys/mgr/irisenv/app-code/
CreateNamespace:Name=APP,Globals=APP_DATA,Routines=APP_CODE,Interop=0
DeleteNamespace:Name=OLD
DeleteDatabase:Name=OLD_DATA,Directory=/usr/irissys/mgr/irisenv/old-data/
DeleteDatabase:Name=OLD_CODE,Directory=/usr/irissys/mgr/irisenv/old-code/
ModifyService:Name=%Service_CallIn,Enabled=1
ModifyUser:Name=_SYSTEM,ChangePassword=0,PasswordNeverExpires=1
"""
# the same `if 'sc { throw ... }` tail irisenv puts after every status
THROW = "if 'sc { throw ##class(%Exception.StatusException).CreateFromStatus(sc) }"


def uid(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:8]


def probe_env(user: str = "_SYSTEM", password: str = "SYS", **extra) -> dict:
    env = {"IRISENV_USER": user, "IRISENV_SYSUSER": "_SYSTEM", "IRISENV_PASSWORD": password,
           "IRISENV_NS_0": "APP", "IRISENV_NS_1": "TEST"}
    env.update(extra)
    return env


# --------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def engine():
    eng = DockerEngine()
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def make(client):
    made = []

    def _make(env: dict | None = None, start: bool = True, **kw):
        environment = {"STANDIN_BOOT_SECONDS": "0"}
        environment.update(env or {})
        c = client.containers.create(IMAGE, name=uid("irisenv-standin-v2-"), labels=LABELS,
                                     environment=environment, detach=True, **kw)
        made.append(c)
        if start:
            c.start()
            wait_ready(c)
        return c

    yield _make
    for c in made:
        try:
            c.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass


@pytest.fixture(scope="module")
def iris(make):
    """Shared instance; tests on it never change _SYSTEM or ^IRISENV in %SYS."""
    return make()


def probe(engine, c, env: dict) -> dict:
    return runner.run(engine, c.id, PROBE + [EXTRA_NS], env=env).values


# --------------------------------------------------------------------- probe
@pytest.mark.parametrize("prompts", ["1", "0"])
def test_probe_fresh_instance(engine, make, prompts):
    c = make(env={"STANDIN_SESSION_PROMPTS": prompts})
    res = runner.run(engine, c.id, PROBE + [EXTRA_NS], env=probe_env(IRISENV_XNS_0="USER"))
    v = res.values
    assert v["version"].startswith("IRIS for UNIX (Ubuntu Server LTS for ")
    assert not any(k.startswith(("rec.", "old.")) for k in v) and v["instance.syschange"] == ""
    assert v["callin"] == "0"
    assert (v["user.exists"], v["user.change"], v["user.enabled"]) == ("1", "1", "1")
    assert v["system.change"] == "1"
    assert v["user.password"] == "1"  # predefined accounts start with "SYS" (docs/learnings/container.md)
    assert (v["ns.0"], v["ns.1"], v["xns.0"]) == ("0", "0", "1")
    assert ("%SYS>" in res.output) == (prompts == "1")  # the prompt prefix does not disturb parsing


def test_probe_absent_user_and_wrong_password(engine, iris):
    v = probe(engine, iris, probe_env(user=uid("nobody")))
    assert v["user.exists"] == "0" and "user.change" not in v and "user.password" not in v
    assert probe(engine, iris, probe_env(password="not-SYS"))["user.password"] == "0"


# --------------------------------------------------------------------- user statements
def test_create_user_then_probe(engine, iris):
    user, pw = uid("tester"), 'p@ss "w,o=r;d" $x'
    env = probe_env(user=user, password=pw)
    assert probe(engine, iris, env)["user.exists"] == "0"
    runner.run(engine, iris.id, USER_STATEMENTS, env=env)
    v = probe(engine, iris, env)
    assert (v["user.exists"], v["user.change"], v["user.enabled"], v["user.password"]) == ("1", "0", "1", "1")
    assert probe(engine, iris, dict(env, IRISENV_PASSWORD="wrong"))["user.password"] == "0"
    # Create gave the documented defaults; %Save then set PasswordNeverExpires=1
    out = runner.run(engine, iris.id, [
        f'set sc=##class(Security.Users).Get("{user}",.p) {THROW} '
        'write "IRISENV-VAL:props=",p("Roles"),"|",p("PasswordNeverExpires"),"|",$Data(p("PasswordHash")),!'
    ]).values
    assert out["props"] == "%All|1|0"  # the password is never exposed through Get


def test_user_statements_are_idempotent_and_change_the_password(engine, iris):
    user = uid("tester")
    runner.run(engine, iris.id, USER_STATEMENTS, env=probe_env(user=user, password="first"))
    runner.run(engine, iris.id, USER_STATEMENTS, env=probe_env(user=user, password="second"))
    assert probe(engine, iris, probe_env(user=user, password="second"))["user.password"] == "1"
    assert probe(engine, iris, probe_env(user=user, password="first"))["user.password"] == "0"


def test_create_existing_user_throws_through_the_runner(engine, iris):
    stmt = ('set sc=##class(Security.Users).Create($System.Util.GetEnviron("IRISENV_USER"),"%All",'
            f'$System.Util.GetEnviron("IRISENV_PASSWORD")) {THROW}')
    with pytest.raises(ScriptError) as err:
        runner.run(engine, iris.id, [stmt], env=probe_env(user="SuperUser", password="x"))
    assert "iris session exited 2" in err.value.why
    assert "ERROR #837: User SuperUser already exists" in err.value.why


def test_merge_created_user_has_no_usable_password(engine, iris):
    user = uid("hashed")
    rc, out = merge(iris, f'[Actions]\nCreateUser:Name={user},PasswordHash="h,s,10000,SHA512"\n')
    assert rc == 0, out
    v = probe(engine, iris, probe_env(user=user, password="h"))
    assert v["user.exists"] == "1" and v["user.password"] == "0"


def test_object_handle_details(engine, iris):
    user = uid("obj")
    v = runner.run(engine, iris.id, [
        f'write "IRISENV-VAL:absent=",##class(Security.Users).Exists("{user}",.o),"[",o,"]",!',
        f'set sc=##class(Security.Users).Create("{user}","%Manager","pw") {THROW}',
        f'if ##class(Security.Users).Exists("{user}",.o) {{ write "IRISENV-VAL:roles=",o.Roles,"|",o.Name,"|",o.ChangePassword,! }}',
        # the single-argument Exists of v1 still works
        f'write "IRISENV-VAL:one=",##class(Security.Users).Exists("{user}"),!',
    ]).values
    assert v["absent"] == "0[]"
    assert v["roles"] == f"%Manager|{user}|0"
    assert v["one"] == "1"
    with pytest.raises(ScriptError) as err:  # unknown property: loud, like IRIS
        runner.run(engine, iris.id, [
            f'if ##class(Security.Users).Exists("{user}",.o) {{ set o.NoSuchProperty=1 }}'])
    assert "<PROPERTY DOES NOT EXIST> *NoSuchProperty,Security.Users" in err.value.why


def test_sticky_knob_applies_to_save(engine, make):
    c = make(env={"STANDIN_STICKY_PASSWORD_CHANGE": "1"})
    env = probe_env(user="_SYSTEM", password="newpass")
    runner.run(engine, c.id, USER_STATEMENTS, env=env)
    v = probe(engine, c, env)
    assert v["system.change"] == "1" and v["user.change"] == "1"  # silently not applied
    assert v["user.password"] == "1"  # ... while PasswordExternal was applied
    assert probe(engine, c, probe_env(password="SYS"))["user.password"] == "0"


def test_save_clears_system_change_without_the_knob(engine, make):
    c = make()
    runner.run(engine, c.id, USER_STATEMENTS, env=probe_env(user="_SYSTEM", password="newpass"))
    v = probe(engine, c, probe_env(password="newpass"))
    assert v["system.change"] == "0" and v["user.password"] == "1"


# --------------------------------------------------------------------- globals
def test_record_nodes_set_read_back_and_killed(engine, make):
    c = make()
    for name, value in [("TEST", "declared^2^sync^"), ("APP", "declared^1^sync^"),
                        ("TGW0A", "test-run^3^run-1^")]:
        runner.run(engine, c.id, [SET_RECORD],
                   env={"IRISENV_REC_NAME_0": name, "IRISENV_REC_VALUE_0": value})
    v = probe(engine, c, probe_env())
    # the $Order loop prints every node, in subscript order, numbered from 1
    assert [v[k] for k in sorted(k for k in v if k.startswith("rec."))] == [
        "APP^declared^1^sync^", "TEST^declared^2^sync^", "TGW0A^test-run^3^run-1^"]
    runner.run(engine, c.id, [KILL_RECORD, SET_INSTANCE],
               env={"IRISENV_REC_KILL_0": "TEST", "IRISENV_REC_INSTANCE_0": "sticky"})
    v = probe(engine, c, probe_env())
    assert sorted(v[k] for k in v if k.startswith("rec.")) == [
        "APP^declared^1^sync^", "TGW0A^test-run^3^run-1^"]
    assert v["instance.syschange"] == "sticky"
    # it lives in IRISSYS, i.e. mgr/IRIS.DAT of the instance
    rc, _ = dexec(c, ["test", "-s", "/usr/irissys/mgr/IRIS.DAT"])
    assert rc == 0


def test_global_forms(engine, iris):
    g = "^" + uid("T")
    v = runner.run(engine, iris.id, [
        f'set {g}("a",1)="x",{g}("a",2)=$System.Util.GetEnviron("IRISENV_V"),{g}="top"',
        f'write "IRISENV-VAL:d=",$Data({g}),$Data({g}("a")),$Data({g}("a",1)),$Data({g}("b")),!',
        f'write "IRISENV-VAL:get=",$Get({g}("a",2)),"|",$Get({g}("b"),"dflt"),"|",$G({g}("b")),"|",{g}("a",1),!',
        f'set k="a" kill {g}(k,1) write "IRISENV-VAL:after=",$D({g}("a",1)),$D({g}("a")),!',
        f'kill {g} write "IRISENV-VAL:gone=",$Data({g}),!',
    ], env={"IRISENV_V": "tab\there %25 100%"}).values
    assert v["d"] == "11" + "10" + "1" + "0"
    assert v["get"] == "tab\there %25 100%|dflt||x"
    assert v["after"] == "0" + "10"
    assert v["gone"] == "0"
    with pytest.raises(ScriptError) as err:
        runner.run(engine, iris.id, [f'write {g}(2),!'])
    assert f"<UNDEFINED> *{g}(2)" in err.value.why


def test_globals_follow_the_namespace_database(engine, iris):
    g = "^" + uid("NS")
    runner.run(engine, iris.id, [f'set {g}("k")="in-user"'], namespace="USER")
    v = runner.run(engine, iris.id, [f'write "IRISENV-VAL:sys=",$Data({g}),!']).values
    assert v["sys"] == "0"  # %SYS maps to IRISSYS, USER to the USER database
    v = runner.run(engine, iris.id, [f'write "IRISENV-VAL:user=",$Get({g}("k")),!'], namespace="USER").values
    assert v["user"] == "in-user"


def test_globals_and_users_survive_container_replacement(engine, make, client):
    vol = client.volumes.create(name=uid("irisenv-standin-v2-"), labels=LABELS)
    try:
        mount = {vol.name: {"bind": "/durable", "mode": "rw"}}
        client.containers.run(IMAGE, entrypoint=["chown", "51773:51773", "/durable"], user="0",
                              volumes=mount, labels=LABELS, remove=True)
        env = {"ISC_DATA_DIRECTORY": "/durable/iris"}
        a = make(env=env, volumes=mount)
        runner.run(engine, a.id, USER_STATEMENTS + [SET_RECORD],
                   env=probe_env(user="tester", password="pw1", IRISENV_REC_NAME_0="APP",
                                 IRISENV_REC_VALUE_0="declared^1^sync^"))
        a.stop(timeout=10)
        a.remove()
        b = make(env=env, volumes=mount)
        v = probe(engine, b, probe_env(user="tester", password="pw1"))
        assert (v["rec.1"], v["user.exists"], v["user.password"]) == (
            "APP^declared^1^sync^", "1", "1")
        rc, _ = dexec(b, ["test", "-s", "/durable/iris/mgr/IRIS.DAT"])
        assert rc == 0
        b.remove(force=True)
    finally:
        for c in client.containers.list(all=True, filters={"volume": vol.name}):
            c.remove(force=True)
        vol.remove(force=True)


# --------------------------------------------------------------------- converge merge
def test_converge_merge_file(engine, make):
    c = make()
    # OLD exists first, so the file's deletes have something to delete
    rc, out = merge(c, "[Actions]\n"
                       "CreateDatabase:Name=OLD_DATA,Directory=/usr/irissys/mgr/irisenv/old-data/\n"
                       "CreateDatabase:Name=OLD_CODE,Directory=/usr/irissys/mgr/irisenv/old-code/\n"
                       "CreateNamespace:Name=OLD,Globals=OLD_DATA,Routines=OLD_CODE,Interop=0\n")
    assert rc == 0, out
    runner.run(engine, c.id, ['set ^OLDG(1)="kept"'], namespace="OLD")
    c.put_archive("/home/irisowner", tar_bytes({"irisenv/converge.cpf": CONVERGE_MERGE.encode()},
                                               dirs=("irisenv",)))
    rc, out = dexec(c, ["iris", "merge", "IRIS", "/home/irisowner/irisenv/converge.cpf"])
    assert rc == 0 and "IRIS Merge completed successfully" in out, out
    v = probe(engine, c, probe_env(IRISENV_XNS_0="OLD"))
    assert (v["ns.0"], v["xns.0"], v["callin"], v["system.change"]) == ("1", "0", "1", "0")
    v = runner.run(engine, c.id, [
        f'set sc=##class(Config.Namespaces).Get("APP",.p) {THROW} '
        'write "IRISENV-VAL:ns=",p("Globals"),"|",p("Routines"),"|",p("Interop"),!',
        f'set sc=##class(Config.Databases).Get("APP_DATA",.p) {THROW} write "IRISENV-VAL:dir=",p("Directory"),!',
        'write "IRISENV-VAL:olddb=",##class(Config.Databases).Exists("OLD_DATA"),##class(Config.Databases).Exists("OLD_CODE"),!',
    ]).values
    assert v["ns"] == "APP_DATA|APP_CODE|0"
    assert v["dir"] == "/usr/irissys/mgr/irisenv/app-data/"
    assert v["olddb"] == "00"
    # the namespace's globals go to the new database's directory
    runner.run(engine, c.id, ['set ^APPG("x")=1'], namespace="APP")
    rc, _ = dexec(c, ["test", "-s", "/usr/irissys/mgr/irisenv/app-data/IRIS.DAT"])
    assert rc == 0
    # DeleteDatabase removed the configuration only; the files stay (irisenv rm -rf's them)
    rc, _ = dexec(c, ["test", "-s", "/usr/irissys/mgr/irisenv/old-data/IRIS.DAT"])
    assert rc == 0
    # a second run of the same file is all skips and still succeeds
    rc, out = dexec(c, ["iris", "merge", "IRIS", "/home/irisowner/irisenv/converge.cpf"])
    assert rc == 0, out


# --------------------------------------------------------------------- v1 still rejects
def test_session_is_still_strict(iris):
    rc, out = session(iris, 'write "a" ; comment\nwrite "IRISENV-OK",!\n')
    assert rc == 0 and "<SYNTAX>" in out and "IRISENV-OK" in out
    rc, out = session(iris, 'write ##class(Security.Users).Exists("_SYSTEM",.o),!\n', ns="USER")
    assert "<CLASS DOES NOT EXIST> *Security.Users" in out


# --------------------------------------------------------------------- irisenv's current generator
def test_irisenv_current_user_statements_run(engine, iris):
    """Whatever irisenv/iris/probe.py and converge.py generates today must run (guards drift from the copies above)."""
    from irisenv.iris.converge import user_statements as gen

    user = uid("gen")
    runner.run(engine, iris.id, gen(), env=probe_env(user=user, password="genpw"))
    v = probe(engine, iris, probe_env(user=user, password="genpw"))
    assert (v["user.exists"], v["user.change"], v["user.password"]) == ("1", "0", "1")


# --------------------------------------------------------------------- $Order, for, quit
def test_order_walks_one_subscript_level_in_collation_order(engine, iris):
    g = "^" + uid("O")
    v = runner.run(engine, iris.id, [
        f'set {g}("s","b")=1,{g}("s","a","deep")=2,{g}("s",10)=3,{g}("s",9)=4,{g}("s","B")=5,{g}("t")=6',
        # canonical numbers first (numerically), then strings (byte order); a node with
        # only descendants ("a") counts; the loop prints each subscript
        f'set n="" for {{ set n=$Order({g}("s",n)) quit:n=""  write "IRISENV-VAL:s.",n,"=",$Data({g}("s",n)),! }}',
        f'write "IRISENV-VAL:first=",$Order({g}("")),"|",$O({g}("s","a")),"|",$Order({g}("s","b")),"|",$Order({g}("none","")),!',
    ]).values
    assert [k for k in v if k.startswith("s.")] == ["s.9", "s.10", "s.B", "s.a", "s.b"]
    assert (v["s.a"], v["s.b"]) == ("10", "1")
    assert v["first"] == "s|b||"
    with pytest.raises(ScriptError) as err:  # the subscript is required (RCOS_forder)
        runner.run(engine, iris.id, [f'write $Order({g}),!'])
    assert "<SYNTAX>" in err.value.why


def test_quit_ends_only_the_innermost_for(engine, iris):
    v = runner.run(engine, iris.id, [
        'set i=0,o="" for { set i=i+1 set j=0 for { set j=j+1 quit:j=2  set o=o_i_j } quit:i=3  set o=o_"," } write "IRISENV-VAL:o=",o,!',
        'set k=0 for { set k=k+1 if k=4 { quit } } write "IRISENV-VAL:k=",k,!',
    ]).values
    assert v["o"] == "11,21,31"
    assert v["k"] == "4"  # a quit inside an if block still ends the for


def test_quit_before_another_command_needs_two_blanks(iris):
    rc, out = session(iris, 'set x=0 for { set x=x+1 quit:x=2 write "more" }\nwrite "IRISENV-OK",!\n')
    assert rc == 0 and "<SYNTAX>" in out and "more" not in out and "IRISENV-OK" in out


def test_an_error_inside_a_for_reaches_the_catch(engine, iris):
    with pytest.raises(ScriptError) as err:
        runner.run(engine, iris.id, ['set n=0 for { set n=n+1 quit:n=3  write nosuchvar }'])
    assert "<UNDEFINED> *nosuchvar" in err.value.why
    with pytest.raises(ScriptError) as err:  # quit outside a for: not modelled, and loud
        runner.run(engine, iris.id, ['quit'])
    assert "QUIT outside a FOR loop" in err.value.why


# --------------------------------------------------------------------- the record's migration
def test_the_older_record_is_read_and_replaced(engine, make):
    """What irisenv before the per-namespace record left in %SYS: three strings. The probe
    reads them; the converge writes the new nodes, then kills the old ones."""
    c = make()
    runner.run(engine, c.id, [
        'set ^IRISENV("owned")="APP,OLD",^IRISENV("temp")="TGW0A@1700000000",^IRISENV("syschange")="sticky"'])
    v = probe(engine, c, probe_env())
    assert (v["old.owned"], v["old.temp"], v["old.syschange"]) == (
        "APP,OLD", "TGW0A@1700000000", "sticky")
    assert not any(k.startswith("rec.") for k in v)
    runner.run(engine, c.id, [SET_RECORD, SET_INSTANCE, KILL_LEGACY],
               env={"IRISENV_REC_NAME_0": "APP", "IRISENV_REC_VALUE_0": "declared^0^sync^",
                    "IRISENV_REC_INSTANCE_0": "sticky"})
    v = probe(engine, c, probe_env())
    assert not any(k.startswith("old.") for k in v)
    assert (v["rec.1"], v["instance.syschange"]) == ("APP^declared^0^sync^", "sticky")


def test_irisenv_current_record_statements_run(engine, make):
    """Whatever irisenv generates today for the record must run and read back."""
    from irisenv.core.iris_record import DECLARED, TEST_RUN, NamespaceRecord, RecordChanges
    from irisenv.iris.converge import record_statements as write
    from irisenv.iris.probe import read_record, record_statements as read

    c = make()
    stmts, env = write(RecordChanges(
        writes=(("APP", NamespaceRecord(DECLARED, 5, "sync")),
                ("TGW0A", NamespaceRecord(TEST_RUN, 6, "run-1"))),
        instance=(("syschange", "sticky"),)))
    runner.run(engine, c.id, stmts, env=env)
    records, sticky, legacy = read_record(runner.run(engine, c.id, read()).values)
    assert records == {"APP": NamespaceRecord(DECLARED, 5, "sync"),
                       "TGW0A": NamespaceRecord(TEST_RUN, 6, "run-1")}
    assert sticky is True and legacy is None
    stmts, env = write(RecordChanges(kills=("TGW0A",)))
    runner.run(engine, c.id, stmts, env=env)
    assert set(read_record(runner.run(engine, c.id, read()).values)[0]) == {"APP"}
