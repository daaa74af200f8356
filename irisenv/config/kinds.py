"""The kinds of config values. A key in spec.py names its kind by an object of one of these
classes, and the kind owns everything that depends on it:

* ``check(value, ctx, path)``: the validation and normalisation (ValueError with the
  message the user sees), ``why`` (the error's "why"), ``fix(field, value)`` (its "fix");
* ``default(value)``: the declared default (written as the file would write it) as the
  model holds it, e.g. "30s" -> 30 seconds;
* ``show(value)``: the value as ``config show`` / ``config get`` print it (a password masked);
* ``literal(value, raw)``: what ``config set`` writes for the text given on its command line;
* ``schema()``: its JSON Schema (schema.py adds the key's description and default).

Parameters such as a range or an enum's choices live on the object: ``Int(1, 32)``,
``Enum(("matching", "never", "always"))``. The loader, the schema, ``config show`` and
``config set`` ask the kind and switch on nothing; a new kind is one class here.

The key kinds of named tables ([instances.<name>], [...namespaces.<NAMESPACE>]) are at the
end: they check the user's table names and give their JSON Schema.
"""
from __future__ import annotations

import ipaddress
import posixpath
import re
from pathlib import Path
from typing import NamedTuple

from .. import names
from ..errors import did_you_mean
from . import units
from .interpolate import interpolate
from .mask import MASK, is_secret_key

# A string with ${...} is checked after interpolation, so the schema lets it through.
_INTERP = r"\$\{"
_LONE_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def interp_or(pattern: str) -> dict:
    """JSON Schema: a string matching ``pattern``, or one with a ${...} in it."""
    return {"type": "string", "anyOf": [{"pattern": pattern}, {"pattern": _INTERP}]}


def type_name(v) -> str:
    """The TOML type of a parsed value, for messages: "a string", "a table", ..."""
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            dict: "a table", list: "an array"}.get(type(v), type(v).__name__)


def reference_error(exc: ValueError, value: str, secret: bool) -> str:
    """The interpolation error for ``value``. A secret value is never quoted, not even in
    part (a "${...}" may be the password's own text), unless it is one lone ${NAME}: then
    the variable is what the user wrote, and its name is what they need to know."""
    if not secret or _LONE_REFERENCE.fullmatch(value):
        return str(exc)
    return ("a ${...} in this secret value names an unset variable or is malformed "
            "(the value is not shown; write a literal $ as $$)")


def _need(value, types, what: str, show: bool = True):
    """Raise unless ``value`` is one of ``types``; ``show=False`` keeps the value (a
    password) out of the message."""
    if isinstance(value, bool) and bool not in types:
        raise ValueError(f"must be {what}, not a boolean")
    if not isinstance(value, types):
        raise ValueError(f"must be {what}, not {type_name(value)}" + (f" ({value!r})" if show else ""))


class Kind:
    """One kind of value; the subclasses say what differs. ``ctx`` in ``check`` is the
    loader's validator: ``base_dir``, ``environ`` and ``fail`` (for a problem in one entry
    of a table value)."""

    __slots__ = ()
    why: str | None = None  # the "why" of a refused value; None: the key's own doc
    stringy = True  # `config set`: text that reads as another TOML type stays text
    secret = False  # never quoted in a message, not even in part
    entries = False  # a table of user-named entries (env): `config set` may name one

    def check(self, value, ctx, path: tuple):
        raise NotImplementedError

    def default(self, value):
        return value

    def show(self, value):
        return value

    def literal(self, value, raw: str):
        """``value`` is ``raw`` read as a TOML literal (or ``raw`` when it is none)."""
        return raw if self.stringy and not isinstance(value, str) else value

    def schema(self) -> dict:
        raise NotImplementedError

    def fix(self, field, value) -> str:
        from .render import toml_value

        if field.default is None:
            return f"see {field.name} in `irisenv config example`"
        return f"write e.g. {field.name} = {toml_value(field.default)} (the default)"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Str(Kind):
    __slots__ = ()

    def check(self, value, ctx, path):
        _need(value, (str,), "a string")
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    def schema(self):
        return {"type": "string", "minLength": 1}


class Image(Str):
    """An image reference: a string without white space."""

    __slots__ = ()

    def check(self, value, ctx, path):
        value = super().check(value, ctx, path)
        if any(ch.isspace() for ch in value) or value != value.strip():
            raise ValueError(f"image {value!r} contains white space")
        return value


class Bool(Kind):
    __slots__ = ()
    stringy = False

    def check(self, value, ctx, path):
        _need(value, (bool,), "true or false")
        return value

    def schema(self):
        return {"type": "boolean"}


class _Ranged(Kind):
    """A number with an optional minimum and maximum (inclusive)."""

    __slots__ = ("minimum", "maximum")
    stringy = False

    def __init__(self, minimum: float | None = None, maximum: float | None = None):
        self.minimum = minimum
        self.maximum = maximum

    def in_range(self, value, shown=None):
        shown = value if shown is None else shown
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{shown} is below the minimum {self.bound(self.minimum)}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{shown} is above the maximum {self.bound(self.maximum)}")

    def bound(self, b) -> str | float:
        return int(b) if float(b).is_integer() else b

    def range_schema(self, s: dict) -> dict:
        if self.minimum is not None:
            s["minimum"] = self.minimum
        if self.maximum is not None:
            s["maximum"] = self.maximum
        return s

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.minimum!r}, {self.maximum!r})"


class Int(_Ranged):
    __slots__ = ()

    def check(self, value, ctx, path):
        _need(value, (int,), "a whole number")
        self.in_range(value)
        return value

    def schema(self):
        return self.range_schema({"type": "integer"})


class Float(_Ranged):
    __slots__ = ()

    def check(self, value, ctx, path):
        _need(value, (int, float), "a number")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value} is not a finite number")
        self.in_range(float(value))
        return float(value)

    def literal(self, value, raw):
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # `config set ... cpus 2` writes 2.0
        return value

    def schema(self):
        return self.range_schema({"type": "number"})


class Duration(_Ranged):
    """A duration string ("30s"); the model holds seconds. The range is in seconds."""

    __slots__ = ()
    stringy = True
    why = "durations are a whole number and one unit: ms, s, m or h"

    def check(self, value, ctx, path):
        _need(value, (str,), 'a duration string such as "30s"')
        seconds = units.parse_duration(value)
        self.in_range(seconds, shown=repr(value))
        return seconds

    def bound(self, b):
        return units.format_duration(b)

    def default(self, value):
        return units.parse_duration(value)

    def show(self, value):
        return units.format_duration(value)

    def schema(self):
        return interp_or(units.DURATION_PATTERN)


class Size(Kind):
    """A size string ("512m"); the model holds bytes. With a minimum (bytes) it is an IRIS
    cache size, which IRIS takes in whole megabytes."""

    __slots__ = ("minimum",)
    why = "sizes are a whole number and one unit: k, m or g (binary)"

    def __init__(self, minimum: int | None = None):
        self.minimum = minimum

    def check(self, value, ctx, path):
        _need(value, (str,), 'a size string such as "512m"')
        size = units.parse_size(value)
        if self.minimum is not None:  # IRIS takes these in whole MB; 0 would mean "automatic"
            if size % (1024**2):
                raise ValueError(f"{value!r} is not a whole number of megabytes (IRIS takes MB)")
            if size < self.minimum:
                raise ValueError(f"{value!r} is too small (at least "
                                 f"{units.format_size(int(self.minimum))})")
        if size < 4 * 1024**2:
            raise ValueError(f"{value!r} is too small (at least 4m)")
        return size

    def default(self, value):
        return units.parse_size(value)

    def show(self, value):
        return units.format_size(value)

    def schema(self):
        return interp_or(units.SIZE_PATTERN)

    def __repr__(self) -> str:
        return f"Size({self.minimum!r})"


class Enum(Kind):
    __slots__ = ("choices",)

    def __init__(self, choices: tuple):
        self.choices = tuple(choices)

    def check(self, value, ctx, path):
        _need(value, (str,), f"one of {', '.join(self.choices)}")
        if value not in self.choices:
            hint = did_you_mean(value, self.choices)
            raise ValueError(f"{value!r} is not one of {', '.join(self.choices)}"
                             + (f" ({hint})" if hint else ""))
        return value

    def fix(self, field, value):
        return f"write one of: {', '.join(repr(c) for c in self.choices)}"

    def schema(self):
        return {"type": "string", "anyOf": [{"enum": list(self.choices)}, {"pattern": _INTERP}]}

    def __repr__(self) -> str:
        return f"Enum({self.choices!r})"


class FilePath(Kind):
    """A file path; relative to the config file's directory, ~ expanded. The model holds
    an absolute pathlib.Path."""

    __slots__ = ()

    def check(self, value, ctx, path):
        _need(value, (str,), "a file path")
        if not value.strip():
            raise ValueError("must not be empty")
        p = Path(value).expanduser()
        return p if p.is_absolute() else (ctx.base_dir / p)

    def show(self, value):
        return str(value)

    def schema(self):
        return {"type": "string", "minLength": 1}


class IpAddress(Kind):
    __slots__ = ()

    def check(self, value, ctx, path):
        _need(value, (str,), "an IP address")
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address (e.g. 127.0.0.1)") from None

    def schema(self):
        return {"type": "string",
                "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}, {"pattern": _INTERP}]}


class HostIp(IpAddress):
    """An IP address, or "engine-host": the engine host's address as this machine reaches
    it (127.0.0.1 for a local engine), worked out when irisenv talks to the engine."""

    __slots__ = ()
    ENGINE_HOST = "engine-host"

    def check(self, value, ctx, path):
        if value == self.ENGINE_HOST:
            return value
        try:
            return super().check(value, ctx, path)
        except ValueError:
            raise ValueError(f'{value!r} is not an IP address (e.g. 127.0.0.1) or '
                             f'"{self.ENGINE_HOST}"') from None

    def schema(self):
        s = super().schema()
        s["anyOf"].insert(2, {"const": self.ENGINE_HOST})
        return s


class EngineEndpoint(Str):
    """A Docker endpoint URL (unix://, tcp://, ssh://, npipe://, http(s)://) or the name
    of a docker context."""

    __slots__ = ()
    why = ("the engine is an endpoint URL, as DOCKER_HOST takes it, or the name of a "
           "docker context (`docker context ls`)")
    _CONTEXT = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$")  # the Docker CLI's context names
    _SCHEMES = ("unix", "tcp", "ssh", "npipe", "http", "https")  # engine.DOCKER_SCHEMES

    def check(self, value, ctx, path):
        value = super().check(value, ctx, path)
        if "://" in value:
            scheme = value.split("://", 1)[0].lower()
            if scheme not in self._SCHEMES:
                raise ValueError(f"{scheme}:// is not an engine endpoint: write "
                                 + ", ".join(s + "://" for s in self._SCHEMES)
                                 + " or a docker context's name")
            if any(ch.isspace() for ch in value):
                raise ValueError(f"engine {value!r} contains white space")
            rest = value.split("://", 1)[1]
            if scheme in ("unix", "npipe"):
                if not rest.strip("/"):
                    raise ValueError(f"engine {value!r} names no socket path")
                return value
            from urllib.parse import urlsplit

            try:
                parts = urlsplit(value)
                host, _port = parts.hostname, parts.port  # .port raises on a bad port
            except ValueError as exc:
                raise ValueError(f"engine {value!r} is not a valid URL: {exc}") from None
            if not host:
                raise ValueError(f"engine {value!r} names no host")
            return value
        if not self._CONTEXT.match(value):
            raise ValueError(f"{value!r} is neither an endpoint URL (ssh://user@host, "
                             "tcp://host:2376) nor a docker context's name")
        return value

    def fix(self, field, value):
        return 'write e.g. engine = "ssh://me@buildbox" or engine = "buildbox" (a context)'

    def schema(self):
        return {"type": "string", "anyOf": [
            {"pattern": "^(" + "|".join(self._SCHEMES) + ")://\\S+$"},
            {"pattern": self._CONTEXT.pattern}, {"pattern": _INTERP}]}


class Port(Kind):
    """A host port: "auto" or 0 (Docker assigns one), or 1..65535."""

    __slots__ = ()
    stringy = False
    why = 'ports are "auto" or 0 (Docker assigns one) or 1..65535'

    def check(self, value, ctx, path):
        if value == "auto":
            return value
        if isinstance(value, str):
            raise ValueError(f'{value!r} is not a port: write "auto", 0 or 1..65535')
        _need(value, (int,), '"auto", 0 or a port number 1..65535')
        if not 0 <= value <= 65535:
            raise ValueError(f"{value} is not a port number (0..65535)")
        return value

    def schema(self):
        return {"anyOf": [{"const": "auto"}, {"type": "integer", "minimum": 0, "maximum": 65535}]}


class PortRange(Kind):
    """A range of host ports, "FIRST-LAST"; the model holds the text as written."""

    __slots__ = ()
    why = 'a port range is "FIRST-LAST", both 1..65535, e.g. "41972-42971"'

    def check(self, value, ctx, path):
        from ..core.ports import parse_range

        _need(value, (str,), 'a port range such as "41972-42971"')
        parse_range(value)
        return value

    def schema(self):
        return interp_or(r"^[0-9]{1,5}-[0-9]{1,5}$")


class WebPort(Port):
    """A port, or false: not published."""

    __slots__ = ()
    why = 'ports are "auto", 0, 1..65535, or false to not publish'

    def check(self, value, ctx, path):
        if value is False:
            return False
        if value is True:
            raise ValueError('true is not a port: write "auto", a number, or false to not publish')
        return super().check(value, ctx, path)

    def schema(self):
        s = super().schema()
        s["anyOf"].append({"const": False})
        return s


class UserName(Kind):
    __slots__ = ()
    why = "user names reach IRIS and must be plain identifiers"

    def check(self, value, ctx, path):
        _need(value, (str,), "a user name")
        return names.username(value)

    def schema(self):
        return interp_or(names.USERNAME_PATTERN)


class Password(Kind):
    """Never shown: masked by ``show``, never quoted in a message."""

    __slots__ = ()
    why = "passwords travel through the environment and must be one printable line"
    secret = True

    def check(self, value, ctx, path):
        _need(value, (str,), "a string", show=False)
        return names.password(value)

    def show(self, value):
        return MASK

    def schema(self):
        # at most 128 characters after interpolation ("$$" shrinks to "$")
        return {"type": "string", "minLength": 1,
                "anyOf": [{"maxLength": 128}, {"pattern": r"\$[{$]"}]}


class ProjectName(Kind):
    """The project name: Docker-safe, since it prefixes container names."""

    __slots__ = ()
    why = "the project name prefixes Docker container names"

    def check(self, value, ctx, path):
        _need(value, (str,), "a name")
        return names.docker_name(value, "project name")

    def fix(self, field, value):
        if isinstance(value, str):
            return f"write {field.name} = \"{names.sanitize_project_name(value)}\""
        return super().fix(field, value)

    def schema(self):
        return {"type": "string", "anyOf": [
            {"pattern": names.DOCKER_NAME_PATTERN, "maxLength": names.DOCKER_NAME_MAX},
            {"pattern": _INTERP}]}


class EnvMap(Kind):
    """A table of environment variables: NAME = "text" (numbers become text). ``reserved``:
    names irisenv sets itself (the loader refuses them; the schema too)."""

    __slots__ = ("reserved",)
    stringy = False
    entries = True

    def __init__(self, reserved: frozenset = frozenset()):
        self.reserved = reserved

    def check(self, value, ctx, path):
        _need(value, (dict,), "a table of NAME = \"value\" pairs")
        out = {}
        for key, val in value.items():
            try:
                names.env_key(key)
            except ValueError as exc:
                ctx.fail(path + (key,), str(exc), "these become container environment variables",
                         "rename it", at_value=False)
                continue
            if isinstance(val, bool) or not isinstance(val, (str, int, float)):
                ctx.fail(path + (key,), f"must be a string, not {type_name(val)}",
                         "environment values are text", f'write {key} = "..."')
                continue
            if isinstance(val, str):
                try:
                    val, _ = interpolate(val, ctx.environ)
                except ValueError as exc:
                    ctx.fail(path + (key,), reference_error(exc, val, is_secret_key(key)),
                             "values may use ${VAR} and ${VAR:-default}",
                             "set the variable or give a default")
                    continue
            out[key] = str(val)
        return out

    def default(self, value):
        return dict(value)

    def show(self, value):
        return dict(value)

    def schema(self):
        return {"type": "object", "propertyNames": {"pattern": names.ENV_KEY_PATTERN,
                                                    "not": {"enum": sorted(self.reserved)}},
                "additionalProperties": {"type": ["string", "integer", "number"]}}


class PoolSize(NamedTuple):
    """A namespace's pool: ``min`` clean copies kept ready, grown on demand up to ``max``."""

    min: int
    max: int


class Pool(Kind):
    """A namespace's ``pool``: a number N (N copies, min = max = N) or ``{ min = N, max = M }``
    with 1 <= min <= max <= ``limit``. Unset: no pool."""

    __slots__ = ("limit",)
    stringy = False
    why = "pool is how many copies of the namespace are kept for tests: a number, or { min = N, max = M }"

    def __init__(self, limit: int):
        self.limit = limit

    def check(self, value, ctx, path):
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"min", "max"})
            if unknown:
                raise ValueError(f"unknown key {unknown[0]!r} in the pool table (it takes min "
                                 "and max)")
            if "min" not in value or "max" not in value:
                raise ValueError("a pool table needs both min and max, e.g. "
                                 "{ min = 2, max = 16 }")
            low, high = (self._count(value[k], k) for k in ("min", "max"))
            if low > high:
                raise ValueError(f"min ({low}) is above max ({high})")
            return PoolSize(low, high)
        n = self._count(value, "pool")
        return PoolSize(n, n)

    def _count(self, value, what: str) -> int:
        _need(value, (int,), f"a whole number (or a {{ min = N, max = M }} table)"
              if what == "pool" else "a whole number")
        if not 1 <= value <= self.limit:
            raise ValueError(f"{what} {value} is outside 1..{self.limit}")
        return value

    def show(self, value):
        return value.min if value.min == value.max else {"min": value.min, "max": value.max}

    def schema(self):
        count = {"type": "integer", "minimum": 1, "maximum": self.limit}
        return {"anyOf": [count, {"type": "object", "properties": {"min": count, "max": count},
                                  "required": ["min", "max"], "additionalProperties": False}]}

    def __repr__(self) -> str:
        return f"Pool({self.limit!r})"


class InitEntry(NamedTuple):
    """One entry of a namespace's ``init`` list. ``kind``: code (a class/routine file),
    codedir (a directory of them), sql, globals, fixture (a database fixture's directory,
    core/fixture.py) or run. ``rel`` is the path as written (relative to the config file's
    directory, "/" separated); ``path`` the absolute path; ``run`` the ObjectScript
    expression of a run entry."""

    kind: str
    rel: str = ""
    path: Path | None = None
    run: str = ""

    @property
    def label(self) -> str:
        return self.rel or f"run {self.run}"


CODE_EXTENSIONS = (".cls", ".mac", ".inc", ".int", ".xml")
INIT_EXTENSIONS = {**{e: "code" for e in CODE_EXTENSIONS}, ".sql": "sql", ".gof": "globals"}


class InitList(Kind):
    """A namespace's ``init``: an ordered list of paths (a directory of classes/routines,
    or a file whose kind follows its extension) and ``{ run = "<expression>" }`` tables,
    optionally starting with one ``{ fixture = "<directory>" }`` (it replaces the data
    database, so it can only come first). Paths are relative to the config file's
    directory and stay inside it."""

    __slots__ = ()
    stringy = False
    why = ("init lists what a namespace is initialised with, in order: paths relative to "
           "the config file's directory (a directory of .cls .mac .inc .int .xml files, or "
           "a .cls .mac .inc .int .xml .sql .gof file), { run = \"##class(...).M()\" } and, "
           "first, { fixture = \"<directory>\" }")

    def check(self, value, ctx, path):
        _need(value, (list,), "an array of paths and { run = \"...\" } tables")
        out = []
        for i, item in enumerate(value):
            sub = path + (str(i),)
            try:
                entry = self._entry(item, ctx)
            except ValueError as exc:
                ctx.fail(sub, str(exc), self.why,
                         'write e.g. init = ["src/", "sql/schema.sql", "data/seed.gof", '
                         '{ run = "##class(App.Setup).Run()" }]')
                continue
            if entry.kind == "fixture" and i > 0:
                ctx.fail(sub, "a { fixture = ... } entry must be the first entry of init",
                         "loading a fixture replaces the namespace's data database: whatever "
                         "the entries before it wrote there would be lost",
                         "move it to the front: init = [{ fixture = \"...\" }, \"src/\", ...] "
                         "(one fixture per namespace)")
                continue
            out.append(entry)
        return tuple(out)

    def _entry(self, item, ctx) -> InitEntry:
        if isinstance(item, dict):
            if set(item) == {"fixture"}:
                _need(item["fixture"], (str,), "a fixture directory (a path)")
                norm = self._inside(item["fixture"])
                return InitEntry("fixture", norm, ctx.base_dir / norm)
            if set(item) != {"run"}:
                raise ValueError("a table entry must be { run = \"<ObjectScript expression>\" } "
                                 "or { fixture = \"<fixture directory>\" } "
                                 f"(found keys: {', '.join(sorted(item)) or 'none'})")
            run = item["run"]
            _need(run, (str,), "an ObjectScript expression (a string)")
            if not run.strip() or any(c in run for c in "\r\n\x00"):
                raise ValueError("run must be one non-empty line of ObjectScript")
            return InitEntry("run", run=run.strip())
        _need(item, (str,), "a path or a { run = \"...\" } table")
        norm = self._inside(item)
        raw = item.strip().replace("\\", "/")
        full = ctx.base_dir / norm
        if full.is_dir():
            return InitEntry("codedir", norm, full)
        ext = posixpath.splitext(norm)[1].lower()
        if raw.endswith("/") or (ext not in INIT_EXTENSIONS and not full.exists()):
            raise ValueError(f"{item!r} does not exist (relative to the config file's directory)")
        if ext not in INIT_EXTENSIONS:
            raise ValueError(f"{item!r} has no known kind: a directory, or a file ending in "
                             + " ".join(list(CODE_EXTENSIONS) + [".sql", ".gof"]))
        return InitEntry(INIT_EXTENSIONS[ext], norm, full)

    @staticmethod
    def _inside(item: str) -> str:
        """``item`` normalised, "/" separated; ValueError when empty or outside the
        config file's directory (absolute, ``~``, or climbing out with ``..``)."""
        if not item.strip():
            raise ValueError("a path must not be empty")
        raw = item.strip().replace("\\", "/")
        norm = posixpath.normpath(raw)
        if raw.startswith(("/", "~")) or norm == ".." or norm.startswith("../"):
            raise ValueError(f"{item!r} is outside the project: init paths are relative to "
                             "the config file's directory and stay inside it")
        return norm

    def default(self, value):
        return tuple(value)

    def show(self, value):
        return [{"run": e.run} if e.kind == "run" else {"fixture": e.rel}
                if e.kind == "fixture" else e.rel for e in value]

    def schema(self):
        return {"type": "array", "items": {"anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "object", "properties": {"run": {"type": "string", "minLength": 1}},
             "required": ["run"], "additionalProperties": False},
            {"type": "object", "properties": {"fixture": {"type": "string", "minLength": 1}},
             "required": ["fixture"], "additionalProperties": False}]}}


# ---------------------------------------------------------------- names of named tables
class InstanceName:
    """[instances.<name>]: Docker-safe, as it is part of the container's name."""

    __slots__ = ()
    noun = "instance"
    placeholder = "<name>"

    def check(self, raw: str) -> str:
        return names.docker_name(raw, "instance name")

    def schema(self) -> dict:
        return {"pattern": names.DOCKER_NAME_PATTERN, "maxLength": names.DOCKER_NAME_MAX}


class NamespaceName:
    """[...namespaces.<NAMESPACE>]: an IRIS namespace name, upper-cased."""

    __slots__ = ()
    noun = "namespace"
    placeholder = "<NAMESPACE>"

    def check(self, raw: str) -> str:
        return names.namespace(raw)

    def schema(self) -> dict:
        # reserved names, case-insensitively (ECMA regexes have no inline (?i) flag)
        reserved = "|".join(
            "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in name)
            for name in sorted(names.RESERVED_NAMESPACES) if not name.startswith("%"))
        return {"pattern": names.NAMESPACE_PATTERN, "maxLength": names.NAMESPACE_MAX,
                "not": {"pattern": f"^({reserved})$"}}
