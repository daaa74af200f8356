"""Fixtures shared by the unit tests (tests/unit is on sys.path: fake_engine.py holds the
in-memory engine and the recording reporter)."""
import pytest


@pytest.fixture
def fast_retries(monkeypatch):
    """The retry layer's bounds made small (3 attempts within 5 s), so a test of a fault
    that is retried does not wait out the real bounds."""
    from irisenv.engine import retry

    monkeypatch.setattr(retry, "RETRY_ATTEMPTS", 3)
    monkeypatch.setattr(retry, "RETRY_SECONDS", 5.0)


@pytest.fixture
def fake():
    """An in-memory engine (fake_engine.FakeEngine) holding fake_engine.IMAGE."""
    from fake_engine import IMAGE, IMG_ID, FakeEngine

    eng = FakeEngine()
    eng.images[IMAGE] = IMG_ID
    return eng


@pytest.fixture(autouse=True)
def monitoring_off(monkeypatch):
    """The fake engine's IRIS (fake_engine.py) answers a fixed set of probe values and does
    not model the monitoring policy: these tests run with IRISENV_MONITORING=off (what a
    user sets to skip monitoring for one run). The policy's own tests remove it."""
    monkeypatch.setenv("IRISENV_MONITORING", "off")
