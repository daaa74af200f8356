"""Retries live with the engine: :class:`RetryingEngine` implements the Engine protocol
around any backend and repeats ``TransientError`` (bounded in attempts and in time) for
the methods in ``base.RETRIED``; every other method, and every other error, passes through
at once. ``open_engine()`` (engine/__init__.py) wraps every backend in it, so callers
never retry by hand.

The happy path does not import tenacity: a no-op plan stays cheap.
"""
from __future__ import annotations

import time

from ..errors import TransientError
from .base import RETRIED, ContainerState, Engine, EngineInfo, ExecResult

RETRY_ATTEMPTS = 5
RETRY_SECONDS = 30.0


def call(fn, *args, **kwargs):
    """fn(*args, **kwargs), repeating it on TransientError with tenacity (at most
    RETRY_ATTEMPTS calls, RETRY_SECONDS, exponential back-off); the last error is raised."""
    try:
        return fn(*args, **kwargs)
    except TransientError:
        pass
    from tenacity import (Retrying, retry_if_exception_type, stop_after_attempt,
                          stop_after_delay, wait_exponential)

    time.sleep(0.1)
    for attempt in Retrying(retry=retry_if_exception_type(TransientError),
                            stop=stop_after_attempt(RETRY_ATTEMPTS - 1)
                            | stop_after_delay(RETRY_SECONDS),
                            wait=wait_exponential(multiplier=0.2, max=2.0), reraise=True):
        with attempt:
            return fn(*args, **kwargs)


def with_retries(engine) -> Engine:
    """``engine`` behind the retry layer (as it is when it already is)."""
    return engine if isinstance(engine, RetryingEngine) else RetryingEngine(engine)


class RetryingEngine:
    """An Engine that retries the transient faults of ``base.RETRIED`` methods of the
    backend it wraps. Each method below either retries (``_retried``) or passes through."""

    def __init__(self, backend):
        self._backend = backend

    def _retried(self, name: str, *args, **kwargs):
        assert name in RETRIED, name
        return call(getattr(self._backend, name), *args, **kwargs)

    @property
    def endpoint(self) -> str:
        return self._backend.endpoint

    def close(self) -> None:
        self._backend.close()

    # ------------------------------------------------------------------ observe
    def info(self) -> EngineInfo:
        return self._backend.info()

    def list_project(self, project):
        return self._retried("list_project", project)

    def list_managed(self):
        return self._retried("list_managed")

    def published_ports(self):
        return self._retried("published_ports")

    def find_by_name(self, name):
        return self._retried("find_by_name", name)

    def image_id(self, ref):
        return self._retried("image_id", ref)

    def image_digests(self, ref):
        return self._retried("image_digests", ref)

    def registry_digest(self, ref):
        return self._retried("registry_digest", ref)

    def volumes(self, project):
        return self._retried("volumes", project)

    def actual(self, container_id):
        return self._backend.actual(container_id)

    def state(self, container_id) -> ContainerState:
        return self._backend.state(container_id)

    def memory_usage(self, container_id):
        return self._backend.memory_usage(container_id)

    # ------------------------------------------------------------------ act
    def pull(self, ref, on_progress=None):
        return self._backend.pull(ref, on_progress=on_progress)

    def create_volume(self, name, labels):
        return self._retried("create_volume", name, labels)

    def create(self, spec):
        return self._retried("create", spec)

    def put_files(self, container_id, files):
        return self._retried("put_files", container_id, files)

    def get_files(self, container_id, path, dest):
        return self._retried("get_files", container_id, path, dest)

    def start(self, container_id):
        return self._retried("start", container_id)

    def unpause(self, container_id):
        return self._retried("unpause", container_id)

    def stop(self, container_id, timeout=None):
        return self._retried("stop", container_id, timeout)

    def remove(self, container_id):
        return self._retried("remove", container_id)

    def rename(self, container_id, name):
        return self._retried("rename", container_id, name)

    def attach(self, container_id):
        return self._retried("attach", container_id)

    def remove_volume(self, name):
        return self._retried("remove_volume", name)

    # ------------------------------------------------------------------ locks
    def create_lock(self, name, labels):
        return self._retried("create_lock", name, labels)

    def read_lock(self, name):
        return self._retried("read_lock", name)

    def remove_lock(self, lock_id):
        return self._retried("remove_lock", lock_id)

    # ------------------------------------------------------------------ read
    def log_lines(self, container_id, follow=True, tail="all"):
        return self._backend.log_lines(container_id, follow=follow, tail=tail)

    def logs_stream(self, container_id, follow=True, tail="all", since=None):
        return self._backend.logs_stream(container_id, follow=follow, tail=tail, since=since)

    def logs_tail(self, container_id, lines=20):
        return self._backend.logs_tail(container_id, lines=lines)

    # ------------------------------------------------------------------ exec
    def exec(self, container_id, cmd, *, stdin=None, env=None, user=None,
             timeout=60) -> ExecResult:
        return self._backend.exec(container_id, cmd, stdin=stdin, env=env, user=user,
                                  timeout=timeout)
