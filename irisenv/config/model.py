"""The typed, validated config. Built only by load.py; every value already normalized:
durations in seconds, sizes in bytes, namespace names upper-case, paths absolute."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

Port = Union[int, str]  # "auto" or 0..65535


@dataclass(frozen=True)
class Ports:
    superserver: Port = "auto"
    web: Union[Port, bool] = "auto"  # False: not published
    host_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class Credentials:
    username: str = "_SYSTEM"
    password: str = field(default="SYS", repr=False)

    def __repr__(self) -> str:  # never leak the password through a repr or a traceback
        return f"Credentials(username={self.username!r}, password='********')"


@dataclass(frozen=True)
class Services:
    callin: bool = True


@dataclass(frozen=True)
class Namespace:
    name: str
    pool: int = 1


@dataclass(frozen=True)
class Monitoring:
    enabled: bool = True
    interval: float = 30.0
    retention: float = 3600.0
    cpu_disable: int = 90
    cpu_enable: int = 85
    memory_disable: int = 95
    memory_enable: int = 90


@dataclass(frozen=True)
class Instance:
    name: str
    image: str
    edition: str = "community"
    license_key: Path | None = None
    reuse: str = "matching"
    memory: int = 2 * 1024**3
    cpus: float | None = None
    globals: int = 256 * 1024**2
    routines: int = 64 * 1024**2
    storage: str = "ephemeral"
    stop_timeout: float = 60.0
    merge: Path | None = None
    env: dict = field(default_factory=dict)
    ports: Ports = field(default_factory=Ports)
    credentials: Credentials = field(default_factory=Credentials)
    services: Services = field(default_factory=Services)
    namespaces: tuple = ()  # tuple[Namespace, ...], declaration order
    monitoring: Monitoring = field(default_factory=Monitoring)

    @property
    def default_namespace(self) -> str:
        return self.namespaces[0].name if self.namespaces else "USER"


@dataclass(frozen=True)
class Config:
    project: str
    instances: dict  # name -> Instance, declaration order
    path: Path | None = None  # None: zero-config default (no file found)
    origins: dict = field(default_factory=dict)  # "instances.iris.memory" -> "file:12" | ...

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def instance(self, name: str | None = None) -> Instance:
        from ..errors import IrisenvError, did_you_mean

        if name is None:
            return next(iter(self.instances.values()))
        try:
            return self.instances[name]
        except KeyError:
            hint = did_you_mean(name, self.instances)
            raise IrisenvError(
                f"no instance named {name!r} in the config",
                f"the config declares: {', '.join(self.instances)}" + (f"; {hint}" if hint else ""),
                "pass one of the declared instance names",
            ) from None
