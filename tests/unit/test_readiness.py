"""The readiness ladder against a fake engine: a hung system monitor fails the wait at
once with its own error (not "raise --timeout"), and a licence error's fix follows the
log line (an expired licence vs more cores than the Community Edition allows)."""
from __future__ import annotations

import pytest

from irisenv.engine.base import ContainerState
from irisenv.errors import IrisenvError, NotReadyError
from irisenv.iris import readiness
from irisenv.iris.readiness import wait_for_log, wait_ready

QLIST = ("IRIS^/usr/irissys^2025.1.0.223.0^running, since Mon Nov 23 12:00:00 2026^iris.cpf^"
         "1972^52773^62972^{monitor}^IRIS^^^/usr/irissys\n")


class Result:
    def __init__(self, stdout):
        self.exit_code, self.stdout, self.stderr = 0, stdout, ""


class FakeEngine:
    def __init__(self, log: str, monitor: str = "ok"):
        self.log, self.monitor = log, monitor
        self.qlists = 0

    def state(self, cid):
        return ContainerState(status="running", running=True, exit_code=0,
                              started_at=1795435200.5)

    def logs_stream(self, cid, follow=True, since=None):
        return _Stream([self.log.encode()])

    def logs_tail(self, cid, lines=20):
        return "last line of the log\n"

    def exec(self, cid, cmd, timeout=60, **kw):
        assert cmd[:2] == ["iris", "qlist"]
        self.qlists += 1
        return Result(QLIST.format(monitor=self.monitor))


class _Stream(list):
    def close(self):
        pass


def test_a_hung_monitor_fails_once_seen_hung_for_the_bounded_time(monkeypatch):
    monkeypatch.setattr(readiness, "HUNG_SECONDS", 0.3)
    eng = FakeEngine("x Enabling logons\n", monitor="hung")
    with pytest.raises(IrisenvError) as info:
        wait_ready(eng, "c" * 64, 600, instance="iris", session_probe=False)
    err = info.value
    assert not isinstance(err, NotReadyError) and err.exit_code == 1
    assert err.what == 'instance iris: the IRIS system monitor reports "hung"'
    assert "--timeout" not in err.fix and "irisenv sync --recreate" in err.fix
    assert "irisenv logs" in err.fix and "last line of the log" in err.why
    assert eng.qlists > 1  # it was seen hung more than once before giving up


def test_a_hung_monitor_is_named_even_when_the_timeout_comes_first():
    eng = FakeEngine("x Enabling logons\n", monitor="hung")
    with pytest.raises(IrisenvError) as info:  # HUNG_SECONDS (15 s) > the 0.5 s timeout
        wait_ready(eng, "c" * 64, 0.5, instance="iris", session_probe=False)
    assert "hung" in info.value.what and "--timeout" not in info.value.fix


def test_a_monitor_that_is_not_hung_is_ready():
    r = wait_ready(FakeEngine("x Enabling logons\n", monitor="alert"), "c" * 64, 5,
                   instance="iris", session_probe=False)
    assert r.monitor == "alert"


EXPIRED = ("11/23/26-12:00:01:000 (1234) 2 [Generic.Event] Community License expired.\n"
           "11/23/26-12:00:01:000 (1234) 3 [Generic.Event] Error: Invalid Community Edition "
           "license, may have exceeded core limit. - Shutting down the system\n")
CORES = ("11/23/26-12:00:01:000 (1234) 3 [Generic.Event] Error: Invalid Community Edition "
         "license, may have exceeded core limit. - Shutting down the system\n")


def test_an_expired_licence_says_use_a_current_tag():
    with pytest.raises(IrisenvError) as info:
        wait_for_log(FakeEngine(EXPIRED), "c" * 64, 10**9, instance="iris")
    err = info.value
    assert "Community License expired." in err.why
    assert "current tag" in err.fix and "cpus" not in err.fix


def test_a_core_limit_says_limit_the_cpus():
    with pytest.raises(IrisenvError) as info:
        wait_for_log(FakeEngine(CORES), "c" * 64, 10**9, instance="iris")
    err = info.value
    assert "exceeded core limit" in err.why
    assert err.fix.startswith("the Community Edition runs on at most 20 cores")
    assert "set instances.iris.cpus to 20 or fewer" in err.fix


def test_a_container_that_exits_while_starting_fails_with_its_exit_code():
    class Exited(FakeEngine):
        def state(self, cid):
            return ContainerState(status="exited", running=False, exit_code=3,
                                  started_at=1795435200.5)

    with pytest.raises(IrisenvError) as info:
        wait_for_log(Exited("booting\n"), "c" * 64, 10**9, instance="iris")
    assert info.value.what == "instance iris exited while starting (exit code 3)"
    assert "last line of the log" in info.value.why
