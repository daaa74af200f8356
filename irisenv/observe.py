"""Observe: what the engine and IRIS hold for a project, as plain data (core/observed.py).

The one observe path of `plan`, `sync` and `status`: one container list by label, one image
inspect per image, a look-up of each name nobody of ours holds, the project's volumes when
storage needs them, and then, concurrently, one inspect per instance's container (its real
settings) and one IRIS state probe per running instance (which also proves IRIS answers a
session: an instance whose probe answered is ready)."""
from __future__ import annotations

from dataclasses import replace

from .core import labels as L
from .core.observed import Observed
from .errors import IrisenvError, RefusedError


def observe(project, desired: list) -> Observed:
    engine = project.engine
    containers = tuple(engine.list_project(project.name))
    images = {}
    for d in desired:
        if d.image not in images:
            try:
                images[d.image] = engine.image_id(d.image)
            except RefusedError as exc:  # e.g. an invalid reference: the config's fault
                raise project.refused(exc) from None
    present = {c.name for c in containers}
    foreign = {}
    for d in desired:
        if d.name not in present:
            other = engine.find_by_name(d.name)
            if other is not None and (not L.is_ours(other.labels)
                                      or other.labels.get(L.PROJECT) != project.name):
                foreign[d.name] = other  # not ours, or another irisenv project's
    volumes = frozenset()
    if any(d.full_spec()["storage"] == "volume" for d in desired):
        volumes = frozenset(engine.volumes(project.name))
    iris, actual = _probe_and_inspect(project, desired, containers)
    containers = tuple(replace(c, actual=actual.get(c.id)) for c in containers)
    return Observed(project=project.name, containers=containers, image_ids=images,
                    foreign_by_name=foreign, volumes=volumes, iris=iris)


def _probe_and_inspect(project, desired, containers) -> tuple[dict, dict]:
    """Concurrently: one IRIS probe per running instance, and one inspect per instance's
    current container (its real settings, for drift the labels cannot see)."""
    from .iris.probe import observe as probe

    engine = project.engine
    wanted = project.iris_desired()
    passwords = project.passwords()
    current = [(d, c) for d in desired for c in containers
               if c.name == d.name and c.state not in ("removing", "dead")]

    def inspect(c):
        try:
            return "actual", c.id, engine.actual(c.id)
        except IrisenvError:
            return "actual", c.id, None  # gone meanwhile: the plan sees no real settings

    def one(d, c):
        try:
            return "iris", c.id, probe(engine, c.id, wanted[d.instance], passwords[d.instance],
                                       timeout=30)
        except IrisenvError:
            return "iris", c.id, None  # not answering (yet): the plan waits, then converges

    jobs = [lambda c=c: inspect(c) for _, c in current]
    jobs += [lambda d=d, c=c: one(d, c) for d, c in current if c.state == "running"]
    out: dict = {"iris": {}, "actual": {}}
    for kind, cid, value in concurrently(jobs):
        if value is not None:
            out[kind][cid] = value
    return out["iris"], out["actual"]


def concurrently(jobs: list) -> list:
    """Run the callables in threads (inline when there is only one); their results in order."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(jobs), 8)) as pool:
        return list(pool.map(lambda job: job(), jobs))
