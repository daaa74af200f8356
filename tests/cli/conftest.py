"""Fixtures of the CLI tests."""
import pytest


@pytest.fixture(autouse=True)
def monitoring_off(monkeypatch):
    """The fake engine's IRIS (tests/unit/fake_engine.py) does not model the monitoring
    policy: these tests run with IRISENV_MONITORING=off, as tests/unit/conftest.py."""
    monkeypatch.setenv("IRISENV_MONITORING", "off")
