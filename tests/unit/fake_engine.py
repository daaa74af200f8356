"""An in-memory engine for unit tests: the whole Engine protocol (irisenv/engine/base.py),
with a container table, a call log, queued faults and hooks per method.

tests/unit/test_engine_boundary.py checks it against the protocol (every method, with the
same signature, and nothing public beyond the protocol and TEST_HELPERS), so it cannot
drift from the real engine. Wrap it with irisenv.engine.retry.with_retries to get the
retry layer every real engine has."""
from __future__ import annotations

import itertools
import threading

from irisenv.core import labels as L
from irisenv.core.observed import Actual, ObservedContainer
from irisenv.engine.base import ContainerState, EngineInfo, ExecResult
from irisenv.errors import ConflictError, IrisenvError

IMG = "intersystemsdc/iris-community:2025.1"
IMG_ID = "sha256:" + "a" * 64


class FakeEngine:
    # public methods that are the tests' own, not the protocol's
    TEST_HELPERS = frozenset({"add", "fail", "observed", "by_name", "calls"})

    endpoint = "fake://engine"

    def __init__(self):
        self.containers: dict[str, dict] = {}
        self.log: list[tuple] = []
        self.faults: dict[str, list] = {}
        self.hooks: dict[str, object] = {}
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self.images: dict = {IMG: IMG_ID}
        self.volume_names: set = set()

    # -- test helpers
    def add(self, name, labels, state="running", cid=None) -> str:
        cid = cid or f"{next(self._ids):064x}"
        self.containers[cid] = dict(name=name, labels=dict(labels), state=state)
        return cid

    def fail(self, method, *excs):
        self.faults.setdefault(method, []).extend(excs)

    def observed(self, cid) -> ObservedContainer:
        c = self.containers[cid]
        return ObservedContainer(id=cid, name=c["name"], state=c["state"], labels=c["labels"],
                                 image_id=IMG_ID)

    def by_name(self, name):
        return [cid for cid, c in self.containers.items() if c["name"] == name]

    def calls(self, method):
        return [entry for entry in self.log if entry[0] == method]

    def _enter(self, method, *args):
        with self.lock:
            self.log.append((method, *args))
            queue = self.faults.get(method)
            exc = queue.pop(0) if queue else None
        hook = self.hooks.get(method)
        if hook is not None:
            hook(*args)
        if exc is not None:
            raise exc

    def _get(self, cid) -> dict:
        c = self.containers.get(cid)
        if c is None:
            raise IrisenvError("Docker could not find an object irisenv needs",
                               f"No such container: {cid}")
        return c

    # -- the Engine protocol
    def close(self):
        self._enter("close")

    # observe
    def info(self):
        self._enter("info")
        return EngineInfo(product="Fake", version="1", api_version="1", endpoint=self.endpoint)

    def list_project(self, project):
        self._enter("list_project", project)
        with self.lock:
            return [self.observed(cid) for cid, c in self.containers.items()
                    if L.is_ours(c["labels"]) and c["labels"].get(L.PROJECT) == project]

    def find_by_name(self, name):
        self._enter("find_by_name", name)
        with self.lock:
            ids = self.by_name(name)
            return self.observed(ids[0]) if ids else None

    def image_id(self, ref):
        self._enter("image_id", ref)
        return self.images.get(ref)

    def volumes(self, project):
        self._enter("volumes", project)
        return sorted(self.volume_names)

    def actual(self, container_id):
        self._enter("actual", container_id)
        self._get(container_id)
        return Actual()

    def state(self, container_id):
        self._enter("state", container_id)
        status = self._get(container_id)["state"]
        return ContainerState(status=status, running=status == "running")

    # act
    def pull(self, ref, on_progress=None):
        self._enter("pull", ref)
        if on_progress:
            on_progress({"status": "Downloading", "progress": "[=>  ]"})
        self.images[ref] = IMG_ID

    def create_volume(self, name, labels):
        self._enter("create_volume", name)
        self.volume_names.add(name)

    def create(self, spec):
        self._enter("create", spec.name)
        with self.lock:
            if self.by_name(spec.name):
                raise ConflictError(f"name {spec.name} is in use", "409 Conflict")
            return self.add(spec.name, spec.labels, state="created")

    def put_files(self, container_id, files):
        self._enter("put_files", container_id)

    def start(self, container_id):
        self._enter("start", container_id)
        with self.lock:
            c = self.containers.get(container_id)
            if c is None or c["state"] in ("dead", "removing"):
                raise IrisenvError(f"cannot start {container_id[:12]}", "no such container or dead")
            c["state"] = "running"

    def unpause(self, container_id):
        self._enter("unpause", container_id)
        self._get(container_id)["state"] = "running"

    def stop(self, container_id, timeout=None):
        self._enter("stop", container_id, timeout)
        with self.lock:
            if container_id in self.containers:
                self.containers[container_id]["state"] = "exited"

    def remove(self, container_id):
        self._enter("remove", container_id)
        with self.lock:
            self.containers.pop(container_id, None)  # like the real one: a missing one is fine

    def rename(self, container_id, name):
        self._enter("rename", container_id, name)
        with self.lock:
            if self.by_name(name):
                raise ConflictError(f"name {name} is in use", "409 Conflict")
            self._get(container_id)["name"] = name

    def remove_volume(self, name):
        self._enter("remove_volume", name)
        self.volume_names.discard(name)

    # read
    def log_lines(self, container_id, follow=True, tail="all"):
        self._enter("log_lines", container_id)
        return iter(())

    def logs_stream(self, container_id, follow=True, tail="all", since=None):
        self._enter("logs_stream", container_id)
        return _Stream()

    def logs_tail(self, container_id, lines=20):
        self._enter("logs_tail", container_id)
        return ""

    # exec
    def exec(self, container_id, cmd, *, stdin=None, env=None, user=None, timeout=60):
        self._enter("exec", container_id, tuple(cmd))
        return ExecResult(0, "", "")


class _Stream(list):
    def close(self):
        pass
