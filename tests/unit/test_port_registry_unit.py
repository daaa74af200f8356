"""The port registry's I/O (irisenv/registry.py) on the unit tests' fake engine: what a sync
leases and records, that plan and status never touch the file, a corrupt or newer file, the
lock's timeout naming its holder, a leased port found taken, exhaustion, rebuilding from
labels, prune. (tests/conftest.py gives every test a fresh state directory.) The real
engine's side is tests/docker/test_port_registry.py."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import pytest
from fake_engine import IMAGE, Events  # tests/unit is on sys.path

from irisenv import registry
from irisenv.config.load import parse_config
from irisenv.core import labels as L
from irisenv.core import ports as P
from irisenv.core.plan import Create, Options, Replace
from irisenv.errors import IrisenvError, PortInUseError
from irisenv.project import Project

NO_WAIT = Options(wait=False)


pytestmark = pytest.mark.usefixtures("fast_retries")


def project(fake, name="demo", extra="", ports=""):
    text = (f'[project]\nname = "{name}"\n{ports}[instances.iris]\nimage = "{IMAGE}"\n{extra}')
    return Project(parse_config(text, None, default_project=name), engine=fake)


def published(fake, name="demo-iris") -> dict:
    c = next(c for c in fake.containers.values() if c["name"] == name)
    return {1972: c["ports"][1972], 52773: c["ports"][52773]}


def entries() -> dict:
    return {e.key[1:]: e for e in registry.read()}


# ---------------------------------------------------------------- what a sync records
def test_a_sync_leases_both_ports_and_the_container_publishes_them(fake):
    events = Events()
    p = project(fake)
    p.sync(NO_WAIT, timeout=5, reporter=events)
    got = entries()
    ss, web = got[("demo", "iris", "superserver")], got[("demo", "iris", "web")]
    assert published(fake) == {1972: ss.port, 52773: web.port}
    assert (ss.how, ss.engine, ss.project_dir) == ("auto", fake.endpoint, str(p.config.base_dir))
    assert ss.port in range(41972, 42972) and ss.port != web.port
    assert len(events.said("port")) == 2  # "leased host port ..." for each


def test_the_port_stays_across_replace_down_and_sync(fake):
    p = project(fake)
    p.sync(NO_WAIT, timeout=5)
    first = published(fake)
    p.sync(Options(wait=False, recreate=True), timeout=5)
    assert published(fake) == first
    p.down()
    assert fake.containers == {}
    p.sync(NO_WAIT, timeout=5)
    assert published(fake) == first


def test_preferred_guides_a_new_lease_and_changing_it_replaces_nothing(fake):
    """ports.preferred is a hint for the next lease, not a setting of the container:
    adding or removing it plans nothing (it once forced a replacement, twice)."""
    p = project(fake, extra="[instances.iris.ports]\npreferred = 50000\n")
    p.sync(NO_WAIT, timeout=5)
    assert published(fake) == {1972: 50000, 52773: 50001}
    for extra in ("", "[instances.iris.ports]\npreferred = 50100\n"):
        plan = project(fake, extra=extra).plan()
        assert not [s for s in plan.steps if isinstance(s, (Create, Replace))], plan.steps
    assert published(fake) == {1972: 50000, 52773: 50001}


def test_a_sync_with_changes_leases_only_once_it_holds_the_engine_lock(fake, monkeypatch):
    """Another machine may hold the engine-side lock: the waiting sync must not lease (nor
    say it leased) before it gets the lock; a sync that never gets it leaves no entry."""
    import contextlib

    import irisenv.enginelock
    from irisenv.errors import IrisenvError

    seen = {}

    @contextlib.contextmanager
    def hold(*args, **kwargs):
        seen["registry at the lock"] = registry.path().exists()
        if kwargs.get("timeout") == 0.5:  # the lock is never had
            raise IrisenvError("the engine-side lock is held", "another machine", "wait")
        yield

    monkeypatch.setattr(irisenv.enginelock, "hold", hold)
    events = Events()
    with pytest.raises(IrisenvError):
        project(fake).sync(NO_WAIT, timeout=5, reporter=events, lock_timeout=0.5)
    assert seen == {"registry at the lock": False}
    assert not registry.path().exists() and events.said("port") == []
    project(fake).sync(NO_WAIT, timeout=5, reporter=events)
    assert seen == {"registry at the lock": False} and len(entries()) == 2


def test_a_no_op_sync_takes_no_lock_and_writes_nothing(fake):
    p = project(fake)
    p.sync(NO_WAIT, timeout=5)
    before = entries()
    owner = registry.path().parent / "locks" / "ports.owner"
    stamps = registry.path().stat().st_mtime_ns, owner.stat().st_mtime_ns
    events = Events()
    fake.log.clear()
    p.sync(NO_WAIT, timeout=5, reporter=events)
    # neither the file nor the lock's owner was written: no lock was taken
    assert (registry.path().stat().st_mtime_ns, owner.stat().st_mtime_ns) == stamps
    after = entries()
    assert {k: (e.port, e.assigned) for k, e in after.items()} == \
        {k: (e.port, e.assigned) for k, e in before.items()}
    assert events.said("port") == [] and fake.calls("published_ports") == []  # no free check


def test_plan_and_status_never_touch_the_registry(fake):
    from irisenv.cli.status_cmd import collect

    p = project(fake)
    p.plan()
    collect(p)
    assert not registry.path().exists()
    assert not (registry.path().parent / "locks" / "ports.lock").exists()


def test_fixed_ports_are_recorded_and_0_is_not(fake):
    project(fake, extra="[instances.iris.ports]\nsuperserver = 45123\nweb = 0\n").sync(
        NO_WAIT, timeout=5)
    got = entries()
    assert list(got) == [("demo", "iris", "superserver")]
    assert (got[("demo", "iris", "superserver")].port,
            got[("demo", "iris", "superserver")].how) == (45123, "fixed")


def test_a_leased_port_another_program_took_is_avoided_and_another_leased(fake):
    p = project(fake)
    events = Events()
    taken = []

    def clash_once(cid):
        c = fake.containers[cid]
        port = dict((int(k.split("/")[0]), hp) for k, _, hp in c["actual"].ports)[1972]
        if not taken:
            taken.append(port)
            raise PortInUseError(f"host port {port} is already in use",
                                 "bind: address already in use", port=port)

    fake.hooks["start"] = clash_once
    p.sync(NO_WAIT, timeout=5, reporter=events)
    fake.hooks.clear()
    now = published(fake)[1972]
    assert taken and now != taken[0]
    assert entries()[("demo", "iris", "superserver")].port == now
    assert any("was taken by another program" in m for m in events.said("replan"))


def test_an_exhausted_range_fails_fast_saying_how_to_widen_or_free(fake):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        p = project(fake, ports=f'[ports]\nrange = "{port}-{port}"\n',
                    extra="[instances.iris.ports]\nweb = false\n")
        with pytest.raises(IrisenvError) as info:
            p.sync(NO_WAIT, timeout=5)
    finally:
        listener.close()
    err = info.value
    assert f"no free host port for superserver in the range {port}-{port}" in err.what
    assert "1 are in use" in err.why
    assert "[ports] range" in err.fix and "irisenv ports prune" in err.fix
    assert fake.calls("create") == []


# ---------------------------------------------------------------- the file
def test_a_corrupt_registry_is_moved_aside_and_rebuilt_from_the_labels(fake):
    other = project(fake, name="other")
    other.sync(NO_WAIT, timeout=5)
    kept = published(fake, "other-iris")
    registry.path().write_text("{ this is not json")
    events = Events()
    project(fake).sync(NO_WAIT, timeout=5, reporter=events)
    got = entries()
    assert got[("other", "iris", "superserver")].port == kept[1972]  # from the labels
    assert got[("other", "iris", "web")].port == kept[52773]
    assert published(fake)[1972] not in kept.values()
    aside = list(registry.path().parent.glob("ports.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{ this is not json"
    warned = events.said("warning")
    assert len(warned) == 1 and "moved it to ports.json.corrupt-" in warned[0]
    assert "rebuilt it from the labels of 1 irisenv container(s)" in warned[0]


def test_a_directory_in_the_registrys_place_is_moved_aside_too(fake):
    registry.path().mkdir()
    events = Events()
    project(fake).sync(NO_WAIT, timeout=5, reporter=events)
    assert registry.path().is_file() and len(events.said("warning")) == 1
    assert [p.is_dir() for p in registry.path().parent.glob("ports.json.corrupt-*")] == [True]


def test_a_missing_registry_is_seeded_from_the_labels_keeping_stopped_containers_ports(fake):
    window = '[ports]\nrange = "42100-42103"\n'
    other = project(fake, name="other", ports=window)
    other.sync(NO_WAIT, timeout=5)
    held = set(published(fake, "other-iris").values())
    fake.stop(next(c for c, v in fake.containers.items() if v["name"] == "other-iris"))
    registry.path().unlink()  # a deleted state directory, or the first sync after an upgrade
    events = Events()
    project(fake, ports=window).sync(NO_WAIT, timeout=5, reporter=events)
    assert set(published(fake).values()) == {42100, 42101, 42102, 42103} - held
    assert {e.port for k, e in entries().items() if k[0] == "other"} == held
    assert events.said("warning") == []  # nothing was wrong


def test_a_newer_registry_is_left_alone(fake):
    text = '{"schema_version": 99, "entries": []}'
    registry.path().write_text(text)
    with pytest.raises(IrisenvError) as info:
        project(fake).sync(NO_WAIT, timeout=5)
    assert "newer irisenv" in info.value.what and "upgrade irisenv" in info.value.fix
    assert registry.path().read_text() == text and fake.calls("create") == []


HOLDER = textwrap.dedent("""
    import sys, time
    from irisenv import registry
    with registry.transaction(verb="sync"):
        print("LOCKED", flush=True)
        sys.stdin.readline()
""")


def test_the_lock_times_out_naming_its_holder():
    child = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "LOCKED"
        with pytest.raises(IrisenvError) as info:
            with registry.transaction(timeout=0.3):
                pass
    finally:
        child.communicate("\n", timeout=30)
    err = info.value
    assert "port registry" in err.what
    assert f"pid {child.pid} (sync" in err.why and "ports.lock" in err.why


def test_rebuilding_reads_fixed_leased_and_published_ports():
    from irisenv.core.observed import ObservedContainer

    def c(name, project, spec, ports=None, leased=None, state="running", project_dir="/src/x"):
        labels = {L.MANAGED_BY: "irisenv", L.PROJECT: project, L.INSTANCE: "iris",
                  L.SPEC: json.dumps(spec), L.PROJECT_DIR: project_dir}
        if leased:
            labels[L.PORTS] = json.dumps(leased)
        return ObservedContainer(id=name, name=name, state=state, labels=labels,
                                 ports=ports or {})

    found = registry.from_labels([
        c("a-iris", "a", {"superserver": 45000, "web": False}),
        c("b-iris", "b", {}, leased={"superserver": 42001, "web": 42002}, state="exited"),
        c("c-iris", "c", {"web": 0}, ports={1972: 33442, 52773: 33443}),  # before the registry
        c("d-iris", "d", {}, state="exited"),  # made before the registry, stopped: nothing known
        c("e-iris-irisenv-new", "e", {}, leased={"superserver": 1, "web": 2}),
        c("e-iris", "e", {}, leased={"superserver": 42005, "web": 42006}),
    ], "unix:///x.sock", 7.0)
    got = {e.key[1:]: (e.port, e.how) for e in found}
    assert got == {("a", "iris", "superserver"): (45000, "fixed"),
                   ("b", "iris", "superserver"): (42001, "auto"),
                   ("b", "iris", "web"): (42002, "auto"),
                   ("c", "iris", "superserver"): (33442, "auto"),
                   ("e", "iris", "superserver"): (42005, "auto"),
                   ("e", "iris", "web"): (42006, "auto")}
    assert {e.project_dir for e in found} == {"/src/x"}


# ---------------------------------------------------------------- free checks, stale
def test_bindable_and_answers_see_a_listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    assert registry.bindable("127.0.0.1", port) is False  # bound (even before listen)
    s.listen()
    assert registry.answers("127.0.0.1", port) is True
    s.close()
    assert registry.bindable("127.0.0.1", port) is True
    assert registry.answers("127.0.0.1", port) is False


def test_the_free_check_of_a_remote_engine_connects_to_its_host(fake, monkeypatch):
    """tcp:// and ssh:// engines publish ports on their own host: a port is free when no
    container there publishes it and nothing answers a connect from here. (The engine's
    host is this one, made to count as remote, so that something can listen on it.)"""
    import irisenv.engine

    monkeypatch.setattr(irisenv.engine, "is_remote", lambda endpoint: True)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    busy = listener.getsockname()[1]
    fake.endpoint = "tcp://127.0.0.1:2375"
    fake.add("x", {}, actual=_publishing(busy + 1))
    check = registry.FreeCheck(fake, {"iris": "0.0.0.0"})
    try:
        assert check(busy, "iris") is False  # something answers
        assert check(busy + 1, "iris") is False  # a container on the engine publishes it
        bound = socket.socket()
        bound.bind(("127.0.0.1", 0))  # bound, not listening: a connect is refused
        assert check(bound.getsockname()[1], "iris") is True  # no bind test for a remote one
        bound.close()
    finally:
        listener.close()
    assert len(fake.calls("published_ports")) == 1  # listed once, at the first check


def test_the_free_check_of_a_local_engine_binds_on_the_host_ip(fake):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))  # bound, not listening: only a bind test sees it
    port = s.getsockname()[1]
    check = registry.FreeCheck(fake, {"iris": "127.0.0.1"})
    try:
        assert check(port, "iris") is False
    finally:
        s.close()
    assert check(port, "iris") is True


def _publishing(port):
    from irisenv.core.observed import Actual

    return Actual(ports=(("1972/tcp", "0.0.0.0", port),))


@pytest.mark.parametrize("text, seconds", [("", 30 * 86400), ("2d", 2 * 86400), ("12h", 43200),
                                           ("90m", 5400)])
def test_stale_after(text, seconds):
    assert registry.stale_after({registry.STALE_ENV: text}) == seconds


def test_a_bad_stale_after_says_so():
    with pytest.raises(IrisenvError, match="IRISENV_PORT_STALE_AFTER='soon'"):
        registry.stale_after({registry.STALE_ENV: "soon"})


def test_prune_frees_stale_entries_and_keeps_the_rest(fake, tmp_path):
    project(fake).sync(NO_WAIT, timeout=5)  # in use: kept
    now = 1_900_000_000.0
    gone_dir = str(tmp_path / "deleted")
    odd = [P.Entry(fake.endpoint, "gone", "iris", "superserver", 42100, "fixed", gone_dir, 1, now),
           P.Entry("tcp://nowhere:2375", "far", "iris", "superserver", 42101, "auto", gone_dir,
                   1, 1.0),  # an engine that does not answer: by age alone
           P.Entry("tcp://nowhere:2375", "recent", "iris", "superserver", 42102, "auto",
                   gone_dir, 1, 9e9)]
    with registry.transaction() as reg:
        reg.entries = reg.entries + odd
    pruned = registry.prune(lambda key: fake if key == fake.endpoint else None)
    assert sorted(e.project for e, _ in pruned) == ["far", "gone"]
    assert sorted({k[0] for k in entries()}) == ["demo", "recent"]
