"""An in-memory engine for unit tests: the whole Engine protocol (irisenv/engine/base.py),
with a container table, a call log, queued faults and hooks per method.

tests/unit/test_engine_boundary.py checks it against the protocol (every method, with the
same signature, and nothing public beyond the protocol and TEST_HELPERS), so it cannot
drift from the real engine. Wrap it with irisenv.engine.retry.with_retries to get the
retry layer every real engine has.

IRIS inside a container is simulated as far as irisenv reads it: a container the fake
starts logs IRIS's boot lines, and, when ``iris_on_start`` says IRIS comes up, logs the
ready line ("Enabling logons"), `iris qlist` says running and an `iris session` answers
with the values irisenv's probe reads (the runner's IRISENV-VAL lines) and the script's
success sentinel. Nothing else of ObjectScript is interpreted."""
from __future__ import annotations

import itertools
import re
import threading

from irisenv.core import labels as L
from irisenv.core.observed import Actual, ObservedContainer
from irisenv.engine.base import ContainerState, EngineInfo, ExecResult, LockRecord
from irisenv.errors import ConflictError, IrisenvError, RegistryError
from irisenv.iris.runner import PRELUDE_END, VAL_TAG
from irisenv.report import Reporter

IMG = "intersystemsdc/iris-community:2025.1"
# the image the project-level tests declare (the default registry's reference)
IMAGE = "containers.intersystems.com/intersystems/iris-community:2025.1"
IMG_ID = "sha256:" + "a" * 64

# What a session in an IRIS as irisenv's default config wants it reports (see
# irisenv/iris/probe.py): CallIn on, the user exists with the configured password, no
# password change pending. Namespace checks ("ns.0", ...) are added by a test that needs them.
HEALTHY_IRIS = {"version": "IRIS for UNIX (Ubuntu Server LTS for x86-64 Containers) 2025.1",
                "callin": "1", "user.exists": "1", "user.change": "0", "user.enabled": "1",
                "user.password": "1", "system.change": "0"}
BOOT_LOG = ("Starting IRIS",)
READY_LOG = ("Enabling logons",)  # what IRIS logs once it accepts logins
AFTER_HOOK_LOG = ("executed command",)  # intersystemsdc images, after their own init
_SENTINEL = re.compile(rb"(IRISENV-OK-[0-9a-f]+)")
_FIRST_HOST_PORT = 49153  # where Docker starts picking ephemeral host ports


def actual_of(spec) -> Actual:
    """The real settings a container created from ``spec`` (a RunSpec) has, as the Docker
    backend reads them back (requested port bindings; None: Docker picks at start)."""
    mounts = {v.target: f"volume {v.volume}" for v in spec.volumes}
    mounts.update({dest: "tmpfs" for dest in spec.tmpfs})
    return Actual(memory=spec.memory or 0, nano_cpus=spec.nano_cpus,
                  ports=tuple((f"{p.container_port}/tcp", p.host_ip, p.host_port)
                              for p in spec.ports),
                  mounts=mounts)


def qlist_line(running: bool, version: str = "2025.1.0.223.0") -> str:
    """`iris qlist IRIS` output (irisenv/iris/qlist.py)."""
    status = ("running, since" if running else "down, last used") + " Mon Jan  1 00:00:00 2026"
    return (f"IRIS^/usr/irissys^{version}^{status}^iris.cpf^1972^52773^62773^"
            f"{'ok' if running else ''}^IRIS^^\n")


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
        # ref -> the manifest digests the local image was pulled by (docker's RepoDigests)
        self.digests: dict = {}
        # the registry: ref -> (manifest digest behind the tag, the image ID it pulls as);
        # a ref absent here is one the registry does not have
        self.registry: dict = {}
        self.volume_names: set = set()
        self._host_ports = itertools.count(_FIRST_HOST_PORT)
        # The IRIS a container comes up with when this fake starts it: None, it never does
        # (its log stops at BOOT_LOG, qlist says down, sessions fail); else the values its
        # sessions report (e.g. HEALTHY_IRIS).
        self.iris_on_start: dict | None = None
        self.locks: dict[str, LockRecord] = {}  # name -> the engine-side lock object

    # -- test helpers
    def add(self, name, labels, state="running", cid=None, *, actual=None, iris=None,
            image=IMG, networks=("bridge",)) -> str:
        """A container as if made elsewhere (by an earlier sync, by hand). ``actual``: its
        real settings (actual_of(run_spec(...)) for one irisenv made); ``iris``: the values
        its IRIS answers sessions with (None: IRIS does not answer), with its log to match."""
        cid = cid or f"{next(self._ids):064x}"
        log = BOOT_LOG + (self._ready_log(image) if iris is not None else ())
        self.containers[cid] = dict(name=name, labels=dict(labels), state=state, image=image,
                                    actual=actual or Actual(), files=None, ports={},
                                    log=list(log), iris=dict(iris) if iris is not None else None,
                                    image_id=self.images.get(image, IMG_ID),
                                    networks=tuple(networks))
        if state == "running":
            self._publish(self.containers[cid])
        return cid

    def fail(self, method, *excs):
        self.faults.setdefault(method, []).extend(excs)

    def observed(self, cid) -> ObservedContainer:
        c = self.containers[cid]
        return ObservedContainer(id=cid, name=c["name"], state=c["state"], labels=c["labels"],
                                 image_id=c.get("image_id", IMG_ID),
                                 ports=dict(c["ports"]) if c["state"] == "running" else {},
                                 networks=c["networks"])

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

    @staticmethod
    def _ready_log(image) -> tuple:
        return READY_LOG + (AFTER_HOOK_LOG if "intersystemsdc/" in image else ())

    def _publish(self, c) -> None:
        """Host ports for the container's bindings, as Docker assigns them at start (on a
        network: a detached container publishes nothing until attached)."""
        if not c["networks"]:
            return
        c["ports"] = {int(port.split("/")[0]): host_port or next(self._host_ports)
                      for port, _, host_port in c["actual"].ports}

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

    def list_managed(self):
        self._enter("list_managed")
        with self.lock:
            return [self.observed(cid) for cid, c in self.containers.items()
                    if L.is_ours(c["labels"])]

    def published_ports(self):
        self._enter("published_ports")
        with self.lock:
            return {p for c in self.containers.values() if c["state"] == "running"
                    for p in c["ports"].values()}

    def find_by_name(self, name):
        self._enter("find_by_name", name)
        with self.lock:
            ids = self.by_name(name)
            return self.observed(ids[0]) if ids else None

    def image_id(self, ref):
        self._enter("image_id", ref)
        return self.images.get(ref)

    def image_digests(self, ref):
        self._enter("image_digests", ref)
        return tuple(self.digests.get(ref, ())) if ref in self.images else ()

    def registry_digest(self, ref):
        self._enter("registry_digest", ref)
        if ref not in self.registry:
            raise RegistryError("missing", f"cannot check image {ref}: no such tag",
                                "manifest unknown", "push it first")
        return self.registry[ref][0]

    def volumes(self, project):
        self._enter("volumes", project)
        return sorted(self.volume_names)

    def actual(self, container_id):
        self._enter("actual", container_id)
        return self._get(container_id)["actual"]

    def state(self, container_id):
        self._enter("state", container_id)
        status = self._get(container_id)["state"]
        return ContainerState(status=status, running=status == "running")

    def memory_usage(self, container_id):
        self._enter("memory_usage", container_id)
        c = self._get(container_id)
        return c.get("memory", 64 * 1024**2) if c["state"] == "running" else None

    # act
    def pull(self, ref, on_progress=None):
        self._enter("pull", ref)
        if on_progress:
            on_progress({"status": "Downloading", "progress": "[=>  ]"})
        if ref in self.registry:
            digest, self.images[ref] = self.registry[ref]
            self.digests[ref] = (digest,)
        else:
            self.images[ref] = IMG_ID

    def create_volume(self, name, labels):
        self._enter("create_volume", name)
        self.volume_names.add(name)

    def create(self, spec):
        self._enter("create", spec.name)
        with self.lock:
            if self.by_name(spec.name):
                raise ConflictError(f"name {spec.name} is in use", "409 Conflict")
            cid = self.add(spec.name, spec.labels, state="created", actual=actual_of(spec),
                           image=spec.image, networks=() if spec.detached else ("bridge",))
            self.containers[cid]["log"] = []
            return cid

    def put_files(self, container_id, files):
        self._enter("put_files", container_id)
        with self.lock:
            c = self._get(container_id)
            c["files"] = files
            c.setdefault("fs", {}).update(files.contents)

    # get_files: the files put_files wrote (or a test set in the container's "fs": absolute
    # path -> bytes), at ``path`` or under it
    def get_files(self, container_id, path, dest):
        self._enter("get_files", container_id, path, dest)
        import pathlib

        with self.lock:
            fs = dict(self._get(container_id).get("fs", {}))
        base = path.rstrip("/")
        found = {p: b for p, b in fs.items() if p == base or p.startswith(base + "/")}
        if not found:
            raise IrisenvError("Docker could not find an object irisenv needs",
                               f"Could not find the file {path} in container {container_id}",
                               "run `irisenv sync` again")
        keep = base.rsplit("/", 1)[0]  # the archive names start with path's last part
        written = []
        for p, content in sorted(found.items()):
            rel = p[len(keep) + 1:]
            target = pathlib.Path(dest, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            written.append(rel)
        return written

    def start(self, container_id):
        self._enter("start", container_id)
        with self.lock:
            c = self.containers.get(container_id)
            if c is None or c["state"] in ("dead", "removing"):
                raise IrisenvError(f"cannot start {container_id[:12]}", "no such container or dead")
            if c["state"] == "running":
                return
            c["state"] = "running"
            self._publish(c)
            iris = self.iris_on_start
            c["iris"] = dict(iris) if iris is not None else None
            c["log"] = list(BOOT_LOG + (self._ready_log(c["image"]) if iris is not None else ()))

    def unpause(self, container_id):
        self._enter("unpause", container_id)
        self._get(container_id)["state"] = "running"

    def stop(self, container_id, timeout=None):
        self._enter("stop", container_id, timeout)
        with self.lock:
            if container_id in self.containers:
                self.containers[container_id].update(state="exited", iris=None)

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

    def attach(self, container_id):
        self._enter("attach", container_id)
        with self.lock:
            c = self._get(container_id)
            if not c["networks"]:
                c["networks"] = ("bridge",)
                if c["state"] == "running":
                    self._publish(c)

    def remove_volume(self, name):
        self._enter("remove_volume", name)
        self.volume_names.discard(name)

    # locks: names unique, as the engine keeps them
    def create_lock(self, name, labels):
        self._enter("create_lock", name)
        with self.lock:
            if name in self.locks:
                raise ConflictError(f"name {name} is in use", "409 Conflict")
            self.locks[name] = LockRecord(id=f"{next(self._ids):064x}", name=name,
                                          labels=dict(labels))
            return self.locks[name].id

    def read_lock(self, name):
        self._enter("read_lock", name)
        with self.lock:
            return self.locks.get(name)

    def remove_lock(self, lock_id):
        self._enter("remove_lock", lock_id)
        with self.lock:
            for name, record in list(self.locks.items()):
                if record.id == lock_id:
                    del self.locks[name]

    # read
    # read: the current run's log (a followed stream ends with what is there so far)
    def _log(self, container_id) -> list:
        with self.lock:
            return list(self._get(container_id)["log"])

    def log_lines(self, container_id, follow=True, tail="all"):
        self._enter("log_lines", container_id)
        return iter(self._log(container_id))

    def logs_stream(self, container_id, follow=True, tail="all", since=None):
        self._enter("logs_stream", container_id)
        return _Stream(f"{line}\n".encode() for line in self._log(container_id))

    def logs_tail(self, container_id, lines=20):
        self._enter("logs_tail", container_id)
        with self.lock:
            c = self.containers.get(container_id)
            return "\n".join(c["log"][-lines:]) if c is not None else ""

    # exec: `iris qlist` and `iris session` as IRIS answers them; anything else succeeds
    def exec(self, container_id, cmd, *, stdin=None, env=None, user=None, timeout=60):
        cmd = session_argv(cmd)
        self._enter("exec", container_id, tuple(cmd))
        with self.lock:
            c = self._get(container_id)
            if c["state"] != "running":
                raise ConflictError("Docker reported a conflict",
                                    f"container {container_id} is not running")
            iris = c["iris"]
        if list(cmd[:2]) == ["iris", "qlist"]:
            return ExecResult(0, qlist_line(iris is not None), "")
        if list(cmd[:2]) == ["iris", "session"]:
            sentinel = _SENTINEL.search(stdin or b"")
            if iris is None or sentinel is None:
                return ExecResult(1, "", "<Startup Error>: IRIS is not running\n")
            values = "".join(f"{VAL_TAG}{k}={v}\n" for k, v in iris.items())
            return ExecResult(0, values + sentinel.group(1).decode() + "\n", "")
        return ExecResult(0, "", "")


def session_argv(cmd):
    """The `iris session ...` argv of a session run with a shell prelude (iris/runner.py:
    `sh -c '<prelude> ... exec "$@"' sh iris session ...`); any other command as it is."""
    cmd = list(cmd)
    if cmd[:2] == ["sh", "-c"] and PRELUDE_END in cmd[2] and cmd[4:6] == ["iris", "session"]:
        return cmd[4:]
    return cmd


class _Stream(list):
    def close(self):
        pass


class Events(Reporter):
    """A reporter that records (kind, message) of each event."""

    def __init__(self):
        super().__init__()
        self.seen: list = []

    def event(self, kind, message, instance=None, **fields):
        self.seen.append((kind, message))

    def said(self, kind: str) -> list:
        return [m for k, m in self.seen if k == kind]
