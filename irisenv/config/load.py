"""Read, interpolate and validate iris-devtester.toml into a typed Config.

Every problem becomes a ConfigIssue with file, line, column, key path, what, why and fix;
all problems of a document are reported together. No traceback reaches the user.
"""
from __future__ import annotations

import os
import re
import shlex
import tomllib
from pathlib import Path

from .. import names
from ..errors import ConfigError, ConfigIssue, IrisenvError, did_you_mean
from . import memory, model, spec, units
from .interpolate import interpolate
from .kinds import reference_error, type_name
from .mask import mask_secret_values

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
    def table(self, tspec: spec.Table, data, path: tuple, head: tuple = ()):
        """The validated values of a table: its record (model.py), ``head`` (the name of a
        named table) first; a dict for a table without one (the root, [project])."""
        if not isinstance(data, dict):
            self.fail(path, f"must be a table, not {type_name(data)}",
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
        record = model.record_of(tspec)
        if record is None:
            return out
        for key, item in known.items():
            if isinstance(item, spec.Named):  # a record holds a tuple of the named records
                out[key] = tuple(out[key].values())
        return record(*head, **out)

    def named(self, nspec: spec.Named, data, path: tuple) -> dict:
        if data is None:
            data = {k: {} for k in nspec.default_keys}
        if not isinstance(data, dict):
            self.fail(path, f"must be a table of named tables, not {type_name(data)}",
                      f"each entry is [{'.'.join(path)}.<name>]",
                      f"write [{'.'.join(path)}.<name>] tables")
            return {}
        out: dict = {}
        seen: dict[str, str] = {}
        for raw_key, value in data.items():
            sub = path + (raw_key,)
            try:
                key = nspec.key_kind.check(raw_key)
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
            out[key] = self.table(nspec.item, value, sub, (key,))
        if len(out) < nspec.min_items and not self.issues:
            where = ".".join(path)
            self.fail(path, f"declares no {nspec.key_kind.noun}",
                      f"an empty [{where}] table has nothing to sync",
                      f"add one, e.g. [{where}.{nspec.default_keys[0]}]", at_value=False)
        return out

    def default(self, f: spec.Field, path: tuple):
        if f.env and self.environ.get(f.env, "").strip():
            value = self.environ[f.env].strip()
            self.origin_of(path, f"${f.env}")
            try:
                return f.kind.check(value, self, path)
            except ValueError as exc:
                self.fail(path, f"${f.env}: {exc}", f.kind.why or f.doc,
                          f"fix or unset {f.env} (or write {'.'.join(path)} in the file, "
                          "which wins over it)")
        self.origin_of(path, "default")
        return None if f.default is None else f.kind.default(f.default)

    # -- one scalar
    def field(self, f: spec.Field, value, path: tuple):
        if isinstance(value, str):
            try:
                value, used = interpolate(value, self.environ)
            except ValueError as exc:
                self.fail(path, reference_error(exc, value, f.kind.secret),
                          "values may use ${VAR} and ${VAR:-default}",
                          "set the variable or give a default")
                return None  # not the raw default: sizes/durations would stay unparsed
            if used:
                self.origin_of(path, "file, " + ", ".join(used))
        try:
            return f.kind.check(value, self, path)
        except ValueError as exc:
            self.fail(path, str(exc), f.kind.why or f.doc, f.kind.fix(f, value))
            return None

    # -- whole-document build
    def build(self, data: dict, default_project: str, path: Path | None) -> model.Config:
        raw = self.table(spec.ROOT, data, ())
        project = raw["project"]["name"]
        if project is None:
            project = names.sanitize_project_name(default_project)
            self.origin_of(("project", "name"), "default (the config file's directory name)"
                           if path else "default (the working directory's name)")
        instances = raw["instances"]
        for name, inst in instances.items():
            self.cross_field(inst, ("instances", name))
        self.cross_instance(instances)
        return model.Config(project=project, instances=instances, path=path, origins=self.origins,
                            ports=raw["ports"], engine=raw["project"]["engine"])

    def cross_field(self, i: model.Instance, path: tuple) -> None:
        """Rules between keys, checked once each key is valid on its own (an invalid one is
        None here, and its rules are skipped)."""
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
        if i.spares and i.reuse is not None and i.reuse != "never":
            self.fail(path + ("spares",), f'spares is set but reuse is "{i.reuse}"',
                      "a spare is swapped in only where a sync makes a fresh container each "
                      f'time (reuse = "never"); under "{i.reuse}" it would sit idle and hold '
                      "a running IRIS's memory",
                      'set reuse = "never", or remove spares')
        if i.spares and i.storage == "volume":
            self.fail(path + ("spares",), 'spares is set but storage is "volume"',
                      "the named volume holds one durable IRIS; a spare booted on it alongside "
                      "the instance would share its data directory",
                      'use storage = "ephemeral" or "tmpfs" with spares, or remove spares')
        ports = i.ports
        if ports.preferred is not None and "auto" not in (ports.superserver, ports.web):
            self.fail(path + ("ports", "preferred"),
                      "preferred is set but neither superserver nor web is \"auto\"",
                      "preferred is the port an \"auto\" port tries first; fixed ports and 0 "
                      "never read it",
                      'remove preferred, or set superserver = "auto"')
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
        for ns in i.namespaces:
            if ns.init and ns.name in names.BUILTIN_NAMESPACES:
                self.fail(path + ("namespaces", ns.name, "init"),
                          f"{ns.name} is a built-in namespace: irisenv initialises only the "
                          "namespaces it creates",
                          "a re-initialisation resets the namespace's databases, which irisenv "
                          "does only to namespaces it made",
                          "declare a namespace of your own, e.g. [instances.iris.namespaces.APP], "
                          "and move init there")
        self.pool_rules(i, path)
        for key in i.env or ():
            if key in spec.MANAGED_ENV:
                self.fail(path + ("env", key), f"{key} is set by irisenv itself",
                          "irisenv manages it (storage and merge settings)",
                          "remove it from env; use the storage / merge keys instead", at_value=False)

    def pool_rules(self, i: model.Instance, path: tuple) -> None:
        """A pool belongs to a namespace irisenv creates; its copies' names (docs/pool.md)
        must be valid and must not be declared namespaces themselves."""
        declared = {ns.name for ns in i.namespaces}
        for ns in i.namespaces:
            pool = ns.pool
            if pool is None:
                continue
            where = path + ("namespaces", ns.name, "pool")
            if ns.name in names.BUILTIN_NAMESPACES:
                self.fail(where, f"{ns.name} is a built-in namespace: a pool copies a "
                          "namespace irisenv creates",
                          "pool copies start from the namespace's initialised data and share "
                          "its code database, which irisenv does only for namespaces it made",
                          "declare a namespace of your own, e.g. "
                          "[instances.iris.namespaces.APP], and move pool there")
                continue
            longest = names.pool_template_max(pool.max)
            if len(ns.name) > longest:
                self.fail(where, f"namespace {ns.name} is too long for a pool of {pool.max}: "
                          f"its copies are named {ns.name}{names.POOL_COPY_INFIX}1 .. "
                          f"{ns.name}{names.POOL_COPY_INFIX}{pool.max}",
                          f"a copy's name, and its database's (<copy>_DATA), must fit IRIS's "
                          f"{names.IRIS_NAME_MAX} characters",
                          f"shorten the namespace's name to at most {longest} characters")
                continue
            taken = sorted(n for n in declared
                           if n in {names.pool_copy(ns.name, k) for k in range(1, pool.max + 1)})
            if taken:
                self.fail(where, f"namespace {taken[0]} is declared, but it is also the name "
                          f"of a copy in {ns.name}'s pool",
                          "the pool creates, resets and drops its copies",
                          f"rename {taken[0]}, or lower {ns.name}'s pool max below its number")

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
