"""The engine boundary (irisenv/engine/base.py): every engine (the Docker backend, the
retry layer, the unit tests' fake) implements exactly the protocol, with its signatures;
the retry layer retries exactly the methods base.RETRIED declares; the factory picks a
backend by endpoint."""
from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from fake_engine import FakeEngine  # tests/unit is on sys.path

from irisenv.engine import base, open_engine, retry
from irisenv.errors import IrisenvError, TransientError


pytestmark = pytest.mark.usefixtures("fast_retries")


def protocol_methods() -> dict:
    """name -> inspect.Signature of every method the Engine protocol declares."""
    return {name: inspect.signature(fn) for name, fn in vars(base.Engine).items()
            if callable(fn) and not name.startswith("_")}


def engines():
    from irisenv.engine.docker import DockerEngine

    return {"DockerEngine": (DockerEngine, frozenset()),
            "RetryingEngine": (retry.RetryingEngine, frozenset()),
            "FakeEngine": (FakeEngine, FakeEngine.TEST_HELPERS)}


def shape(sig: inspect.Signature) -> list:
    """Parameter names, kinds and defaults (annotations aside)."""
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("name", sorted(engines()))
def test_an_engine_implements_the_protocol_with_its_signatures(name):
    cls, _ = engines()[name]
    wanted = protocol_methods()
    missing = sorted(set(wanted) - set(dir(cls)))
    assert missing == [], f"{name} lacks {missing}"
    for method, sig in wanted.items():
        assert shape(inspect.signature(getattr(cls, method))) == shape(sig), \
            f"{name}.{method}{inspect.signature(getattr(cls, method))} is not {method}{sig}"


@pytest.mark.parametrize("name", sorted(engines()))
def test_an_engine_has_nothing_public_the_protocol_lacks(name):
    """A method added to an engine (so callers could use it) must be declared in base.py
    first: the protocol stays the complete list of what a backend implements."""
    cls, helpers = engines()[name]
    public = {n for n, v in inspect.getmembers(cls) if not n.startswith("_") and callable(v)}
    assert sorted(public - set(protocol_methods()) - helpers) == []


def test_the_engines_are_engines():
    from irisenv.engine.docker import DockerEngine

    docker_engine = DockerEngine("unix:///nowhere.sock", client=object())
    for engine in (docker_engine, FakeEngine(), retry.with_retries(FakeEngine())):
        assert isinstance(engine, base.Engine)
    assert docker_engine.endpoint == "unix:///nowhere.sock"
    assert retry.with_retries(FakeEngine()).endpoint == FakeEngine.endpoint


def dummy_args(sig: inspect.Signature) -> tuple[list, dict]:
    args, kwargs = [], {}
    for p in list(sig.parameters.values())[1:]:
        if p.default is not p.empty:
            continue
        if p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = f"<{p.name}>"
        else:
            args.append(f"<{p.name}>")
    return args, kwargs


class FailsOnce:
    """A backend whose every method raises TransientError on its first call, then answers."""

    endpoint = "fake://"

    def __init__(self):
        self.calls: dict = {}

    def __getattr__(self, name):
        def method(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.calls[name] == 1:
                raise TransientError(f"{name} blinked", "injected")
            return f"{name} answered"

        return method


@pytest.mark.parametrize("name", sorted(protocol_methods()))
def test_the_retry_layer_retries_exactly_the_declared_methods(name):
    backend = FailsOnce()
    engine = retry.RetryingEngine(backend)
    args, kwargs = dummy_args(protocol_methods()[name])
    if name in base.RETRIED:
        assert getattr(engine, name)(*args, **kwargs) == f"{name} answered"
        assert backend.calls == {name: 2}
    else:
        with pytest.raises(TransientError):
            getattr(engine, name)(*args, **kwargs)
        assert backend.calls == {name: 1}


def test_every_retried_method_is_declared():
    assert base.RETRIED <= set(protocol_methods())


def test_terminal_errors_are_not_retried():
    class Refuses:
        calls = 0

        def start(self, container_id):
            Refuses.calls += 1
            raise IrisenvError("port clash", "terminal")

    with pytest.raises(IrisenvError):
        retry.RetryingEngine(Refuses()).start("c")
    assert Refuses.calls == 1


def test_a_wrapped_engine_is_not_wrapped_twice():
    once = retry.with_retries(FailsOnce())
    assert retry.with_retries(once) is once


@pytest.mark.parametrize("endpoint", ["unix:///var/run/docker.sock", "tcp://10.0.0.5:2376",
                                      "ssh://me@host", "npipe:////./pipe/docker_engine", None])
def test_docker_serves_the_docker_endpoints(endpoint):
    from irisenv.engine import _backend
    from irisenv.engine.docker import DockerEngine

    assert _backend(endpoint) is DockerEngine


def test_an_endpoint_no_backend_serves_is_an_error():
    with pytest.raises(IrisenvError) as info:
        open_engine("k8s://cluster/ns")
    assert info.value.what == "no engine backend serves k8s://cluster/ns"
    assert "DOCKER_HOST" in info.value.fix


def test_the_happy_path_does_not_import_tenacity_or_docker():
    code = ("import sys; from irisenv.engine import retry, base, open_engine; "
            "assert retry.call(lambda: 1) == 1; "
            "print(sorted(m for m in ('tenacity', 'docker') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
