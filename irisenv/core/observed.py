"""What the engine and IRIS hold for a project, as plain data: built by irisenv/observe.py
(through the engine, engine/base.py), read by the pure planner (core/plan.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import labels as L


@dataclass(frozen=True)
class Actual:
    """A container's real settings as Docker holds them (`docker inspect`), which its labels
    cannot vouch for: `docker update --memory`, or a container made elsewhere with copied
    labels. Read for the current container of each instance only."""

    memory: int = 0  # bytes; 0: no limit
    nano_cpus: int = 0  # 0: no limit
    ports: tuple = ()  # (container port "1972/tcp", host ip, host port or None: Docker-assigned)
    mounts: dict = field(default_factory=dict)  # destination -> "volume NAME" | "bind SRC" | "tmpfs"


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str  # without Docker's leading "/"
    state: str  # created | running | paused | restarting | removing | exited | dead
    labels: dict = field(default_factory=dict)
    image_id: str = ""
    ports: dict = field(default_factory=dict)  # container port (int) -> host port (int)
    status: str = ""  # Docker's human status, e.g. "Up 3 minutes"
    actual: Actual | None = None  # real settings (None: not inspected)
    networks: tuple = ()  # the networks it is attached to (a spare is on none until promoted)
    created: float | None = None  # epoch seconds the container was made (None: not known)

    @property
    def instance(self) -> str | None:
        return self.labels.get(L.INSTANCE)

    @property
    def hash(self) -> str | None:
        return self.labels.get(L.CONFIG_HASH)

    @property
    def hash_format(self) -> str | None:
        return self.labels.get(L.HASH_FORMAT)

    @property
    def spec(self) -> dict | None:
        try:
            return json.loads(self.labels.get(L.SPEC, ""))
        except ValueError:
            return None

    @property
    def made_as_spare(self) -> bool:
        """Made as a warm spare: still one unless it holds the instance's name (promoted)."""
        return self.labels.get(L.ROLE) == L.SPARE

    @property
    def is_spare(self) -> bool:
        """A warm spare now: made as one and not promoted (a promoted spare holds its
        instance's own name, <project>-<instance>)."""
        instance = self.instance
        return (self.made_as_spare and bool(instance)
                and self.name != L.container_name(self.labels.get(L.PROJECT, ""), instance))

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True)
class TagCheck:
    """What the registry said about an image's tag, next to the local image (read for an
    instance whose pull policy is "always", when the image is on the engine)."""

    local: tuple = ()  # the manifest digests the local image was pulled or pushed by
    digest: str | None = None  # the manifest digest behind the tag now; None: no answer
    # no answer: why ("unreachable" | "missing" | "denied") and the error's what / why / fix
    reason: str = ""
    what: str = ""
    why: str = ""
    fix: str = ""

    @property
    def moved(self) -> bool:
        """The registry has another image behind the tag than the local one."""
        return self.digest is not None and self.digest not in self.local


@dataclass(frozen=True)
class Observed:
    project: str
    containers: tuple = ()  # ObservedContainer with our labels for this project
    image_ids: dict = field(default_factory=dict)  # image ref -> local image ID, None if absent
    foreign_by_name: dict = field(default_factory=dict)  # name -> ObservedContainer not ours
    volumes: frozenset = frozenset()  # names of our labelled volumes for this project
    # container id -> IrisObserved, for running containers whose IRIS answered the probe:
    # those are the ready ones (the probe is a working session)
    iris: dict = field(default_factory=dict)
    # image ref -> TagCheck, for the images whose tag the registry was asked about
    registry: dict = field(default_factory=dict)
