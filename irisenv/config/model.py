"""The typed, validated config. Built only by load.py; every value already normalized:
durations in seconds, sizes in bytes, namespace names upper-case, paths absolute.

The records are derived from spec.py: a table's record has one attribute per declared key,
in declaration order, defaulting to the key's default as the model holds it (a sub-table's
record; () for a table of named tables, which holds a tuple of their records); a named
table's record (Instance, Namespace) has its name first. The classes below only name the
records and add behaviour; a key added to spec.py is an attribute here without more ado.

Immutable records as named tuples rather than dataclasses: `irisenv config validate`
loads this module, and dataclasses (with inspect) plus their generated methods cost
~15 ms there; a named tuple gives keyword construction, defaults and immutability."""
from __future__ import annotations

from collections import namedtuple
from pathlib import Path
from typing import NamedTuple

from . import spec

_RECORDS: dict[int, tuple] = {}  # id(spec table) -> (the table, its record class)


def record_of(table: spec.Table) -> type | None:
    """The record class of a spec table (None for the root and [project])."""
    entry = _RECORDS.get(id(table))
    return entry[1] if entry is not None and entry[0] is table else None


def _default(item):
    if isinstance(item, spec.Field):
        return None if item.default is None else item.kind.default(item.default)
    if isinstance(item, spec.Table):
        return record_of(item)()
    return ()  # a table of named tables: their records, in declaration order


def _record(table: spec.Table, key: str | None = None):
    """Class decorator: the class becomes the record of ``table`` (a named tuple of its
    keys, ``key`` first and required), keeping the methods and properties it defines."""
    def make(cls: type) -> type:
        keys = [item.name for item in table.fields]
        base = namedtuple(cls.__name__, ([key] if key else []) + keys, module=__name__,
                          defaults=[_default(item) for item in table.fields])
        body = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
        record = type(cls.__name__, (base,), {**body, "__slots__": ()})
        _RECORDS[id(table)] = (table, record)
        return record
    return make


@_record(spec.PORTS)
class Ports:
    """superserver: "auto" or 0..65535; web: the same or False (not published); host_ip."""


@_record(spec.PORT_REGISTRY)
class PortRegistry:
    """The top-level [ports]: range, as written ("41972-42971")."""

    @property
    def port_range(self) -> tuple[int, int]:
        from ..core.ports import parse_range

        return parse_range(self.range)


@_record(spec.CREDENTIALS)
class Credentials:
    def __repr__(self) -> str:  # never leak the password through a repr or a traceback
        return f"Credentials(username={self.username!r}, password='********')"


@_record(spec.SERVICES)
class Services:
    pass


@_record(spec.NAMESPACE, key="name")
class Namespace:
    pass


@_record(spec.MONITORING)
class Monitoring:
    """interval and retention in seconds; the thresholds in percent."""


@_record(spec.INSTANCE, key="name")
class Instance:
    """memory, globals, routines in bytes; stop_timeout in seconds; license_key and merge
    absolute paths or None; env a dict never mutated; namespaces a tuple of Namespace."""

    @property
    def default_namespace(self) -> str:
        return self.namespaces[0].name if self.namespaces else "USER"


class Config(NamedTuple):
    project: str
    instances: dict  # name -> Instance, declaration order
    path: Path | None = None  # None: zero-config default (no file found)
    origins: dict = {}  # "instances.iris.memory" -> "file" | "default" | ...; load.py passes its own
    ports: PortRegistry = PortRegistry()  # the top-level [ports]
    engine: str | None = None  # [project] engine: an endpoint URL or a docker context's name

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
