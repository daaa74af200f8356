"""The typed, validated config. Built only by load.py; every value already normalized:
durations in seconds, sizes in bytes, namespace names upper-case, paths absolute.

Immutable records as typing.NamedTuple rather than dataclasses: `irisenv config validate`
loads this module, and dataclasses (with inspect) plus their generated methods cost
~15 ms there; NamedTuple keeps the class syntax, defaults and immutability."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Union

Port = Union[int, str]  # "auto" or 0..65535


class Ports(NamedTuple):
    superserver: Port = "auto"
    web: Union[Port, bool] = "auto"  # False: not published
    host_ip: str = "127.0.0.1"


class Credentials(NamedTuple):
    username: str = "_SYSTEM"
    password: str = "SYS"

    def __repr__(self) -> str:  # never leak the password through a repr or a traceback
        return f"Credentials(username={self.username!r}, password='********')"


class Services(NamedTuple):
    callin: bool = True


class Namespace(NamedTuple):
    name: str
    pool: int = 1


class Monitoring(NamedTuple):
    enabled: bool = True
    interval: float = 30.0
    retention: float = 3600.0
    cpu_disable: int = 90
    cpu_enable: int = 85
    memory_disable: int = 95
    memory_enable: int = 90


class Instance(NamedTuple):
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
    env: dict = {}  # never mutated: load.py always passes a dict of its own
    ports: Ports = Ports()
    credentials: Credentials = Credentials()
    services: Services = Services()
    namespaces: tuple = ()  # tuple[Namespace, ...], declaration order
    monitoring: Monitoring = Monitoring()

    @property
    def default_namespace(self) -> str:
        return self.namespaces[0].name if self.namespaces else "USER"


class Config(NamedTuple):
    project: str
    instances: dict  # name -> Instance, declaration order
    path: Path | None = None  # None: zero-config default (no file found)
    origins: dict = {}  # "instances.iris.memory" -> "file" | "default" | ...; load.py passes its own

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
