"""Probe parsing, tolerant statements, driver-error classification, readiness lines, and
ownership of a durable volume's namespaces."""
import pytest

from irisenv.iris import runner
from irisenv.iris.connect import classify
from irisenv.iris.readiness import READY_LINE, ready_lines_for
from irisenv.iris.probe import _flag, probe_script
from irisenv.core.iris_plan import IrisDesired


@pytest.mark.parametrize("text,kind", [
    ("<COMMUNICATION LINK ERROR> Failed to connect to server; Details: Error code: -1 Error message: ",
     "not_ready"),
    ("<COMMUNICATION LINK ERROR> Failed to connect to server; Details: <COMMUNICATION ERROR> "
     "Invalid Message received; Details: Password change required", "password_change"),
    ("<COMMUNICATION LINK ERROR> Failed to connect to server; Details: Access Denied", "access_denied"),
    ("...; Details: <COMMUNICATION ERROR> Message out of order; Details: Invalid Message Sequence",
     "not_ready"),
])
def test_driver_errors_are_classified_by_their_text(text, kind):
    assert classify(text) == kind


@pytest.mark.parametrize("raw,flag", [("1", True), ("0", False), (" 1 ", True), (None, None),
                                      ("", None), ("?", None),
                                      ("0 ERROR #5001: bad", False), ("10", None)])
def test_probe_flags_never_take_a_failed_status_for_true(raw, flag):
    assert _flag(raw) is flag


def test_tolerant_statement_reports_instead_of_aborting():
    script = runner.render([runner.Tolerant('write "x"', "user.password"), 'write "y"'], "tok")
    first, second = script.splitlines()[:2]
    assert 'catch ex { write "IRISENV-VAL:user.password=?",! }' in first
    assert "Terminate(,2)" not in first and "Terminate(,2)" in second
    with pytest.raises(ValueError):
        runner.render([runner.Tolerant('write "x"', 'k" write "evil')], "tok")


def test_password_check_is_tolerant_and_the_password_only_in_env():
    stmts, env = probe_script(IrisDesired("iris", "tester", ("APP",), True), "Pa55-word!")
    tolerant = {s.key for s in stmts if isinstance(s, runner.Tolerant)}
    # the password check and the monitor state are findings when unsupported, not failures
    assert tolerant == {"user.password", "monitor"}
    assert "Pa55-word!" not in runner.render(stmts, "t") and env["IRISENV_PASSWORD"] == "Pa55-word!"


def test_intersystemsdc_images_also_wait_for_their_after_hook():
    assert ready_lines_for("containers.intersystems.com/intersystems/iris-community:latest-em") == (READY_LINE,)
    assert ready_lines_for("intersystemsdc/iris-community:latest") == (READY_LINE, "executed command")


def test_a_carried_over_volume_does_not_make_existing_namespaces_ours():
    from irisenv.config import parse_config
    from irisenv.core import labels as L
    from irisenv.core.desired import desired_container
    from irisenv.core.observed import Observed
    from irisenv.core.plan import ConvergeWhenReady as Converge, reconcile

    cfg = parse_config('[instances.iris]\nstorage = "volume"\n[instances.iris.namespaces.APP]\n',
                       None, default_project="demo")
    inst = cfg.instances["iris"]
    d = desired_container(cfg, inst)
    iris = {"iris": IrisDesired.of(inst)}
    images = {d.image: "sha256:" + "a" * 64}
    new = reconcile([d], Observed(project="demo", image_ids=images), iris=iris)
    kept = reconcile([d], Observed(project="demo", image_ids=images,
                                   volumes=frozenset({L.volume_name("demo", "iris")})), iris=iris)
    conv = lambda p: next(s for s in p.steps if isinstance(s, Converge))  # noqa: E731
    assert conv(new).fresh is True and conv(kept).fresh is False


def test_access_denied_does_not_promise_wrong_credentials(monkeypatch):
    """The driver says "Access Denied" for wrong credentials, but also for an instance that
    accepts TLS connections only and for a host:port where another server answers
    (docs/learnings/passwords.md): the error names all three, with the address it used."""
    import types

    from irisenv.errors import IrisenvError
    from irisenv.iris import connect
    from irisenv.project import Connection

    calls = []

    def refuse(**kw):
        calls.append(kw)
        raise RuntimeError("<COMMUNICATION LINK ERROR> Failed to connect to server; "
                           "Details: Access Denied")

    monkeypatch.setattr(connect, "driver", lambda: types.SimpleNamespace(connect=refuse))
    conn = Connection(instance="iris", container="demo-iris", host="127.0.0.1", port=41972,
                      web_port=None, namespace="APP", username="tester", password="Pa55-word!")
    with pytest.raises(IrisenvError) as err:
        connect.open_connection(conn, timeout=30)
    e = err.value
    assert len(calls) == 1  # no retry: it will not get better by waiting
    assert "127.0.0.1:41972" in e.what and "tester" in e.what
    why = e.why.lower()
    assert "credentials" in why and "tls" in why and "port" in why
    fix = e.fix.lower()
    assert "irisenv sync" in fix and "irisenv status" in fix and "tls" in fix
    assert "Pa55-word!" not in e.render()
