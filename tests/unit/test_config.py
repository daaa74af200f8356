"""The config layer without Docker: defaults, discovery, interpolation, units, names, and
the agreement of spec.py (the declared keys) with the model, the example file and the docs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from irisenv.config import kinds, load_config, model, parse_config, spec, units
from irisenv.config.interpolate import interpolate
from irisenv.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "irisenv" / "config" / "reference.toml"
DOCS = ROOT / "docs" / "config.md"


def parse(text: str, environ=None, **kw):
    return parse_config(text, Path("/p/proj/iris-devtester.toml"), environ=environ or {}, **kw)


def write(directory: Path, text: str, name: str = spec.CONFIG_FILENAME) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ zero-config default
def test_zero_config_default(tmp_path, monkeypatch):
    here = tmp_path / "My Cool_Project!"
    here.mkdir()
    monkeypatch.chdir(here)
    cfg = load_config(environ={})
    assert cfg.path is None
    assert cfg.project == "my-cool_project"
    assert list(cfg.instances) == [spec.DEFAULT_INSTANCE] == ["iris"]
    inst = cfg.instance()
    assert inst.image == spec.DEFAULT_IMAGE
    assert "iris-community" in inst.image
    assert inst.edition == "community"
    assert [ns.name for ns in inst.namespaces] == ["USER"]
    assert inst.default_namespace == "USER"
    assert inst.credentials.username == "_SYSTEM"
    assert inst.ports.host_ip == "127.0.0.1"
    assert inst.memory == 2 * 1024**3


def test_empty_file_is_the_default_too(tmp_path):
    cfg = load_config(write(tmp_path / "demo", ""), environ={})
    assert cfg.project == "demo"
    assert list(cfg.instances) == ["iris"]
    assert cfg.origins["project.name"].startswith("default")


def test_instance_without_namespaces_gets_user():
    cfg = parse("[instances.db]\n")
    assert [ns.name for ns in cfg.instance("db").namespaces] == ["USER"]


def test_unknown_instance_lookup_is_explained():
    from irisenv.errors import IrisenvError

    with pytest.raises(IrisenvError) as info:
        parse("").instance("irs")
    assert "did you mean 'iris'" in info.value.render()


# ------------------------------------------------------------------ discovery
def test_discovery_walks_up_from_cwd(tmp_path, monkeypatch):
    top = write(tmp_path / "repo", '[project]\nname = "walked"\n')
    deep = tmp_path / "repo" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    monkeypatch.delenv("IRISENV_CONFIG", raising=False)
    cfg = load_config()
    assert cfg.path == top.resolve()
    assert cfg.project == "walked"


def test_discovery_nearest_file_wins(tmp_path, monkeypatch):
    write(tmp_path / "repo", '[project]\nname = "outer"\n')
    write(tmp_path / "repo" / "sub", '[project]\nname = "inner"\n')
    monkeypatch.chdir(tmp_path / "repo" / "sub")
    assert load_config(environ={}).project == "inner"


def test_env_var_beats_walking_up(tmp_path, monkeypatch):
    write(tmp_path / "repo", '[project]\nname = "walked"\n')
    other = write(tmp_path / "elsewhere", '[project]\nname = "from-env"\n', name="custom.toml")
    monkeypatch.chdir(tmp_path / "repo")
    monkeypatch.setenv("IRISENV_CONFIG", str(other))
    assert load_config().project == "from-env"


def test_explicit_path_beats_env_var(tmp_path, monkeypatch):
    write(tmp_path / "repo", '[project]\nname = "walked"\n')
    env_file = write(tmp_path / "e", '[project]\nname = "from-env"\n')
    explicit = write(tmp_path / "c", '[project]\nname = "explicit"\n')
    monkeypatch.chdir(tmp_path / "repo")
    monkeypatch.setenv("IRISENV_CONFIG", str(env_file))
    assert load_config(explicit).project == "explicit"


def test_project_defaults_to_the_config_files_directory(tmp_path, monkeypatch):
    path = write(tmp_path / "Some Dir", "")
    monkeypatch.chdir(tmp_path)
    assert load_config(path, environ={}).project == "some-dir"


def test_missing_explicit_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml", environ={})
    text = info.value.render()
    assert "does not exist" in text and "fix:" in text and "config init" in text


def test_missing_env_var_file_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError):
        load_config(environ={"IRISENV_CONFIG": str(tmp_path / "gone.toml")})


def test_non_utf8_file_is_a_config_error(tmp_path):
    path = tmp_path / spec.CONFIG_FILENAME
    path.write_bytes(b'[project]\nname = "\xff"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert "UTF-8" in info.value.render()


# ------------------------------------------------------------------ interpolation
def test_interpolation_variants():
    env = {"A": "x", "EMPTY": ""}
    assert interpolate("${A}", env) == ("x", ["via $A"])
    assert interpolate("${B:-dflt}", env) == ("dflt", ["default of ${B:-...} ($B unset)"])
    assert interpolate("${EMPTY:-dflt}", env) == ("dflt", ["default of ${EMPTY:-...} ($EMPTY empty)"])
    assert interpolate("${EMPTY}", env) == ("", ["via $EMPTY"])
    assert interpolate("${A:-}", env)[0] == "x"
    assert interpolate("$$", env) == ("$", [])
    assert interpolate("a$$b${A}", env)[0] == "a$bx"
    assert interpolate("$$${A}", env)[0] == "$x"
    assert interpolate("$A", env)[0] == "$A"  # only ${...} is a reference
    assert interpolate("no dollar", env) == ("no dollar", [])


@pytest.mark.parametrize("text, needle", [
    ("${NOPE}", "NOPE is not set"),
    ("${", "not closed"),
    ("${1X}", "not a variable reference"),
    ("${A-B}", "not a variable reference"),
    ("${}", "not a variable reference"),
    ("${A\n}", "not a variable reference"),
])
def test_interpolation_errors(text, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        interpolate(text, {"A": "x"})


def test_interpolation_in_config_values():
    cfg = parse('[instances.iris]\nmemory = "${MEM:-3g}"\nimage = "${IMG}"\n'
                '[instances.iris.credentials]\npassword = "${PW}"\n',
                environ={"IMG": "my/iris:1", "PW": "pa$$"})
    inst = cfg.instance()
    assert inst.memory == 3 * 1024**3
    assert inst.image == "my/iris:1"
    assert inst.credentials.password == "pa$$"  # the variable's value is not re-interpolated
    assert cfg.origins["instances.iris.image"] == "file, via $IMG"
    # $MEM is unset: the default was used, not the variable
    assert cfg.origins["instances.iris.memory"] == "file, default of ${MEM:-...} ($MEM unset)"


def test_interpolated_value_is_validated_after_interpolation():
    with pytest.raises(ConfigError) as info:
        parse('[instances.iris]\nmemory = "${MEM}"\n', environ={"MEM": "2GB"})
    assert "'2GB' is not a size" in info.value.render()


def test_unset_variable_is_a_located_config_error():
    with pytest.raises(ConfigError) as info:
        parse('[instances.iris]\n\nmemory = "${NOPE}"\n')
    issue = info.value.issues[0]
    assert (issue.line, issue.key) == (3, "instances.iris.memory")
    assert "${NOPE:-value}" in issue.what


def test_dollar_dollar_in_a_value():
    cfg = parse('[instances.iris.credentials]\npassword = "a$$b"\n')
    assert cfg.instance().credentials.password == "a$b"


# ------------------------------------------------------------------ units
@pytest.mark.parametrize("text, seconds", [
    ("30s", 30), ("5m", 300), ("1h", 3600), ("250ms", 0.25), ("0s", 0), ("24h", 86400),
])
def test_durations(text, seconds):
    assert units.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "30 s", " 30s", "30s ", "1.5h", "-1s", "30S", "1d",
                                  "s", "", "30s\n", "1h30m", "+1s", "１s"])
def test_duration_rejects(text):
    with pytest.raises(ValueError, match="is not a duration"):
        units.parse_duration(text)


@pytest.mark.parametrize("value", [30, 1.5, None, True])
def test_duration_rejects_non_strings(value):
    with pytest.raises(ValueError):
        units.parse_duration(value)


@pytest.mark.parametrize("text, nbytes", [("512m", 512 * 1024**2), ("2g", 2 * 1024**3),
                                          ("64k", 65536), ("0k", 0)])
def test_sizes(text, nbytes):
    assert units.parse_size(text) == nbytes


@pytest.mark.parametrize("text", ["2GB", "2G", "2", "2 g", "1.5g", "-1g", "2gb", "2b", "2t",
                                  "", "2g\n"])
def test_size_rejects(text):
    with pytest.raises(ValueError, match="is not a size"):
        units.parse_size(text)


@pytest.mark.parametrize("seconds", [0.25, 1, 30, 60, 90, 300, 3600, 5400, 86400])
def test_duration_format_round_trips(seconds):
    assert units.parse_duration(units.format_duration(seconds)) == seconds


@pytest.mark.parametrize("nbytes", [1024, 4 * 1024**2, 256 * 1024**2, 1344 * 1024**2, 2 * 1024**3])
def test_size_format_round_trips(nbytes):
    assert units.parse_size(units.format_size(nbytes)) == nbytes


def test_config_rejects_sizes_below_4m():
    with pytest.raises(ConfigError, match="too small"):
        parse('[instances.iris]\nroutines = "1m"\n')


# ------------------------------------------------------------------ names
def test_namespace_names_are_upper_cased():
    cfg = parse("[instances.iris.namespaces.app]\n[instances.iris.namespaces.Test-1]\n")
    assert [ns.name for ns in cfg.instance().namespaces] == ["APP", "TEST-1"]


def test_namespace_declaration_order_is_kept():
    cfg = parse("[instances.iris.namespaces.ZED]\n[instances.iris.namespaces.ALPHA]\n"
                "[instances.iris.namespaces.USER]\n")
    assert [ns.name for ns in cfg.instance().namespaces] == ["ZED", "ALPHA", "USER"]
    assert cfg.instance().default_namespace == "ZED"


def test_namespace_duplicates_are_case_insensitive():
    with pytest.raises(ConfigError) as info:
        parse("[instances.iris.namespaces.app]\n[instances.iris.namespaces.APP]\n")
    assert "declared twice" in info.value.render()
    assert info.value.issues[0].line == 2


def test_namespace_59_chars_is_fine_and_60_is_not():
    parse(f"[instances.iris.namespaces.{'A' * 59}]\n")
    with pytest.raises(ConfigError, match="longer than 59"):
        parse(f"[instances.iris.namespaces.{'A' * 60}]\n")


@pytest.mark.parametrize("name", ["BROKER", "broker", "Bin", "DOCBOOK", "DOCUMATIC"])
def test_reserved_namespaces(name):
    with pytest.raises(ConfigError, match="reserved"):
        parse(f"[instances.iris.namespaces.{name}]\n")


def test_names_reject_a_trailing_newline():
    from irisenv import names

    for check, good in ((names.namespace, "APP"), (names.username, "bob"),
                        (names.env_key, "TZ"), (lambda n: names.docker_name(n, "x"), "demo")):
        check(good)
        with pytest.raises(ValueError):
            check(good + "\n")


def test_sanitize_project_name():
    from irisenv.names import sanitize_project_name as s

    assert s("My Project") == "my-project"
    assert s("--x--") == "x"
    assert s("日本") == "irisenv"
    assert len(s("a" * 100)) == 40


# ------------------------------------------------------------------ the example file
def test_example_validates(tmp_path):
    cfg = load_config(EXAMPLE, environ={})
    inst = cfg.instance()
    assert cfg.project == "demo"
    assert [ns.name for ns in inst.namespaces] == ["APP", "TEST"]
    assert inst.credentials.password == "SYS"


def _example_keys() -> set:
    """(generic path) of every `key = ...` line, commented out or not, in the example."""
    found, table = set(), ()
    for raw in EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            table = tuple(header.group(1).split("."))
            continue
        m = re.match(r"#?\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        if m:
            path = list(table + (m.group(1),))
            if len(path) > 1 and path[0] == "instances":
                path[1] = "<name>"
            if len(path) > 3 and path[2] == "namespaces":
                path[3] = "<NAMESPACE>"
            found.add(tuple(path))
    return found


def test_every_declared_key_is_in_the_example():
    declared = {path for path, _ in spec.iter_fields(spec.ROOT)}
    missing = declared - _example_keys()
    assert not missing, f"add these keys to irisenv/config/reference.toml: {sorted(missing)}"


def test_the_example_shows_no_undeclared_key():
    declared = {path for path, _ in spec.iter_fields(spec.ROOT)}
    extra = {p for p in _example_keys() - declared if p[-1] not in ("TZ",)}  # env's own keys
    assert not extra, f"the example mentions keys spec.py does not declare: {sorted(extra)}"


def test_every_declared_key_is_in_the_docs():
    text = DOCS.read_text(encoding="utf-8")
    missing = [".".join(p) for p, _ in spec.iter_fields(spec.ROOT) if f"`{'.'.join(p)}`" not in text]
    assert not missing, f"document these keys in docs/config.md: {missing}"


class _Context:
    """What a kind's check may use of the loader: a base directory, the environment, fail."""
    base_dir = Path("/proj")
    environ: dict = {}

    def fail(self, *args, **kwargs):
        raise AssertionError(args)


def test_every_default_is_valid():
    """A spec default must pass its own validation, and become what the check makes of it
    (the loader takes a default as the kind's default() gives it, unchecked)."""
    for path, f in spec.iter_fields(spec.ROOT):
        assert f.doc, f"{'.'.join(path)} has no doc"
        if f.optional:
            assert f.default is None
        if f.default is not None:
            checked = f.kind.check(f.default, _Context(), path)
            assert checked == f.kind.default(f.default), ".".join(path)


# ------------------------------------------------------------------ spec <-> model
def test_a_declared_key_is_a_record_attribute_with_its_default():
    """model.py derives each record from its spec table: one attribute per key, in order,
    defaulting to the key's default as the model holds it; behaviour of the class is kept."""
    sub = spec.Table("limits", "", (spec.Field("timeout", kinds.Duration(), "5m", "d"),))
    table = spec.Table("", "", (spec.Field("size", kinds.Size(), "1g", "d"),
                                spec.Field("path", kinds.FilePath(), None, "d", optional=True),
                                sub, spec.Field("env", kinds.EnvMap(), {}, "d")))

    @model._record(sub)
    class Limits:
        pass

    @model._record(table, key="name")
    class Thing:
        @property
        def shout(self) -> str:
            return self.name.upper()

    thing = Thing("x")
    assert Thing._fields == ("name", "size", "path", "limits", "env")
    assert thing == ("x", 1024**3, None, (300,), {})
    assert type(thing.limits) is Limits and thing.limits.timeout == 300
    assert thing.shout == "X" and repr(thing).startswith("Thing(name='x', size=1073741824")
    assert model.record_of(table) is Thing and model.record_of(spec.ROOT) is None


def test_loaded_records_are_the_model_classes():
    inst = parse('[instances.iris.namespaces.APP]\n').instance()
    assert type(inst) is model.Instance
    assert (type(inst.ports), type(inst.credentials), type(inst.services), type(inst.monitoring)) \
        == (model.Ports, model.Credentials, model.Services, model.Monitoring)
    assert inst.namespaces == (model.Namespace("APP"),)
    assert type(inst.namespaces[0]) is model.Namespace and inst.default_namespace == "APP"


def test_a_record_made_by_hand_has_the_defaults_of_a_loaded_one():
    """Tests and other modules build records with keyword arguments and the defaults."""
    assert parse("").instance() == model.Instance(name="iris",
                                                  namespaces=(model.Namespace("USER"),))


def test_instance_defaults_match_spec():
    inst = parse("").instance()
    for f in spec.INSTANCE.fields:
        if not isinstance(f, spec.Field) or f.default is None:
            continue
        value = getattr(inst, f.name)
        expected = {kinds.Duration: units.parse_duration, kinds.Size: units.parse_size}.get(
            type(f.kind), lambda v: v)(f.default)
        assert value == expected, f.name


# ------------------------------------------------------------------ secrets
def test_repr_never_contains_the_password():
    secret = "Zebra-Secret-9177"
    cfg = parse('[instances.iris.credentials]\npassword = "${PW}"\n', environ={"PW": secret})
    assert cfg.instance().credentials.password == secret
    for text in (repr(cfg), str(cfg), repr(cfg.instance()), repr(cfg.instance().credentials)):
        assert secret not in text
        assert "********" in text


def test_show_data_masks_the_password():
    from irisenv.config.view import MASK, effective

    secret = "Zebra-Secret-9177"
    data = effective(parse(f'[instances.iris.credentials]\npassword = "{secret}"\n'))
    assert data["instances"]["iris"]["credentials"]["password"] == MASK
    assert secret not in repr(data)


def test_error_about_a_password_does_not_echo_it():
    secret = "Zebra\tSecret"
    with pytest.raises(ConfigError) as info:
        parse('[instances.iris.credentials]\npassword = "Zebra\\tSecret"\n')
    # the message names the problem, not the value (the source line is the user's own file)
    assert secret not in info.value.issues[0].what


# ------------------------------------------------------------------ misc semantics
def test_relative_paths_resolve_against_the_config_file(tmp_path):
    path = write(tmp_path / "proj", '[instances.iris]\nedition = "enterprise"\n'
                                    'license_key = "keys/iris.key"\nmerge = "/abs/extra.cpf"\n')
    inst = load_config(path, environ={}).instance()
    assert inst.license_key == (tmp_path / "proj" / "keys" / "iris.key").resolve()
    assert inst.merge == Path("/abs/extra.cpf")


def test_ports_and_web_false():
    inst = parse('[instances.iris.ports]\nsuperserver = 0\nweb = false\nhost_ip = "::1"\n').instance()
    assert (inst.ports.superserver, inst.ports.web, inst.ports.host_ip) == (0, False, "::1")


def test_same_port_on_different_host_ips_is_fine():
    parse('[instances.a.ports]\nsuperserver = 1972\nhost_ip = "127.0.0.1"\n'
          '[instances.b.ports]\nsuperserver = 1972\nhost_ip = "127.0.0.2"\n')


def test_env_values_are_text():
    inst = parse('[instances.iris]\nenv = { N = 4, F = 1.5, S = "${X:-y}" }\n').instance()
    assert inst.env == {"N": "4", "F": "1.5", "S": "y"}


def test_cpus_accepts_an_integer_and_rejects_nan():
    assert parse("[instances.iris]\ncpus = 2\n").instance().cpus == 2.0
    for bad in ("nan", "inf", "-inf", "0.001", "0"):
        with pytest.raises(ConfigError):
            parse(f"[instances.iris]\ncpus = {bad}\n")


def test_all_problems_are_reported_together():
    with pytest.raises(ConfigError) as info:
        parse('[instances.iris]\nmemory = 2\ncpus = "x"\nmemry = 1\n')
    issues = info.value.issues
    assert [i.line for i in issues] == [2, 3, 4]
    assert "3 problems in the config." in info.value.render()


def test_retention_below_interval_is_unreachable_by_ranges():
    """retention >= 5m and interval <= 5m, so the retention >= interval rule (kept in
    load.py as a guard should the ranges change) cannot fire today; the boundary passes."""
    mon_fields = {f.name: f for f in spec.MONITORING.fields}
    assert mon_fields["retention"].kind.minimum >= mon_fields["interval"].kind.maximum
    cfg = parse('[instances.iris.monitoring]\ninterval = "300s"\nretention = "5m"\n')
    assert cfg.instance().monitoring.retention == cfg.instance().monitoring.interval == 300


# ------------------------------------------------------------------ [ports] (the port registry)
def test_the_port_range_comes_from_the_file_else_the_environment_else_the_default():
    assert parse("").ports.port_range == (41972, 42971)
    env = {"IRISENV_PORT_RANGE": "50000-50099"}
    cfg = parse("", environ=env)
    assert cfg.ports.port_range == (50000, 50099)
    assert cfg.origins["ports.range"] == "$IRISENV_PORT_RANGE"
    cfg = parse('[ports]\nrange = "45000-45009"\n', environ=env)
    assert cfg.ports.port_range == (45000, 45009) and cfg.origins["ports.range"] == "file"


def test_a_bad_port_range_in_the_environment_names_the_variable():
    with pytest.raises(ConfigError) as info:
        parse("", environ={"IRISENV_PORT_RANGE": "9-1"})
    issue = info.value.issues[0]
    assert issue.key == "ports.range" and "$IRISENV_PORT_RANGE" in issue.what
    assert "IRISENV_PORT_RANGE" in issue.fix


def test_preferred_needs_an_auto_port():
    assert parse("[instances.iris.ports]\npreferred = 51972\n").instance().ports.preferred == 51972
    with pytest.raises(ConfigError) as info:
        parse("[instances.iris.ports]\nsuperserver = 1972\nweb = false\npreferred = 51972\n")
    assert info.value.issues[0].key == "instances.iris.ports.preferred"
    assert info.value.issues[0].line == 4


# ------------------------------------------------------------------ namespace pool
def test_pool_is_a_number_or_a_min_max_table_and_unset_by_default():
    from irisenv.config.kinds import PoolSize

    cfg = parse("[instances.iris.namespaces.APP]\npool = 4\n"
                "[instances.iris.namespaces.B]\npool = { min = 2, max = 16 }\n"
                "[instances.iris.namespaces.C]\n")
    pools = {ns.name: ns.pool for ns in cfg.instance().namespaces}
    assert pools == {"APP": PoolSize(4, 4), "B": PoolSize(2, 16), "C": None}


def test_pool_copy_names():
    from irisenv import names

    assert names.pool_copy("app", 3) == "APP_P3"
    assert names.pool_template_max(names.POOL_MAX) == 55
    for bad in (0, names.POOL_MAX + 1, True):
        with pytest.raises(ValueError):
            names.pool_copy("APP", bad)
    with pytest.raises(ValueError):
        names.pool_copy("A" * 57, 1)  # A..._P1 has 60 characters
