"""irisenv's record inside IRIS (^IRISENV): its format, the migration from the older
strings, the per-node changes a converge writes, and how the IRIS side renders them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from irisenv.core import iris_plan
from irisenv.core.iris_plan import (CreateNamespace, DropNamespace, EnsureUser, IrisDesired,
                                    IrisObserved, MigrateRecord, diff, migration, record_changes)
from irisenv.core.iris_record import (DECLARED, TEST_RUN, Legacy, NamespaceRecord, RecordChanges,
                                      decode, from_legacy, parse_line, read)
from irisenv.iris import converge, probe
from irisenv.iris.runner import VAL_TAG

NOW = 1_800_000_000.0


def want(namespaces=("APP",), user="_SYSTEM"):
    return IrisDesired("iris", user, tuple(namespaces), True)


def seen(**kw):
    base = dict(namespaces={"APP": True}, callin=True, user_exists=True,
                user_change_required=False, user_enabled=True, password_ok=True,
                system_change_required=False, observed_at=NOW,
                records={"APP": NamespaceRecord(DECLARED, 1_700_000_000, "sync")})
    base.update(kw)
    return IrisObserved(**base)


# ------------------------------------------------------------------ the node format
def test_a_record_round_trips_through_its_node_value():
    rec = NamespaceRecord(TEST_RUN, 1_700_000_000, "run-1.a_b", "")
    assert rec.encode() == "test-run^1700000000^run-1.a_b^"
    assert decode(rec.encode()) == rec
    assert parse_line("TGW0ABC^" + rec.encode()) == ("TGW0ABC", rec)


@pytest.mark.parametrize("text,expected", [
    ("declared", NamespaceRecord(DECLARED)),  # fields a writer left out
    ("declared^12^sync^abc^later^fields", NamespaceRecord(DECLARED, 12, "sync", "abc")),
    ("test-run^soon^x^", NamespaceRecord(TEST_RUN, 0, "x")),  # a created that is no number
    ("", None), ("^12^sync^", None),  # no kind
])
def test_decoding_tolerates_what_another_version_may_write(text, expected):
    assert decode(text) == expected


@pytest.mark.parametrize("line", ["app^declared^1^sync^", "%SYS^declared^1^sync^",
                                  "1APP^declared^1^sync^", "^declared^1^sync^", "APP",
                                  "A B^declared^1^sync^", "APP^^1^sync^"])
def test_a_node_that_irisenv_could_not_have_written_is_ignored(line):
    assert parse_line(line) is None


@pytest.mark.parametrize("rec", [NamespaceRecord(DECLARED, 1, "a^b"), NamespaceRecord(""),
                                 NamespaceRecord(DECLARED, 1, "a\nb"),
                                 NamespaceRecord("de^clared")])
def test_a_field_that_would_break_the_node_is_refused(rec):
    with pytest.raises(ValueError):
        rec.encode()


def test_a_run_id_is_stored_in_a_storable_form():
    o = seen(records={})
    ch = record_changes(o, (CreateNamespace("T1", record_kind=TEST_RUN),), run='ab^c"d e\n')
    assert ch.writes == (("T1", NamespaceRecord(TEST_RUN, int(NOW), "ab_c_d_e_")),)
    assert dict(ch.writes)["T1"].encode()  # storable


# ------------------------------------------------------------------ the older format
def test_the_older_strings_convert_to_records():
    recs = from_legacy("APP,TEST,bad name,", "TGW0ABC@1700000000,junk,X@,@5,TEST@9")
    assert recs == {
        "APP": NamespaceRecord(DECLARED, 0, "sync"),
        "TEST": NamespaceRecord(DECLARED, 0, "sync"),  # owned wins, as the old diff had it
        "TGW0ABC": NamespaceRecord(TEST_RUN, 1_700_000_000, ""),
    }


def test_reading_merges_the_older_format_under_the_current_one():
    lines = ["APP^declared^1750000000^sync^", "TGW1^test-run^1750000001^run9^"]
    records, sticky, legacy = read(lines, {"syschange": ""},
                                   {"owned": "APP,OLD", "temp": "TGW0@1700000000",
                                    "syschange": "sticky"})
    assert records == {"APP": NamespaceRecord(DECLARED, 1_750_000_000, "sync"),
                       "OLD": NamespaceRecord(DECLARED, 0, "sync"),
                       "TGW0": NamespaceRecord(TEST_RUN, 1_700_000_000, ""),
                       "TGW1": NamespaceRecord(TEST_RUN, 1_750_000_001, "run9")}
    assert sticky is True
    # what the migration writes: only names without a node of their own yet
    assert legacy == Legacy(nodes=("owned", "temp", "syschange"),
                            records=(("OLD", NamespaceRecord(DECLARED, 0, "sync")),
                                     ("TGW0", NamespaceRecord(TEST_RUN, 1_700_000_000, ""))),
                            sticky=True)


def test_a_current_record_alone_needs_no_migration():
    records, sticky, legacy = read(["APP^declared^1^sync^"], {"syschange": "sticky"}, {})
    assert (records, sticky, legacy) == ({"APP": NamespaceRecord(DECLARED, 1, "sync")}, True, None)
    # an old ("syschange") beside a current instance entry: only the old node goes
    _, sticky, legacy = read([], {"syschange": "sticky"}, {"syschange": "sticky"})
    assert sticky is True and legacy == Legacy(nodes=("syschange",), records=(), sticky=False)


def test_a_legacy_record_is_migrated_by_the_next_converge_and_keeps_its_meaning():
    """Owned OLD (no longer declared) is dropped as before, hand-made HAND never; the nodes
    written are the converted ones, except the one this converge drops."""
    _, _, legacy = read([], {}, {"owned": "APP,OLD", "temp": "TGW0@1799999000"})
    records = {"APP": NamespaceRecord(DECLARED, 0, "sync"), "OLD": NamespaceRecord(DECLARED, 0, "sync"),
               "TGW0": NamespaceRecord(TEST_RUN, 1_799_999_000, "")}
    o = seen(records=records, legacy=legacy,
             namespaces={"APP": True, "OLD": True, "HAND": True, "TGW0": True})
    acts = diff(want(), o)
    assert acts == (DropNamespace("OLD"), MigrateRecord(legacy))
    assert record_changes(o, acts) == RecordChanges(
        writes=(("APP", NamespaceRecord(DECLARED, 0, "sync")),
                ("TGW0", NamespaceRecord(TEST_RUN, 1_799_999_000, ""))),
        kills=("OLD",), legacy=("owned", "temp"))
    # the order of the actions does not matter: the drop wins over the old record
    assert record_changes(o, tuple(reversed(acts))) == record_changes(o, acts)


def test_every_converge_carries_the_migration():
    legacy = Legacy(nodes=("syschange",), sticky=True)
    o = seen(legacy=legacy, system_change_sticky=True)
    assert migration(o) == (MigrateRecord(legacy),)
    assert migration(seen()) == ()
    acts = (EnsureUser("_SYSTEM", ("password change required",)),) + migration(o)
    assert record_changes(o, acts) == RecordChanges(instance=(("syschange", "sticky"),),
                                                    legacy=("syschange",))


# ------------------------------------------------------------------ per-node changes
def test_a_test_run_namespace_and_a_sync_touch_only_their_own_nodes():
    o = seen()
    mine = record_changes(o, (CreateNamespace("TGW0X", record_kind=TEST_RUN),), run="r1")
    assert mine == RecordChanges(writes=(("TGW0X", NamespaceRecord(TEST_RUN, int(NOW), "r1")),))
    theirs = record_changes(o, (CreateNamespace("NEW"),))
    assert theirs == RecordChanges(writes=(("NEW", NamespaceRecord(DECLARED, int(NOW), "sync")),))
    assert not record_changes(o, ())


def test_a_fresh_container_claims_only_what_is_not_recorded_yet():
    o = seen(namespaces={"APP": True, "TEST": True})
    ch = record_changes(o, (), claim=("APP", "TEST"))
    assert ch == RecordChanges(writes=(("TEST", NamespaceRecord(DECLARED, int(NOW), "sync")),))


def test_changes_compose_later_wins():
    a = RecordChanges(writes=(("X", NamespaceRecord(DECLARED)),), kills=("Y",))
    b = RecordChanges(writes=(("Y", NamespaceRecord(TEST_RUN)),), kills=("X",))
    assert a.then(b) == RecordChanges(writes=(("Y", NamespaceRecord(TEST_RUN)),), kills=("X",))


# ------------------------------------------------------------------ the IRIS side
def test_every_action_kind_has_one_entry_in_the_iris_table():
    kinds = [cls.kind for cls in iris_plan.ACTIONS]
    assert len(set(kinds)) == len(kinds) and all(kinds)
    assert set(converge.HOW) == set(kinds)


def test_record_nodes_are_written_with_names_and_values_in_the_environment_only():
    ch = RecordChanges(writes=(("APP", NamespaceRecord(DECLARED, 5, "sync")),),
                       kills=("OLD",), instance=(("syschange", "sticky"),))
    stmts, env = converge.record_statements(ch)
    text = "\n".join(stmts)
    assert "APP" not in text and "OLD" not in text and "sync" not in text and "sticky" not in text
    assert stmts == [
        'set ^IRISENV("ns",$System.Util.GetEnviron("IRISENV_REC_NAME_0"))='
        '$System.Util.GetEnviron("IRISENV_REC_VALUE_0")',
        'kill ^IRISENV("ns",$System.Util.GetEnviron("IRISENV_REC_KILL_0"))',
        'set ^IRISENV("instance","syschange")=$System.Util.GetEnviron("IRISENV_REC_INSTANCE_0")',
    ]
    assert env == {"IRISENV_REC_NAME_0": "APP", "IRISENV_REC_VALUE_0": "declared^5^sync^",
                   "IRISENV_REC_KILL_0": "OLD", "IRISENV_REC_INSTANCE_0": "sticky"}
    with pytest.raises(ValueError):  # a name is validated before it reaches ObjectScript
        converge.record_statements(RecordChanges(kills=('X") kill ^IRISENV',)))


@dataclass
class Res:
    exit_code: int
    stdout: str
    stderr: str = ""


@dataclass
class FakeIris:
    """engine.exec/put_files for converge() and observe(): every session succeeds and
    prints ``values``; scripts are kept."""

    values: dict = field(default_factory=dict)
    sessions: list = field(default_factory=list)
    files: list = field(default_factory=list)

    def put_files(self, cid, files, data_dir=False):
        self.files.append(files)

    def exec(self, cid, cmd, *, stdin=None, env=None, timeout=60):
        from fake_engine import session_argv  # tests/unit is on sys.path

        if session_argv(cmd)[:2] != ["iris", "session"]:
            return Res(0, "")
        script = stdin.decode()
        self.sessions.append((script, env))
        token = re.search(r'write "(IRISENV-OK-[0-9a-f]+)",!', script).group(1)
        body = "".join(f"{VAL_TAG}{k}={v}\n" for k, v in self.values.items())
        return Res(0, body + token + "\n")


def test_the_probe_reads_the_record_in_both_formats():
    eng = FakeIris(values={"version": "IRIS", "rec.1": "APP^declared^1750000000^sync^",
                           "rec.2": "bad name^declared^1^sync^",
                           "instance.syschange": "", "old.owned": "APP,OLD",
                           "old.temp": "", "ns.0": "1", "xns.0": "1"})
    o = probe.observe(eng, "c", want(), "pw")
    assert o.records == {"APP": NamespaceRecord(DECLARED, 1_750_000_000, "sync"),
                         "OLD": NamespaceRecord(DECLARED, 0, "sync")}
    assert o.legacy == Legacy(nodes=("owned", "temp"),
                              records=(("OLD", NamespaceRecord(DECLARED, 0, "sync")),))
    assert o.namespaces == {"APP": True, "OLD": True}  # OLD asked about in a second session
    first = eng.sessions[0][0]
    assert 'for { set n=$Order(^IRISENV("ns",n)) quit:n=""  set i=i+1 ' in first


def test_a_migrating_converge_writes_the_new_nodes_before_it_kills_the_old_ones():
    legacy = Legacy(nodes=("owned", "temp", "syschange"),
                    records=(("APP", NamespaceRecord(DECLARED, 0, "sync")),), sticky=True)
    o = seen(records={"APP": NamespaceRecord(DECLARED, 0, "sync")}, legacy=legacy)
    acts = migration(o)
    eng = FakeIris(values={"rec.1": "APP^declared^0^sync^", "instance.syschange": "sticky",
                           "callin": "1", "user.exists": "1", "user.change": "0",
                           "user.enabled": "1", "user.password": "1", "system.change": "0",
                           "ns.0": "1"})
    converge.converge(eng, "c", want(), "pw", acts, record_changes(o, acts))
    script, env = eng.sessions[0]
    lines = script.splitlines()
    first_kill = next(i for i, line in enumerate(lines) if 'kill ^IRISENV("owned")' in line)
    writes = [i for i, line in enumerate(lines) if "set ^IRISENV(" in line]
    assert len(writes) == 2 and max(writes) < first_kill  # the node, the instance entry
    assert 'kill ^IRISENV("owned"),^IRISENV("temp"),^IRISENV("syschange")' in lines[first_kill]
    assert env["IRISENV_REC_VALUE_0"] == "declared^0^sync^"
