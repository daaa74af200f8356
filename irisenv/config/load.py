"""Read, interpolate and validate iris-devtester.toml into a typed Config.

Every problem becomes a ConfigIssue with file, line, column, key path, what, why and fix;
all problems of a document are reported together. No traceback reaches the user.
"""
from __future__ import annotations

import ipaddress
import os
import re
import shlex
import tomllib
from pathlib import Path

from .. import names
from ..errors import ConfigError, ConfigIssue, IrisenvError, did_you_mean
from . import memory, model, spec, units
from .interpolate import interpolate
from .mask import is_secret_key, mask_secret_values

ENV_CONFIG = "IRISENV_CONFIG"


# ---------------------------------------------------------------- discovery
def working_dir() -> Path:
    """The working directory, or a clear error when it was deleted under the shell."""
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise IrisenvError("the working directory no longer exists",
                           "it was deleted (or replaced) after the shell entered it; irisenv "
                           "finds the config and its relative paths from there",
                           'cd into an existing directory (`cd "$PWD"` re-enters it if it was '
                           "re-created), then run the command again") from None


def find_config(cwd: Path | None = None, environ=None) -> tuple[Path | None, str]:
    """Return (path or None, how it was found). Order: IRISENV_CONFIG, then walk up.

    A candidate that is a symbolic link to nothing (broken, or a loop) is returned too, so
    that reading it reports the problem instead of silently using the zero-config default."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG]).expanduser(), f"${ENV_CONFIG}"
    here = (cwd or working_dir()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / spec.CONFIG_FILENAME
        if candidate.is_file() or candidate.is_symlink():
            return candidate, "found by walking up from the working directory"
    return None, "no config file found: zero-config default"


def load_config(path: str | os.PathLike | None = None, *, cwd: Path | None = None,
                environ=None) -> model.Config:
    """Load the project's config: ``path`` if given, else discovered (see find_config)."""
    environ = os.environ if environ is None else environ
    if path is None:
        found, how = find_config(cwd, environ)
    else:
        found, how = Path(path).expanduser(), "-c/--config"
    if found is None:
        base = (cwd or working_dir()).resolve()
        return parse_config("", None, environ=environ, default_project=base.name, base_dir=base)
    from .. import userfiles

    try:  # missing, a broken link, a loop, a directory: said precisely (_unreadable)
        if os.path.isdir(found):
            raise IsADirectoryError(21, "is a directory")
        os.stat(found)
    except OSError as exc:
        raise ConfigError([_unreadable(found, how, exc)]) from None
    try:  # bounded, never through a FIFO or a device, no content quoted (userfiles)
        data = userfiles.read(found, how, what="config file")
        text = userfiles.text(data, found, how, what="config file", drop_bom=False)
    except userfiles.UserFileError as exc:
        raise ConfigError([ConfigIssue(
            "", exc.detail, exc.why,
            "point -c/--config (or $IRISENV_CONFIG) at your iris-devtester.toml, a regular "
            "UTF-8 file", file=str(found))]) from None
    resolved = found.resolve()
    return parse_config(text, resolved, environ=environ, default_project=resolved.parent.name,
                        base_dir=resolved.parent)


def _unreadable(found: Path, how: str, exc: Exception) -> ConfigIssue:
    """Why the config file at ``found`` (named by ``how``) could not be read."""
    import errno

    named = ("it was found by walking up from the working directory" if how.startswith("found")
             else f"it was named by {how}")
    if isinstance(exc, UnicodeDecodeError):
        return ConfigIssue("", f"{found} is not UTF-8 text", f"{exc}; {named}",
                           "save it as UTF-8 (TOML files are UTF-8)", file=str(found))
    if exc.errno == errno.ELOOP:
        return ConfigIssue("", f"config file {found} is a symbolic link loop",
                           f"following its links never reaches a file; {named}",
                           f"point the link at a real file (`ls -l {found}` shows where it "
                           "leads), or remove it", file=str(found))
    if isinstance(exc, FileNotFoundError) and found.is_symlink():
        return ConfigIssue("", f"config file {found} is a broken symbolic link "
                               f"(to {os.readlink(found)}, which does not exist)",
                           named, "point the link at an existing file, or remove it",
                           file=str(found))
    if isinstance(exc, FileNotFoundError):
        return ConfigIssue("", f"config file {found} does not exist", named,
                           "create it with `irisenv config init`, or point to an existing file",
                           file=str(found))
    if isinstance(exc, IsADirectoryError):
        return ConfigIssue("", f"config file {found} is a directory", named,
                           f"name the file itself, e.g. {found / spec.CONFIG_FILENAME}",
                           file=str(found))
    return ConfigIssue("", f"cannot read {found}", exc.strerror or str(exc),
                       "check the file's permissions", file=str(found))


# ---------------------------------------------------------------- parsing
_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_config(text: str, path: Path | None, *, environ=None, default_project: str = "",
                 base_dir: Path | None = None) -> model.Config:
    """Pure: validate ``text`` (the contents of ``path``) and return the Config."""
    environ = os.environ if environ is None else environ
    display = _display_path(path)
    if text.startswith("\ufeff"):
        # Python's TOML parser (tomllib) rejects a byte-order mark, and so would any other
        # Python tool reading the file; irisenv names it rather than accept what they refuse
        raise ConfigError([ConfigIssue(
            "", "the file starts with a UTF-8 byte-order mark (BOM)",
            "an editor saved it as \"UTF-8 with BOM\"; the TOML parser irisenv uses (Python's "
            "tomllib) does not accept the invisible mark before the first line",
            "save the file as UTF-8 without BOM (the editor's encoding setting), or strip it: "
            f"sed -i '1s/^\\xEF\\xBB\\xBF//' {shlex.quote(display)}",
            file=display, line=1, column=1)])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_POS.search(msg)
        line = col = None
        if m:
            line, col = int(m.group(1)), int(m.group(2))
        what = _TOML_POS.sub("", msg).strip()
        lines = mask_secret_values(text).splitlines()
        src = lines[line - 1] if line and line <= len(lines) else None
        raise ConfigError([ConfigIssue(
            "", f"TOML syntax error: {what}", "the file is not valid TOML",
            "fix the syntax at the marked spot (strings need quotes; tables are [name])",
            file=display, line=line, column=col, source_line=src)]) from None
    v = _Validator(text, display, environ, base_dir or (path.parent if path else working_dir()))
    cfg = v.build(data, default_project, path)
    if v.issues:
        raise ConfigError(v.locate_all())
    return cfg


def _place(text: str, pending: list[tuple[tuple, bool, ConfigIssue]]) -> list[ConfigIssue]:
    """The issues, each at the line and column where its key path is written in ``text``
    (at the value when ``at_value``), with that source line (secrets masked); in file order."""
    from .locate import find, locate

    locs = locate(text) if text else {}
    lines = mask_secret_values(text).splitlines()
    out = []
    for path, at_value, issue in pending:
        loc = find(locs, path)
        if loc is not None:
            issue.line = loc.line
            issue.column = loc.value_col if (at_value and loc.value_col) else loc.key_col
            issue.source_line = lines[loc.line - 1] if loc.line <= len(lines) else None
        out.append(issue)
    out.sort(key=lambda i: (i.line or 0, i.column or 0))
    return out


def check_files(cfg: model.Config) -> list[ConfigIssue]:
    """Every problem with the files the config names: a merge or licence file that is
    missing, unreadable, not a regular file, over 1 MiB, or not what it should be (see
    irisenv.userfiles). It reads those files, so it is a step of its own, run by `config
    validate` and `doctor`; load_config stays free of it (a missing licence file must not
    stop `config show` or `down`)."""
    from .. import userfiles

    display = _display_path(cfg.path)
    pending = []
    for name, inst in cfg.instances.items():
        for exc in userfiles.problems(inst):
            field = exc.key.rsplit(".", 1)[1]
            pending.append((("instances", name, field), True,
                            ConfigIssue(exc.key, exc.detail, exc.why, exc.fix, file=display)))
    if not pending:
        return []
    text = ""
    if cfg.path is not None:
        try:  # read again only to locate the keys; unreadable now: unlocated issues
            text = userfiles.text(userfiles.read(cfg.path, "-c/--config"), cfg.path, "-c/--config")
        except userfiles.UserFileError:
            pass
    return _place(text, pending)


def _display_path(path: Path | None) -> str:
    if path is None:
        return "<default config>"
    try:
        return os.path.relpath(path)
    except ValueError:  # other drive on Windows
        return str(path)


class _Validator:
    def __init__(self, text: str, display: str, environ, base_dir: Path):
        self.text = text
        self.display = display
        self.environ = environ
        self.base_dir = base_dir
        self.issues: list[tuple[tuple, bool, ConfigIssue]] = []  # (path, at_value, issue)
        self.origins: dict[str, str] = {}

    # -- issue collection and location
    def fail(self, path: tuple, what: str, why: str = "", fix: str = "", at_value: bool = True):
        self.issues.append((path, at_value, ConfigIssue(".".join(path), what, why, fix,
                                                        file=self.display)))

    def locate_all(self) -> list[ConfigIssue]:
        return _place(self.text, self.issues)

    def origin_of(self, path: tuple, how: str) -> None:
        self.origins[".".join(path)] = how

    # -- generic table walk
    def table(self, tspec: spec.Table, data, path: tuple) -> dict:
        if not isinstance(data, dict):
            self.fail(path, f"must be a table, not {_tname(data)}",
                      "this key holds a group of settings",
                      f"write it as a table: [{'.'.join(path)}]")
            data = {}
        known = {f.name: f for f in tspec.fields}
        for key in data:
            if key not in known:
                hint = did_you_mean(key, known)
                self.fail(path + (key,), f"unknown key {key!r}",
                          f"{'.'.join(path) or 'the top level'} accepts: {', '.join(known)}",
                          hint or "remove it, or check the spelling (`irisenv config "
                                  "example` shows every key)", at_value=False)
        out = {}
        for name, item in known.items():
            sub = path + (name,)
            present = name in data
            if isinstance(item, spec.Field):
                if present:
                    self.origin_of(sub, "file")
                    out[name] = self.field(item, data[name], sub)
                else:
                    out[name] = self.default(item, sub)
            elif isinstance(item, spec.Table):
                out[name] = self.table(item, data.get(name, {}), sub)
            else:
                out[name] = self.named(item, data.get(name), sub)
        return out

    def named(self, nspec: spec.Named, data, path: tuple) -> dict:
        if data is None:
            data = {k: {} for k in nspec.default_keys}
        if not isinstance(data, dict):
            self.fail(path, f"must be a table of named tables, not {_tname(data)}",
                      f"each entry is [{'.'.join(path)}.<name>]",
                      f"write [{'.'.join(path)}.<name>] tables")
            return {}
        out: dict = {}
        seen: dict[str, str] = {}
        for raw_key, value in data.items():
            sub = path + (raw_key,)
            try:
                if nspec.key_kind == "instance":
                    key = names.docker_name(raw_key, "instance name")
                else:
                    key = names.namespace(raw_key)
            except ValueError as exc:
                self.fail(sub, str(exc), "names reach Docker and IRIS and must be safe there",
                          "rename it", at_value=False)
                continue
            if key in seen:
                self.fail(sub, f"{raw_key!r} is declared twice (as {seen[key]!r} too)",
                          "IRIS namespace names are not case-sensitive",
                          "keep one of the two tables", at_value=False)
                continue
            seen[key] = raw_key
            out[key] = self.table(nspec.item, value, sub)
        if not out and nspec.key_kind == "instance" and not self.issues:
            self.fail(path, "declares no instance", "an empty [instances] table has nothing to sync",
                      f"add one, e.g. [instances.{spec.DEFAULT_INSTANCE}]", at_value=False)
        return out

    def default(self, f: spec.Field, path: tuple):
        self.origin_of(path, "default")
        if f.default is None:
            return None
        if f.kind in ("duration", "size"):
            return self.field(f, f.default, path)
        if isinstance(f.default, dict):
            return dict(f.default)
        return f.default

    # -- one scalar
    def field(self, f: spec.Field, value, path: tuple):
        if isinstance(value, str):
            try:
                value, used = interpolate(value, self.environ)
            except ValueError as exc:
                self.fail(path, _reference_error(exc, value, f.kind == "password"),
                          "values may use ${VAR} and ${VAR:-default}",
                          "set the variable or give a default")
                return None  # not the raw default: sizes/durations would stay unparsed
            if used:
                self.origin_of(path, "file, " + ", ".join(used))
        try:
            return _CHECKS[f.kind](self, f, value, path)
        except ValueError as exc:
            fix = _fix(f)
            if f.kind == "docker_name" and isinstance(value, str):
                fix = f"write {f.name} = \"{names.sanitize_project_name(value)}\""
            self.fail(path, str(exc), _WHY.get(f.kind, f.doc), fix)
            return None

    # -- whole-document build
    def build(self, data: dict, default_project: str, path: Path | None) -> model.Config:
        raw = self.table(spec.ROOT, data, ())
        project = raw["project"]["name"]
        if project is None:
            project = names.sanitize_project_name(default_project)
            self.origin_of(("project", "name"), "default (the config file's directory name)"
                           if path else "default (the working directory's name)")
        instances = {}
        for name, inst in raw["instances"].items():
            instances[name] = self.instance(name, inst, ("instances", name))
        self.cross_instance(instances)
        return model.Config(project=project, instances=instances, path=path, origins=self.origins)

    def instance(self, name: str, r: dict, path: tuple) -> model.Instance:
        p, c, s, m = r["ports"], r["credentials"], r["services"], r["monitoring"]
        inst = model.Instance(
            name=name, image=r["image"], edition=r["edition"], license_key=r["license_key"],
            reuse=r["reuse"], memory=r["memory"], cpus=r["cpus"], globals=r["globals"],
            routines=r["routines"], storage=r["storage"], stop_timeout=r["stop_timeout"],
            merge=r["merge"], env=r["env"] or {},
            ports=model.Ports(p["superserver"], p["web"], p["host_ip"]),
            credentials=model.Credentials(c["username"], c["password"]),
            services=model.Services(s["callin"]),
            namespaces=tuple(model.Namespace(n, v["pool"]) for n, v in r["namespaces"].items()),
            monitoring=model.Monitoring(**m),
        )
        self.cross_field(inst, path)
        return inst

    def cross_field(self, i: model.Instance, path: tuple) -> None:
        if i.license_key is not None and i.edition != "enterprise":
            self.fail(path + ("license_key",), "license_key is set but edition is not enterprise",
                      "Community images carry their own licence; a key is only for enterprise images",
                      'remove license_key, or set edition = "enterprise"')
        if i.edition == "enterprise" and i.license_key is None:
            self.fail(path + ("edition",), "edition is enterprise but no license_key is set",
                      "enterprise IRIS does not start usefully without a licence key",
                      'add license_key = "path/to/iris.key"')
        if None not in (i.memory, i.globals, i.routines):
            need = memory.floor(i.globals, i.routines)
            if need > i.memory:
                self.fail(path + ("memory",),
                          f"memory {units.format_size(i.memory)} is too small for globals "
                          f"{units.format_size(i.globals)} + routines "
                          f"{units.format_size(i.routines)}",
                          "besides its caches IRIS allocates, at its defaults, "
                          f"{memory.parts(i.globals)}; the container would be killed for "
                          "running out of memory",
                          f'raise memory to at least "{units.format_size(need)}"'
                          " or lower globals/routines")
        mon = i.monitoring
        for low, high in (("cpu_enable", "cpu_disable"), ("memory_enable", "memory_disable")):
            lv, hv = getattr(mon, low), getattr(mon, high)
            if lv is not None and hv is not None and lv >= hv:
                self.fail(path + ("monitoring", low), f"{low} ({lv}) must be below {high} ({hv})",
                          "collection pauses at the upper threshold and resumes below the lower "
                          "one; equal or inverted values would flap",
                          f"set {low} lower than {high}, e.g. {max(hv - 5, 0)}")
        if mon.retention is not None and mon.interval is not None and mon.retention < mon.interval:
            self.fail(path + ("monitoring", "retention"),
                      f"retention ({units.format_duration(mon.retention)}) is shorter than "
                      f"interval ({units.format_duration(mon.interval)})",
                      "no sample would ever be kept", "make retention at least the interval")
        for key in i.env:
            if key in spec.MANAGED_ENV:
                self.fail(path + ("env", key), f"{key} is set by irisenv itself",
                          "irisenv manages it (storage and merge settings)",
                          "remove it from env; use the storage / merge keys instead", at_value=False)

    def cross_instance(self, instances: dict) -> None:
        taken: dict = {}
        for name, inst in instances.items():
            for which in ("superserver", "web"):
                port = getattr(inst.ports, which)
                if isinstance(port, int) and not isinstance(port, bool) and port > 0:
                    key = (inst.ports.host_ip, port)
                    if key in taken:
                        self.fail(("instances", name, "ports", which),
                                  f"host port {port} is also used by {taken[key]}",
                                  "two containers cannot publish the same host port",
                                  'use another port, or "auto"')
                    else:
                        taken[key] = f"instances.{name}.ports.{which}"


# ---------------------------------------------------------------- per-kind checks
def _tname(v) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            dict: "a table", list: "an array"}.get(type(v), type(v).__name__)


_LONE_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def _reference_error(exc: ValueError, value: str, secret: bool) -> str:
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
        raise ValueError(f"must be {what}, not {_tname(value)}" + (f" ({value!r})" if show else ""))


def _range(f: spec.Field, value, shown=None):
    shown = value if shown is None else shown
    if f.minimum is not None and value < f.minimum:
        raise ValueError(f"{shown} is below the minimum {_bound(f, f.minimum)}")
    if f.maximum is not None and value > f.maximum:
        raise ValueError(f"{shown} is above the maximum {_bound(f, f.maximum)}")


def _bound(f: spec.Field, b):
    return units.format_duration(b) if f.kind == "duration" else (int(b) if float(b).is_integer() else b)


def _c_str(v, f, value, path):
    _need(value, (str,), "a string")
    if not value.strip():
        raise ValueError("must not be empty")
    if f.name == "image" and (any(ch.isspace() for ch in value) or value != value.strip()):
        raise ValueError(f"image {value!r} contains white space")
    return value


def _c_bool(v, f, value, path):
    _need(value, (bool,), "true or false")
    return value


def _c_int(v, f, value, path):
    _need(value, (int,), "a whole number")
    _range(f, value)
    return value


def _c_float(v, f, value, path):
    _need(value, (int, float), "a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{value} is not a finite number")
    _range(f, float(value))
    return float(value)


def _c_enum(v, f, value, path):
    _need(value, (str,), f"one of {', '.join(f.choices)}")
    if value not in f.choices:
        hint = did_you_mean(value, f.choices)
        raise ValueError(f"{value!r} is not one of {', '.join(f.choices)}"
                         + (f" ({hint})" if hint else ""))
    return value


def _c_duration(v, f, value, path):
    _need(value, (str,), 'a duration string such as "30s"')
    seconds = units.parse_duration(value)
    _range(f, seconds, shown=repr(value))
    return seconds


def _c_size(v, f, value, path):
    _need(value, (str,), 'a size string such as "512m"')
    size = units.parse_size(value)
    if f.minimum is not None:  # IRIS takes these in whole MB; 0 would mean "automatic"
        if size % (1024**2):
            raise ValueError(f"{value!r} is not a whole number of megabytes (IRIS takes MB)")
        if size < f.minimum:
            raise ValueError(f"{value!r} is too small (at least {units.format_size(int(f.minimum))})")
    if size < 4 * 1024**2:
        raise ValueError(f"{value!r} is too small (at least 4m)")
    return size


def _c_path(v, f, value, path):
    _need(value, (str,), "a file path")
    if not value.strip():
        raise ValueError("must not be empty")
    p = Path(value).expanduser()
    return p if p.is_absolute() else (v.base_dir / p)


def _c_ip(v, f, value, path):
    _need(value, (str,), "an IP address")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address (e.g. 127.0.0.1)") from None


def _c_port(v, f, value, path):
    if value == "auto":
        return value
    if isinstance(value, str):
        raise ValueError(f'{value!r} is not a port: write "auto", 0 or 1..65535')
    _need(value, (int,), '"auto", 0 or a port number 1..65535')
    if not 0 <= value <= 65535:
        raise ValueError(f"{value} is not a port number (0..65535)")
    return value


def _c_web_port(v, f, value, path):
    if value is False:
        return False
    if value is True:
        raise ValueError('true is not a port: write "auto", a number, or false to not publish')
    return _c_port(v, f, value, path)


def _c_username(v, f, value, path):
    _need(value, (str,), "a user name")
    return names.username(value)


def _c_password(v, f, value, path):
    _need(value, (str,), "a string", show=False)
    return names.password(value)


def _c_docker_name(v, f, value, path):
    _need(value, (str,), "a name")
    return names.docker_name(value, "project name")


def _c_env_map(v, f, value, path):
    _need(value, (dict,), "a table of NAME = \"value\" pairs")
    out = {}
    for key, val in value.items():
        try:
            names.env_key(key)
        except ValueError as exc:
            v.fail(path + (key,), str(exc), "these become container environment variables",
                   "rename it", at_value=False)
            continue
        if isinstance(val, bool) or not isinstance(val, (str, int, float)):
            v.fail(path + (key,), f"must be a string, not {_tname(val)}",
                   "environment values are text", f'write {key} = "..."')
            continue
        if isinstance(val, str):
            try:
                val, _ = interpolate(val, v.environ)
            except ValueError as exc:
                v.fail(path + (key,), _reference_error(exc, val, is_secret_key(key)),
                       "values may use ${VAR} and ${VAR:-default}",
                       "set the variable or give a default")
                continue
        out[key] = str(val)
    return out


_CHECKS = {
    "str": _c_str, "bool": _c_bool, "int": _c_int, "float": _c_float, "enum": _c_enum,
    "duration": _c_duration, "size": _c_size, "path": _c_path, "ip": _c_ip, "port": _c_port,
    "web_port": _c_web_port, "username": _c_username, "password": _c_password,
    "docker_name": _c_docker_name, "env_map": _c_env_map,
}

_WHY = {
    "duration": "durations are a whole number and one unit: ms, s, m or h",
    "size": "sizes are a whole number and one unit: k, m or g (binary)",
    "port": 'ports are "auto" or 0 (Docker assigns one) or 1..65535',
    "web_port": 'ports are "auto", 0, 1..65535, or false to not publish',
    "username": "user names reach IRIS and must be plain identifiers",
    "password": "passwords travel through the environment and must be one printable line",
    "docker_name": "the project name prefixes Docker container names",
}


def _fix(f: spec.Field) -> str:
    from .render import toml_value

    if f.kind == "enum":
        return f"write one of: {', '.join(repr(c) for c in f.choices)}"
    if f.default is None:
        return f"see {f.name} in `irisenv config example`"
    return f"write e.g. {f.name} = {toml_value(f.default)} (the default)"


def locate_issue(config: model.Config, path: tuple, what: str, why: str = "",
                 fix: str = "") -> ConfigIssue:
    """A ConfigIssue for a value found wrong after loading (e.g. refused by Docker), placed
    where the config file writes it (or its nearest written table)."""
    text = ""
    if config.path is not None:
        try:
            text = Path(config.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass
    v = _Validator(text, _display_path(config.path), {}, config.base_dir)
    v.fail(path, what, why, fix)
    return v.locate_all()[0]
