"""Observe: what the engine and IRIS hold for a project, as plain data (core/observed.py).

The one observe path of `plan`, `sync` and `status`: one container list by label, one image
inspect per image, a look-up of each instance's container name, the project's volumes when
storage needs them, one inspect per instance's container (its real settings) and one IRIS
state probe per running instance (which also proves IRIS answers a session: an instance
whose probe answered is ready; so is a warm spare of the current spec, docs/spares.md).
For the images whose tag is to be checked (pull = "always",
core/plan.py tags_to_check) and that are on the engine: the local image's digests and one
registry round trip through the engine (the digest behind the tag), alongside the rest;
no other image is asked of a registry.

The probes take longest (an exec each), and need nothing but the config: :func:`start`
begins them at once, each in a thread of its own, before the caller has worked out the
desired state, while the list and the other calls run. A probe starts on the container that
holds the instance's name, only when that container is this project's, of that instance
(its labels), and running; :meth:`Observing.result` keeps it only if that container is the
one the list then shows for the instance (else it is discarded and the current container
is probed). Every probe reads IRIS now: nothing is cached."""
from __future__ import annotations

from dataclasses import replace

from .background import Background
from .core import labels as L
from .core.observed import Observed, TagCheck
from .errors import IrisenvError, RefusedError, RegistryError

PROBE_TIMEOUT = 30  # seconds for one IRIS state probe


def observe(project, desired: list) -> Observed:
    return start(project).result(desired)


def start(project) -> Observing:
    """Start observing ``project``: each instance's look-up by name, and its IRIS probe."""
    return Observing(project)


class Observing:
    """Observation under way; :meth:`result` completes it for the desired containers."""

    def __init__(self, project):
        from .iris import probe  # noqa: F401  (imported here: never first in a thread)

        self.project = project
        self.want, self.passwords = project.iris_desired(), project.passwords()
        project.engine  # noqa: B018  (made here, once, not by the threads)
        self._early = {}  # instance -> Background: (container holding its name, probe)
        for name in project.config.instances:
            self._early[name] = Background(self._find_and_probe, name, thread="irisenv-observe")

    def _find_and_probe(self, instance: str):
        """(the container holding the instance's name or None, its IRIS state or None)."""
        project = self.project
        c = project.engine.find_by_name(L.container_name(project.name, instance))
        if (c is None or not L.is_ours(c.labels) or c.labels.get(L.PROJECT) != project.name
                or c.instance != instance or c.state != "running"):
            return c, None
        return c, self._probe(instance, c.id)

    def _probe(self, instance: str, container_id: str):
        """IRIS's state in the container, or None when it does not answer (yet): the plan
        then waits for readiness and converges after."""
        from .iris.probe import observe as probe

        try:
            return probe(self.project.engine, container_id, self.want[instance],
                         self.passwords[instance], timeout=PROBE_TIMEOUT)
        except IrisenvError:
            return None

    def result(self, desired: list, tags=()) -> Observed:
        """The observation for ``desired``; ``tags``: the image references whose tag the
        registry is asked about (those present on the engine)."""
        project = self.project
        engine = project.engine
        containers = tuple(engine.list_project(project.name))
        images = {}
        for d in desired:
            if d.image not in images:
                try:
                    images[d.image] = engine.image_id(d.image)
                except RefusedError as exc:  # e.g. an invalid reference: the config's fault
                    raise project.refused(exc) from None
        volumes = frozenset()
        if any(d.full_spec()["storage"] == "volume" for d in desired):
            volumes = frozenset(engine.volumes(project.name))
        current = [(d, c) for d in desired for c in containers
                   if c.name == d.name and c.state not in ("removing", "dead")]
        jobs = [lambda c=c: ("actual", c.id, _actual(engine, c.id)) for _, c in current]
        jobs += [lambda ref=ref: ("registry", ref, _tag_check(engine, ref))
                 for ref in tags if images.get(ref) is not None]
        early = {d.instance: self._early[d.instance].result() for d in desired}
        iris = {}
        for d, c in current:
            found, seen = early[d.instance]
            if found is not None and found.id == c.id and seen is not None:
                iris[c.id] = seen  # probed early, and still the instance's container
            elif c.state == "running":  # a container the early look-up did not see: now
                jobs.append(lambda d=d, c=c: ("iris", c.id, self._probe(d.instance, c.id)))
        # a warm spare that may be promoted is probed too: one whose IRIS answers is ready
        jobs += [lambda d=d, c=c: ("iris", c.id, self._probe(d.instance, c.id))
                 for d in desired if d.spares for c in containers
                 if c.instance == d.instance and c.is_spare
                 and c.state == "running" and c.hash == d.hash and not c.networks]
        out: dict = {"iris": iris, "actual": {}, "registry": {}}
        for kind, cid, value in concurrently(jobs):
            if value is not None:
                out[kind][cid] = value
        present = {c.name for c in containers}
        foreign = {}
        for d in desired:
            if d.name not in present:
                other, _ = early[d.instance]
                if other is not None and (not L.is_ours(other.labels)
                                          or other.labels.get(L.PROJECT) != project.name):
                    foreign[d.name] = other  # not ours, or another irisenv project's
        if out["iris"]:  # the lease table's held pool copies, for the plan
            from .core.iris_record import POOL

            wants = project.iris_desired()
            for d, c in current:
                seen, want = out["iris"].get(c.id), wants.get(d.instance)
                # only an instance with a pool (or copies IRIS records) reads the lease
                # table: a no-op plan without pools imports none of it
                if seen is not None and want is not None and (want.pools
                                                               or seen.recorded(POOL)):
                    from .pool_sync import with_held

                    out["iris"][c.id] = with_held(engine, project.name, d.instance, seen, want)
        containers = tuple(replace(c, actual=out["actual"].get(c.id)) for c in containers)
        return Observed(project=project.name, containers=containers, image_ids=images,
                        foreign_by_name=foreign, volumes=volumes, iris=out["iris"],
                        registry=out["registry"])


def _actual(engine, container_id: str):
    try:
        return engine.actual(container_id)
    except IrisenvError:
        return None  # gone meanwhile: the plan sees no real settings


def _tag_check(engine, ref: str) -> TagCheck:
    """What the registry holds behind ``ref``'s tag, next to the local image's digests."""
    local = engine.image_digests(ref)
    try:
        return TagCheck(local=local, digest=engine.registry_digest(ref))
    except RegistryError as exc:
        return TagCheck(local=local, reason=exc.reason, what=exc.what, why=exc.why, fix=exc.fix)


def concurrently(jobs: list) -> list:
    """Run the callables in threads (inline when there is only one); their results in order."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(jobs), 8)) as pool:
        return list(pool.map(lambda job: job(), jobs))
