"""The port registry's pure parts (irisenv/core/ports.py): the file format, the range, which
port an instance gets given the entries and the ports taken, and when an entry is stale."""
from __future__ import annotations

import json

import pytest

from irisenv.core import ports as P
from irisenv.core.ports import AUTO, FIXED, Entry, Need

ENGINE = "unix:///var/run/docker.sock"
NOW = 1_800_000_000.0
RANGE = (42000, 42009)


def entry(project="other", instance="iris", kind="superserver", port=42000, how=AUTO,
          engine=ENGINE, project_dir="/src/other", last_seen=NOW, assigned=NOW - 100):
    return Entry(engine, project, instance, kind, port, how, project_dir, assigned, last_seen)


def need(instance="iris", kind="superserver", value=AUTO, **kw):
    return Need(instance, kind, value, **kw)


def assign(entries=(), needs=(need(new_container=True),), *, taken=(), stale=None, **kw):
    """assign() for project "demo" on ENGINE; ``taken``: ports the free check denies; the
    ports it was asked about are in the result's ``asked``."""
    asked = []

    def is_free(port, instance):
        asked.append(port)
        return port not in taken

    kw.setdefault("port_range", RANGE)
    out = P.assign(list(entries), list(needs), engine=ENGINE, project="demo",
                   project_dir="/src/demo", now=NOW, is_free=is_free,
                   stale=(lambda: stale) if stale is not None else dict, **kw)
    out.asked = asked
    return out


def mine(a, instance="iris", kind="superserver") -> Entry:
    return next(e for e in a.entries if e.key == (ENGINE, "demo", instance, kind))


# ---------------------------------------------------------------- the file
def test_the_file_round_trips_with_its_schema_version():
    entries = [entry(), entry(project="demo", kind="web", port=42001, how=FIXED, project_dir=None)]
    text = P.dumps(entries)
    doc = json.loads(text)
    assert doc["schema_version"] == P.SCHEMA_VERSION
    assert doc["entries"][0]["assigned"].endswith("Z")  # readable UTC times
    assert sorted(P.loads(text), key=lambda e: e.key) == sorted(entries, key=lambda e: e.key)


@pytest.mark.parametrize("text, why", [
    ("{not json", "not JSON"),
    ("[]", "no schema_version"),
    ('{"schema_version": true, "entries": []}', "no schema_version"),
    ('{"schema_version": 1}', "no list of entries"),
    ('{"schema_version": 1, "entries": [{"engine": "x"}]}', "entry 1 is malformed"),
    ('{"schema_version": 1, "entries": [7]}', "entry 1 is malformed"),
])
def test_anything_else_is_corrupt_with_a_reason(text, why):
    with pytest.raises(P.CorruptRegistry, match=why):
        P.loads(text)


@pytest.mark.parametrize("field, value", [
    ("kind", "ssh"), ("how", "magic"), ("port", 0), ("port", 70000), ("port", True),
    ("port", "41972"), ("project", ""), ("assigned", "yesterday"), ("project_dir", 5)])
def test_an_entry_out_of_its_domain_is_corrupt(field, value):
    row = entry().to_dict()
    row[field] = value
    with pytest.raises(P.CorruptRegistry, match="entry 1"):
        P.loads(json.dumps({"schema_version": 1, "entries": [row]}))


def test_a_key_twice_is_corrupt():
    row = entry().to_dict()
    with pytest.raises(P.CorruptRegistry, match="repeats"):
        P.loads(json.dumps({"schema_version": 1, "entries": [row, {**row, "port": 42005}]}))


def test_a_newer_schema_is_not_corrupt_but_newer():
    with pytest.raises(P.NewerRegistry) as info:
        P.loads('{"schema_version": 2, "entries": "whatever it became"}')
    assert info.value.version == 2


# ---------------------------------------------------------------- the range
@pytest.mark.parametrize("text, want", [("41972-42971", (41972, 42971)), ("1-1", (1, 1)),
                                        ("65535-65535", (65535, 65535))])
def test_a_range(text, want):
    assert P.parse_range(text) == want


@pytest.mark.parametrize("text", ["", "5", "9-1", "0-5", "1-70000", "a-b", " 1-2", "1 - 2",
                                  "１-2", "-1-5", "1-2-3"])
def test_not_a_range(text):
    with pytest.raises(ValueError, match="not a port range"):
        P.parse_range(text)


def test_candidates_are_the_whole_range_once_web_one_after_superserver():
    ss = list(P.candidates(RANGE, "demo", "iris", "superserver"))
    web = list(P.candidates(RANGE, "demo", "iris", "web"))
    assert sorted(ss) == sorted(web) == list(range(42000, 42010))
    assert web[0] == (ss[0] + 1 if ss[0] < 42009 else 42000)
    assert ss == list(P.candidates(RANGE, "demo", "iris", "superserver"))  # deterministic
    starts = {next(P.candidates((1, 1000), f"p{i}", "iris", "superserver")) for i in range(50)}
    assert len(starts) > 40  # spread over the range, not all at its first port


# ---------------------------------------------------------------- stale entries
@pytest.mark.parametrize("container, dir_exists, age_days, stale", [
    (True, False, 400, False),  # its container exists: in use, however old
    (False, False, 0, True),  # container and directory gone
    (False, True, 0, False),  # the checkout is still there
    (None, False, 0, False),  # its engine did not answer: only age counts
    (False, None, 0, False),  # directory unknown (rebuilt from labels without one)
    (None, None, 31, True),  # not seen for longer than the limit
    (False, True, 29, False),
])
def test_stale_rules(container, dir_exists, age_days, stale):
    e = entry(last_seen=NOW - age_days * P.DAY)
    reason = P.stale_reason(e, container=container, dir_exists=dir_exists, now=NOW,
                            max_age=30 * P.DAY)
    assert (reason is not None) == stale


# ---------------------------------------------------------------- leasing
def test_a_new_container_gets_a_port_from_the_range_at_its_hashed_start():
    a = assign(needs=[need(new_container=True), need(kind="web", new_container=True)])
    ss = next(P.candidates(RANGE, "demo", "iris", "superserver"))
    assert a.ports == {("iris", "superserver"): ss, ("iris", "web"): mine(a, kind="web").port}
    assert a.ports[("iris", "web")] != ss
    e = mine(a)
    assert (e.how, e.project_dir, e.assigned, e.last_seen) == (AUTO, "/src/demo", NOW, NOW)
    assert any("leased host port" in m for _, m in a.events)


def test_an_entry_lives_on_across_replace_restart_and_down():
    old = entry(project="demo", port=42007, assigned=NOW - 5000, last_seen=NOW - P.TOUCH_EVERY,
                project_dir="/src/demo")
    for n in (need(new_container=True),  # replace, or sync after down
              need(bound=42007),  # a running (restarted) container
              need()):  # a stopped one
        a = assign([old], [n])
        assert a.ports == {("iris", "superserver"): 42007}
        assert mine(a).assigned == NOW - 5000 and mine(a).last_seen == NOW
        assert a.asked == [] and a.events == []  # no free check, nothing new to say


def test_a_no_op_changes_nothing_when_the_entry_was_seen_lately():
    old = entry(project="demo", port=42007, last_seen=NOW - 60, project_dir="/src/demo")
    a = assign([old], [need(bound=42007)])
    assert not P.touched([old], a.entries)  # so the file is not written
    moved = assign([entry(project="demo", port=42007, last_seen=NOW - 60)], [need(bound=42007)])
    assert mine(moved).project_dir == "/src/demo" and mine(moved).last_seen == NOW


def test_twenty_projects_get_twenty_distinct_ports():
    entries: list = []
    got = []
    for i in range(20):
        a = P.assign(entries, [need(new_container=True)], engine=ENGINE, project=f"p{i}",
                     project_dir=None, now=NOW, port_range=(42000, 42019),
                     is_free=lambda port, inst: True)
        entries = a.entries
        got.append(a.ports[("iris", "superserver")])
    assert sorted(got) == list(range(42000, 42020))


def test_a_port_another_entry_holds_is_never_handed_out_fixed_or_auto():
    first = next(P.candidates(RANGE, "demo", "iris", "superserver"))
    second = next(p for p in P.candidates(RANGE, "demo", "iris", "superserver") if p != first)
    held = [entry(port=first, how=FIXED), entry(project="x", port=second, engine="tcp://h:2375")]
    a = assign(held)
    assert a.ports[("iris", "superserver")] not in (first, second)
    assert first not in a.asked and second not in a.asked  # not even checked


def test_a_port_in_use_on_the_host_is_skipped():
    order = list(P.candidates(RANGE, "demo", "iris", "superserver"))
    a = assign(taken=set(order[:3]))
    assert a.ports[("iris", "superserver")] == order[3]
    assert a.asked == order[:4]


def test_exhaustion_fails_fast_with_counts():
    taken = set(range(42000, 42005))
    held = [entry(project=f"o{p}", port=p) for p in range(42005, 42010)]
    with pytest.raises(P.Exhausted) as info:
        assign(held, taken=taken)
    assert (info.value.leased, info.value.taken, info.value.port_range) == (5, 5, RANGE)


def test_stale_auto_entries_are_reclaimed_when_a_port_is_needed_fixed_ones_are_not():
    held = [entry(project=f"o{p}", port=p, how=FIXED if p == 42009 else AUTO)
            for p in range(42000, 42010)]
    stale = {e.key: "its container and its project directory are gone" for e in held}
    a = assign(held, stale=stale)
    assert a.ports[("iris", "superserver")] != 42009
    assert len(a.entries) == 2  # the fixed stale one, and ours
    assert sum("reclaimed" in m for _, m in a.events) == 9


def test_stale_entries_are_not_reclaimed_while_no_new_port_is_needed():
    held = [entry(project="demo", port=42003), entry(project="gone", port=42005)]
    a = assign(held, stale={held[1].key: "gone"})
    assert a.ports == {("iris", "superserver"): 42003} and len(a.entries) == 2


def test_a_published_port_is_adopted_when_no_entry_holds_it():
    a = assign([], [need(bound=33442, picked=True)])  # made before the registry, running
    assert a.ports == {("iris", "superserver"): 33442} and mine(a).how == AUTO
    assert a.asked == []  # its own container holds it: no free check
    assert any("recorded host port 33442" in m for _, m in a.events)
    assert any("--recreate" in m for _, m in a.notes)  # Docker picks it anew at each start


def test_a_published_port_another_entry_holds_is_not_adopted():
    held = [entry(port=33442)]
    a = assign([entry(project="demo", port=42001)] + held, [need(bound=33442)])
    assert a.ports == {("iris", "superserver"): 42001}
    assert any("33442" in m and "next replaced" in m for _, m in a.notes)


def test_a_replaced_container_keeps_the_port_it_published():
    a = assign([], [need(bound=33442, picked=True, new_container=True)])
    assert a.ports == {("iris", "superserver"): 33442}


def test_a_port_taken_during_this_sync_is_avoided():
    a = assign([entry(project="demo", port=42003)], [need(new_container=True)], avoid={42003})
    assert a.ports[("iris", "superserver")] not in (42003, None)
    assert mine(a).assigned == NOW


def test_preferred_first_then_the_range():
    assert assign(needs=[need(new_container=True, preferred=50000)]).ports == {
        ("iris", "superserver"): 50000}
    a = assign(needs=[need(new_container=True, preferred=50000)], taken={50000})
    assert a.ports[("iris", "superserver")] in range(42000, 42010)
    a = assign([entry(port=50000)], [need(new_container=True, preferred=50000)])
    assert a.ports[("iris", "superserver")] != 50000  # another entry holds it


def test_a_new_preference_moves_the_lease_only_with_a_new_container():
    lease = [entry(project="demo", port=42003)]
    assert assign(lease, [need(preferred=50000)]).ports[("iris", "superserver")] == 42003
    assert assign(lease, [need(preferred=50000, new_container=True)]).ports[
        ("iris", "superserver")] == 50000


def test_fixed_ports_are_recorded_and_a_clash_is_noted():
    a = assign([entry(port=45000, project="x")], [need(value=45000)])
    e = mine(a)
    assert (e.port, e.how) == (45000, FIXED) and a.ports == {}
    assert any("also registered to project x" in m for _, m in a.notes)


def test_an_auto_lease_yields_to_a_fixed_claim_at_its_next_new_container():
    held = [entry(project="demo", port=42003), entry(project="x", port=42003, how=FIXED)]
    assert assign(held, [need(bound=42003)]).ports[("iris", "superserver")] == 42003
    moved = assign(held, [need(new_container=True)]).ports[("iris", "superserver")]
    assert moved != 42003


def test_entries_the_config_no_longer_names_are_released_unless_their_container_stays():
    held = [entry(project="demo", instance="old", port=42004),
            entry(project="demo", kind="web", port=42005)]
    a = assign(held, [need(bound=42003)])
    assert {e.key[2:] for e in a.entries} == {("iris", "superserver")}
    assert sum("released" in m for _, m in a.events) == 2
    kept = assign(held, [need(bound=42003)], keep_instances=frozenset({"old"}))
    assert ("old", "superserver") in {e.key[2:] for e in kept.entries}


def test_other_projects_and_engines_are_untouched():
    others = [entry(project="x", port=42001, last_seen=NOW - 999),
              entry(project="demo", port=42002, engine="tcp://h:2375", last_seen=NOW - 999)]
    a = assign(others, [need(bound=42003)])
    assert [e for e in a.entries if e.key != (ENGINE, "demo", "iris", "superserver")] == others


def test_touched():
    e = entry()
    assert not P.touched([e, entry(kind="web", port=2)], [entry(kind="web", port=2), e])
    assert P.touched([e], [entry(last_seen=NOW + 1)])
