"""Hostile names never reach ObjectScript or a merge file; hostile passwords are fine,
because passwords only ever travel in the exec environment, never in script text."""
import pytest

from irisenv.config import parse_config
from irisenv.core.iris_plan import CreateNamespace, IrisDesired
from irisenv.errors import ConfigError
from irisenv.iris import runner
from irisenv.iris.converge import merge_text, user_statements
from irisenv.iris.probe import probe_script

HOSTILE = ['APP" halt', "APP\nhalt", 'X")) do $ZF(-1,"rm -rf /")', "A;B", "APP HALT",
           "APP'", "%SYS", "$ZF", "APP,Globals=IRISSYS", "APP]\n[Actions]", "APP\x00"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_namespace_names_are_config_errors(name):
    text = f'[instances.iris.namespaces."{_toml(name)}"]\n'
    with pytest.raises(ConfigError) as err:
        parse_config(text, None)
    assert "namespace" in err.value.render()


@pytest.mark.parametrize("name", ['bob" halt', "bob\nhalt", '$ZF(-1,"x")', "bob hal t",
                                  "x')) halt", ""])
def test_hostile_user_names_are_config_errors(name):
    text = f'[instances.iris.credentials]\nusername = "{_toml(name)}"\n'
    with pytest.raises(ConfigError):
        parse_config(text, None)


@pytest.mark.parametrize("name", HOSTILE)
def test_the_renderers_refuse_hostile_names_even_if_validation_were_skipped(name):
    d = IrisDesired("iris", "_SYSTEM", (name,), True)
    with pytest.raises(ValueError):
        merge_text(d, (CreateNamespace(name),))
    with pytest.raises(ValueError):
        probe_script(d, "pw")
    with pytest.raises(ValueError):
        probe_script(IrisDesired("iris", name, (), True), "pw")


@pytest.mark.parametrize("password", ['p" halt', 'x")) do $ZF(-1,"id") //', "Halt", "a,b=c",
                                      "'quoted'", "ünïcødé-🔑"])
def test_hostile_passwords_are_accepted_and_never_in_the_script(password):
    cfg = parse_config(f'[instances.iris.credentials]\npassword = "{_toml(password)}"\n', None)
    assert cfg.instances["iris"].credentials.password == password
    stmts, env = probe_script(IrisDesired("iris", "_SYSTEM", ("APP",), True), password)
    script = runner.render(stmts + user_statements(), "token")
    assert password not in script and env["IRISENV_PASSWORD"] == password


@pytest.mark.parametrize("password", ['p" halt', 'x")) do $ZF(-1,"id") //', "Halt", "a,b=c",
                                      "'quoted'", "ünïcødé-🔑", 'x } , password = "y',
                                      "# not a comment", "a\tb"])
def test_hostile_passwords_never_show_in_an_error_on_their_line(password):
    """Another key on the password's line is wrong: the line is shown, the password masked
    (quotes, commas, braces, "=" and "#" inside the string do not end it early)."""
    text = ('[instances.iris]\ncredentials = { username = "bad name", '
            f'password = "{_toml(password)}" }}\n')
    with pytest.raises(ConfigError) as err:
        parse_config(text, None)
    shown = err.value.render()
    assert _toml(password) not in shown and password not in shown
    assert 'password = "********" }' in shown


def test_a_password_with_a_newline_is_refused():
    with pytest.raises(ConfigError):
        parse_config('[instances.iris.credentials]\npassword = "a\\nhalt"\n', None)


def _toml(text: str) -> str:
    return (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\x00", "\\u0000").replace("\t", "\\t"))


def test_namespace_names_up_to_59_characters_keep_database_names_within_64():
    """IRIS allows namespace and database names of 1-64 characters; irisenv's databases are
    <NS>_DATA and <NS>_CODE, so 59 is the longest namespace whose databases still fit."""
    from irisenv import names

    longest = "N" * 59
    assert names.namespace(longest.lower()) == longest
    text = merge_text(IrisDesired("iris", "_SYSTEM", (longest,), False),
                      (CreateNamespace(longest),))
    dbs = [part.split("=", 1)[1] for line in text.splitlines() if line.startswith("CreateDatabase:")
           for part in line.split(":", 1)[1].split(",") if part.startswith("Name=")]
    assert dbs and all(len(db) <= 64 for db in dbs), dbs
    with pytest.raises(ValueError) as err:
        names.namespace("N" * 60)
    assert "longer than 59 characters" in str(err.value) and "64" in str(err.value)
    assert "30" not in str(err.value)
