"""The Docker backend against a real engine: an engine that refuses the pinned API
version is asked its own; an engine that does not answer is named."""
from __future__ import annotations

import uuid

import pytest
from helpers import STANDIN_BASE_IMAGE

import irisenv.engine.docker as D
from irisenv.errors import IrisenvError

LABELS = {"io.irisenv.test": "clients", "io.irisenv.managed-by": "irisenv"}


@pytest.fixture(scope="module")
def box(client):
    project = f"clients-{uuid.uuid4().hex[:8]}"
    c = client.containers.run(STANDIN_BASE_IMAGE, ["sleep", "300"], detach=True,
                              labels={**LABELS, "io.irisenv.project": project},
                              name=f"irisenv-clients-{uuid.uuid4().hex[:8]}",
                              ports={"1972/tcp": ("127.0.0.1", None)}, mem_limit="256m")
    c.project = project
    yield c
    c.remove(force=True)


def test_an_engine_that_does_not_answer_is_named(tmp_path):
    eng = D.DockerEngine(f"unix://{tmp_path}/no.sock")
    with pytest.raises(IrisenvError) as info:
        eng.list_project("x")
    assert info.value.what == f"no Docker engine answers at unix://{tmp_path}/no.sock"


@pytest.mark.parametrize("pinned", ["1.99"])
def test_an_engine_that_refuses_the_pinned_api_version_is_asked_its_own(monkeypatch, box,
                                                                        pinned):
    """"client version 1.99 is too new" / "1.05 is too old": the engine's own version is
    read once and the call repeated."""
    monkeypatch.setattr(D, "API_VERSION", pinned)
    eng = D.DockerEngine()
    try:
        assert [c.name for c in eng.list_project(box.project)] == [box.name]
        server = eng.info().api_version
        assert eng._version == server != pinned
        if pinned == "1.99":  # docker-py refuses versions below 1.24 itself
            monkeypatch.setattr(D, "API_VERSION", pinned)
            eng2 = D.DockerEngine()
            assert eng2.logs_tail(box.id) == ""  # a docker-py call first
            assert eng2._api is not None and eng2._version == server
            eng2.close()
    finally:
        eng.close()
