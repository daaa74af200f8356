"""Text irisenv exchanges with IRIS: `iris qlist` parsing, the ObjectScript runner's script
and its verdict, and CPF merge files. A fake engine stands in for `docker exec`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from irisenv.config.model import Instance
from irisenv.iris import mergefile, runner
from irisenv.iris.qlist import parse_qlist

# ---------------------------------------------------------------- qlist
RUNNING = ("IRIS^/usr/irissys^2025.1.0.223.0com^running, since Mon Mar 24 12:00:00 2025^"
           "iris.cpf^1972^52773^62773^ok^IRIS^^^/usr/irissys/mgr\n")


def line(status="running, since Mon Mar 24 12:00:00 2025", state="ok", name="IRIS"):
    return f"{name}^/usr/irissys^2025.1.0.223.0com^{status}^iris.cpf^1972^52773^62773^{state}^IRIS"


def test_qlist_running_ok():
    q = parse_qlist(RUNNING)
    assert q is not None
    assert (q.name, q.version, q.status, q.monitor) == ("IRIS", "2025.1.0.223.0com", "running",
                                                        "ok")
    assert q.running


def test_qlist_down():
    q = parse_qlist(line("down, last used Mon Mar 24 12:00:00 2025", state=""))
    assert q.status == "down" and not q.running and q.monitor == ""


@pytest.mark.parametrize("state", ["alert", "hung", "warn"])
def test_qlist_monitor_states(state):
    q = parse_qlist(line(state=state.upper() if state == "alert" else state))
    assert q.running and q.monitor == state


def test_qlist_picks_the_named_instance_case_insensitively():
    text = line(name="OTHER", status="down, x") + "\n" + line(name="iris") + "\n"
    q = parse_qlist(text, "IRIS")
    assert q.name == "iris" and q.running


def test_qlist_wrong_instance_name():
    assert parse_qlist(line(name="OTHER")) is None


@pytest.mark.parametrize("garbage", [
    "", "\n\n", "iris: command not found", "IRIS^only^four^fields",
    "OCI runtime exec failed: exec failed", "^^^^^^^^^",
])
def test_qlist_garbage_is_none(garbage):
    assert parse_qlist(garbage) is None


def test_qlist_tolerates_surrounding_noise_and_crlf():
    q = parse_qlist("Welcome\r\n" + line().replace("^ok^", "^ ok ^") + "\r\n")
    assert q.running and q.monitor == "ok"


# ---------------------------------------------------------------- runner.render
def test_render_one_try_catch_line_per_statement_then_sentinel_and_halt():
    script = runner.render(['set x=1', 'write "IRISENV-VAL:x=",x,!'], "abc123")
    lines = script.split("\n")
    assert script.endswith("\n") and lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == 4
    for stmt, ln in zip(['set x=1', 'write "IRISENV-VAL:x=",x,!'], lines):
        assert ln.startswith("try { " + stmt + " } catch ex {")
        assert 'write "IRISENV-ERR:",ex.DisplayString(),!' in ln
        assert "##class(%SYSTEM.Process).Terminate(,2)" in ln
        assert ln.endswith("}")
        assert ln.count("{") == ln.count("}")
    assert lines[2] == 'write "IRISENV-OK-abc123",!'
    assert lines[3] == "halt"


def test_render_empty_statement_list_still_proves_the_session_ran():
    assert runner.render([], "t") == 'write "IRISENV-OK-t",!\nhalt\n'


@pytest.mark.parametrize("stmt", ["set x=1\nset y=2", "set x=1\r", "write 1\r\nhalt"])
def test_render_rejects_multi_line_statements(stmt):
    with pytest.raises(ValueError):
        runner.render([stmt], "t")


def test_env_ref():
    assert runner.env_ref("IRISENV_PASSWORD") == '$System.Util.GetEnviron("IRISENV_PASSWORD")'
    assert runner.env_ref("IRISENV_NS_2") == '$System.Util.GetEnviron("IRISENV_NS_2")'


@pytest.mark.parametrize("name", [
    "PASSWORD", "irisenv_x", "IRISENV_", "IRISENV_a", "IRISENV_X\n", "IRISENV_X\")",
    'IRISENV_X"),$ZF(-1,"rm', "IRISENV-X", "IRISENV_X Y", "",
])
def test_env_ref_rejects_bad_names(name):
    with pytest.raises(ValueError):
        runner.env_ref(name)


# ---------------------------------------------------------------- runner.run with a fake engine
@dataclass
class Res:
    exit_code: int
    stdout: str
    stderr: str = ""


@dataclass
class FakeSession:
    """Stands in for engine.exec of `iris session`. ``reply(script)`` -> Res."""

    reply: object
    calls: list = field(default_factory=list)

    def exec(self, container_id, cmd, *, stdin=None, env=None, timeout=60):
        script = stdin.decode()
        self.calls.append(dict(container_id=container_id, cmd=cmd, script=script, env=env,
                               timeout=timeout))
        return self.reply(script)


def sentinel(script: str) -> str:
    return re.search(r'write "(IRISENV-OK-[0-9a-f]+)",!', script).group(1)


def ok_reply(body=""):
    return lambda script: Res(0, f"\nNode: x, Instance: IRIS\n\n%SYS>{body}\n%SYS>"
                                 f"{sentinel(script)}\n%SYS>\n")


def test_run_success_needs_exit_0_and_the_sentinel():
    eng = FakeSession(ok_reply())
    res = runner.run(eng, "c" * 64, ["set x=1"], namespace="USER", timeout=7)
    assert res.exit_code == 0 and res.values == {}
    [call] = eng.calls
    assert call["cmd"] == ["iris", "session", "IRIS", "-U", "USER"]
    assert call["timeout"] == 7 and call["container_id"] == "c" * 64


def test_run_default_namespace_is_sys():
    eng = FakeSession(ok_reply())
    runner.run(eng, "c" * 64, [])
    assert eng.calls[0]["cmd"][-2:] == ["-U", "%SYS"]


def test_each_run_has_a_fresh_sentinel():
    eng = FakeSession(ok_reply())
    runner.run(eng, "c", ["set x=1"])
    runner.run(eng, "c", ["set x=1"])
    a, b = (sentinel(c["script"]) for c in eng.calls)
    assert a != b


def test_run_exit_0_without_sentinel_fails():
    # e.g. the session died or read nothing: exit 0 alone proves nothing
    eng = FakeSession(lambda s: Res(0, "\n%SYS>\n<SYNTAX>\n%SYS>\n"))
    with pytest.raises(runner.ScriptError) as info:
        runner.run(eng, "c" * 64, ["set x=1"], what="the probe")
    err = info.value
    assert "the probe failed" in err.what
    assert "without the success sentinel" in err.why and "<SYNTAX>" in err.why


def test_run_a_stale_sentinel_from_another_run_does_not_count():
    eng = FakeSession(lambda s: Res(0, "IRISENV-OK-0000000000000000\n"))
    with pytest.raises(runner.ScriptError):
        runner.run(eng, "c", ["set x=1"])


def test_run_syntax_error_on_a_statement_line_fails_even_with_sentinel_and_exit_0():
    """Real IRIS compiles a whole line before running it: a <SYNTAX> line never enters its
    try/catch, the session goes on, prints the sentinel and exits 0
    (docs/learnings/objectscript.md)."""
    eng = FakeSession(lambda s: Res(0, f"\n%SYS>\n<SYNTAX>\n%SYS>{sentinel(s)}\n%SYS>\n"))
    with pytest.raises(runner.ScriptError) as info:
        runner.run(eng, "c" * 64, ["set x=", "set y=1"])
    assert "<SYNTAX>" in info.value.why


def test_run_uncaught_error_after_prompt_fails():
    eng = FakeSession(lambda s: Res(0, f"%SYS><UNDEFINED> *x\n%SYS>{sentinel(s)}\n"))
    with pytest.raises(runner.ScriptError) as info:
        runner.run(eng, "c", ["write x"])
    assert "<UNDEFINED> *x" in info.value.why


def test_run_value_that_looks_like_an_error_is_still_a_value():
    eng = FakeSession(ok_reply("IRISENV-VAL:status=<SYNTAX> in user data"))
    res = runner.run(eng, "c", ["write 1"])
    assert res.values == {"status": "<SYNTAX> in user data"}


def test_run_nonzero_exit_reports_irisenv_err_lines():
    out = ("%SYS>IRISENV-ERR:<PROTECT> Create+5^Security.Users\n")
    eng = FakeSession(lambda s: Res(2, out))
    with pytest.raises(runner.ScriptError) as info:
        runner.run(eng, "c" * 64, ["do ##class(Security.Users).Create(1)"])
    assert "exited 2" in info.value.why
    assert "<PROTECT> Create+5^Security.Users" in info.value.why


def test_run_nonzero_exit_with_sentinel_fails():
    eng = FakeSession(lambda s: Res(1, sentinel(s) + "\n"))
    with pytest.raises(runner.ScriptError):
        runner.run(eng, "c", [])


def test_run_parses_values():
    body = "IRISENV-VAL:version=2025.1\n%SYS>IRISENV-VAL:ns=USER,APP\n%SYS>IRISENV-VAL:eq=a=b\n"
    eng = FakeSession(ok_reply(body))
    res = runner.run(eng, "c", ["write 1"])
    assert res.values == {"version": "2025.1", "ns": "USER,APP", "eq": "a=b"}
    assert "IRISENV-VAL:version=2025.1" in res.output


def test_run_reads_stderr_too():
    eng = FakeSession(lambda s: Res(0, "", sentinel(s) + "\n"))
    runner.run(eng, "c", [])


def test_values_travel_in_env_never_in_script():
    password = "Pa$$w0rd\"-'; halt"
    eng = FakeSession(ok_reply())
    stmt = f'set sc=##class(Security.Users).Modify("x",.p) set p("Password")={runner.env_ref("IRISENV_PASSWORD")}'
    runner.run(eng, "c", [stmt], env={"IRISENV_PASSWORD": password, "IRISENV_USER": "tester"})
    [call] = eng.calls
    assert call["env"] == {"IRISENV_PASSWORD": password, "IRISENV_USER": "tester"}
    assert password not in call["script"]
    assert "tester" not in call["script"]
    assert 'GetEnviron("IRISENV_PASSWORD")' in call["script"]


def test_run_rejects_bad_env_names_before_executing():
    eng = FakeSession(ok_reply())
    with pytest.raises(ValueError):
        runner.run(eng, "c", ["set x=1"], env={"PASSWORD": "x"})
    assert eng.calls == []


def test_run_error_does_not_echo_env_values():
    eng = FakeSession(lambda s: Res(2, "IRISENV-ERR:<UNDEFINED>\n"))
    with pytest.raises(runner.ScriptError) as info:
        runner.run(eng, "c", ["set x=1"], env={"IRISENV_PASSWORD": "TopSecret99"})
    assert "TopSecret99" not in info.value.render()


# ---------------------------------------------------------------- merge files
MB = 1024 * 1024


def test_first_boot_pins_caches_in_megabytes():
    inst = Instance(name="iris", image="x", globals=512 * MB, routines=96 * MB)
    text = mergefile.first_boot(inst)
    assert text == "[config]\nglobals=0,0,512,0,0,0\nroutines=96\n"


def test_first_boot_globals_go_to_the_8k_slot():
    """globals=a,b,c,d,e,f: a and b are unused (always 0), c is the 8 KB database cache
    (CPF reference, RACS_globals). A value in slot a pins nothing."""
    inst = Instance(name="iris", image="x")
    line = next(ln for ln in mergefile.first_boot(inst).splitlines()
                if ln.startswith("globals="))
    a, b, c, *rest = line.split("=", 1)[1].split(",")
    assert (a, b, c, rest) == ("0", "0", "256", ["0", "0", "0"])


def test_first_boot_defaults():
    # routines 64m: the six-value form, or IRIS would raise a single 64 to 80 MB
    assert mergefile.first_boot(Instance(name="iris", image="x")) == (
        "[config]\nglobals=0,0,256,0,0,0\nroutines=0,0,0,0,0,64\n")


def test_first_boot_user_config_wins_and_other_sections_follow():
    user = "[config]\nroutines=200\ngmheap=16384\n[Startup]\nSystemMode=TEST\n"
    text = mergefile.first_boot(Instance(name="iris", image="x"), user)
    assert text == ("[config]\nglobals=0,0,256,0,0,0\nroutines=200\ngmheap=16384\n\n"
                    "[Startup]\nSystemMode=TEST\n")


def test_combine_keeps_our_actions_first_then_appends_theirs():
    ours = "[Actions]\nCreateDatabase:Name=APPDATA,Directory=/d/app\nCreateNamespace:Name=APP\n"
    theirs = "[Actions]\nCreateUser:Name=bob\nCreateNamespace:Name=APP\n"
    text = mergefile.combine(ours, theirs)
    assert text.splitlines() == [
        "[Actions]",
        "CreateDatabase:Name=APPDATA,Directory=/d/app",
        "CreateNamespace:Name=APP",
        "CreateUser:Name=bob",
        "CreateNamespace:Name=APP",  # concatenated, never deduplicated: order is meaning
    ]


def test_combine_user_key_value_wins_case_insensitively_in_place():
    ours = "[config]\nglobals=0,0,256,0,0,0\nroutines=64\n"
    theirs = "[CONFIG]\nRoutines=128\njrnbufs=16\n"
    assert mergefile.combine(ours, theirs).splitlines() == [
        "[config]", "globals=0,0,256,0,0,0", "Routines=128", "jrnbufs=16"]


def test_combine_lower_case_actions_header_is_normalized():
    text = mergefile.combine("[config]\nroutines=64\n", "[actions]\nCreateUser:Name=bob\n")
    assert "[Actions]" in text.splitlines()
    assert "[actions]" not in text
    text2 = mergefile.combine("[Actions]\nA:Name=1\n", "[ ACTIONS ]\nB:Name=2\n")
    assert text2.splitlines() == ["[Actions]", "A:Name=1", "B:Name=2"]


def test_combine_drops_comments_and_blank_lines():
    theirs = "; a comment\n\n# another\n[Startup]\n  SystemMode=TEST  \n; trailing\n"
    assert mergefile.combine("", theirs) == "[Startup]\nSystemMode=TEST\n"


@pytest.mark.parametrize("theirs", ["SystemMode=TEST\n[Startup]\n", "CreateUser:Name=x\n"])
def test_line_before_any_section_raises(theirs):
    with pytest.raises(ValueError, match="before any"):
        mergefile.combine("[config]\nroutines=64\n", theirs)


def test_first_boot_with_bad_user_file_raises():
    with pytest.raises(ValueError):
        mergefile.first_boot(Instance(name="iris", image="x"), "routines=5\n")


def test_parse_merges_repeated_sections():
    assert mergefile.parse("[config]\na=1\n[Startup]\nb=2\n[Config]\nc=3\n") == [
        ("config", ["a=1", "c=3"]), ("Startup", ["b=2"])]
