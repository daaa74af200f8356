"""A config error never shows a password: not in its message, not in the source line shown
under it, not in the JSON document. The password may be invalid (an integer, a control
character), so it is never registered as a secret: the masking works from the TOML text."""
from __future__ import annotations

import json
import random

import pytest

from irisenv import errors
from irisenv.config import parse_config
from irisenv.config.mask import is_secret_key, mask_secret_values
from irisenv.errors import ConfigError

PW = "TopSecret99"


@pytest.fixture(autouse=True)
def no_registered_secrets(monkeypatch):
    monkeypatch.setattr(errors, "_SECRETS", set())


# Each config has a problem whose message or source line would show PW (or a part of it).
LEAKY = {
    "inline-table": '[instances.iris]\n'
                    f'credentials = {{ username = "bad name", password = "{PW}" }}\n',
    "bare-integer": "[instances.iris.credentials]\npassword = 12345678\n",
    "array": f'[instances.iris.credentials]\npassword = ["{PW}"]\n',
    "table": f'[instances.iris.credentials.password]\nx = "{PW}"\n',
    "control-char": f'[instances.iris.credentials]\npassword = "{PW}\\u0001"\n',
    "literal-string-dotted": f"[instances.iris]\ncredentials.password = '{PW}\t'\n",
    "quoted-key": f'[instances.iris.credentials]\n"password" = "{PW}\\n"\n',
    "multi-line": f'[instances.iris.credentials]\npassword = """{PW}\nMore{PW}"""\n',
    "multi-line-literal": f"[instances.iris.credentials]\npassword = '''\n{PW}\n'''\n",
    "syntax-unterminated": f'[instances.iris.credentials]\npassword = "{PW}\n',
    "syntax-in-continuation": f'[instances.iris.credentials]\npassword = """x\n{PW}\x01"""\n',
    "syntax-after-value": f'[instances.iris.credentials]\npassword = "{PW}" junk\n',
    "interpolation-malformed": f'[instances.iris.credentials]\npassword = "a${{{PW}-x}}"\n',
    "interpolation-unset": f'[instances.iris.credentials]\npassword = "a${{{PW}}}"\n',
    "typo-key": f'[instances.iris.credentials]\npasword = "{PW}"\n',
    "other-error-same-line": f'[instances.iris.credentials]\nusername = "bad name"; password = "{PW}"\n',
    "secret-env-value": '[instances.iris]\n'
                        f'env = {{ "BAD-KEY" = "1", API_TOKEN = "{PW}" }}\n',
    "secret-env-interpolation": f'[instances.iris.env]\nDB_PASSWORD = "${{{PW}-x}}"\n',
}


@pytest.mark.parametrize("text", LEAKY.values(), ids=LEAKY.keys())
def test_no_part_of_a_password_in_a_config_error(text):
    with pytest.raises(ConfigError) as err:
        parse_config(text, None, environ={})
    shown = err.value.render() + json.dumps(err.value.to_dict())
    for piece in (PW, "Secret", "12345678"):
        assert piece not in shown, shown
    assert "********" in err.value.render() or "password" in shown.lower() or "API_TOKEN" in shown


def test_an_unset_variable_is_named_when_it_is_the_whole_password():
    with pytest.raises(ConfigError) as err:
        parse_config('[instances.iris.credentials]\npassword = "${IRIS_PW_UNSET}"\n', None,
                     environ={})
    assert "environment variable IRIS_PW_UNSET is not set" in err.value.render()


def test_the_masked_line_keeps_its_shape_and_the_caret():
    with pytest.raises(ConfigError) as err:
        parse_config(LEAKY["inline-table"], None)
    lines = err.value.render().splitlines()
    assert lines[1] == ('  2 | credentials = { username = "bad name", password = "********" }')
    assert lines[2] == "    |                            ^"  # still under the user name


def test_a_bare_password_is_reported_without_its_value():
    with pytest.raises(ConfigError) as err:
        parse_config(LEAKY["bare-integer"], None)
    issue = err.value.issues[0]
    assert issue.what == "must be a string, not an integer"
    assert issue.source_line == "password = ********"


def test_non_secret_values_are_shown_as_written():
    with pytest.raises(ConfigError) as err:
        parse_config('[instances.iris]\nmemory = 2 # two\nstorage = "/x"\n', None)
    assert "  2 | memory = 2 # two" in err.value.render()


# ------------------------------------------------------------------ the masker itself
@pytest.mark.parametrize("line, masked", [
    ('password = "abc"', 'password = "********"'),
    ("password = 'abc'  # a comment", "password = '********'  # a comment"),
    ('password="a\\"b" ', 'password="********" '),
    ("password = 12345678", "password = ********"),
    ("c = { password = 1234, x = 1 }", "c = { password = ********, x = 1 }"),
    ("password = Top#Secret # c", "password = ********"),  # "#" may belong to the password
    ('password "forgot the equals"', 'password "********"'),
    ("password: yaml-style", "password********"),
    ("credentials.password = 'x'", "credentials.password = '********'"),
    ('"password" = "x"', '"password" = "********"'),
    ("PASSWORD = x", "PASSWORD = ********"),
    ('c = { u = "n", password = "x" }', 'c = { u = "n", password = "********" }'),
    ('password = ["a", "b"] # c', "password = ******** # c"),
    ('password = "unterminated', 'password = "********'),
    ('password = ""', 'password = ""'),
    ('username = "password = x"', 'username = "password = x"'),  # in a string: not a key
    ('memory = "2g" # password = x', 'memory = "2g" # password = x'),
    ('storage = "/p"', 'storage = "/p"'),
    ('license_key = "iris.key"', 'license_key = "iris.key"'),
])
def test_mask_one_line(line, masked):
    assert mask_secret_values(line) == masked


def test_mask_multi_line_strings_line_by_line():
    text = 'password = """first\nsecond\n"""\nmemory = "2g"\n'
    assert mask_secret_values(text) == 'password = """********\n********\n"""\nmemory = "2g"\n'


def test_mask_an_escaped_triple_quote_inside_a_multi_line_string():
    text = 'password = """ab\\"""cd"""\n'
    assert mask_secret_values(text) == 'password = """********"""\n'


def test_mask_every_value_under_a_secret_table_header():
    text = '[instances.iris.credentials.password]\nx = "a"\n[instances.iris]\ny = "b"\n'
    assert mask_secret_values(text) == (
        '[instances.iris.credentials.password]\nx = "********"\n[instances.iris]\ny = "b"\n')


@pytest.mark.parametrize("key, secret", [
    ("password", True), ("Password", True), ("pasword", True), ("passwd", True), ("pwd", True),
    ("IRIS_PASSWORD", True), ("API_TOKEN", True), ("client_secret", True), ("pw", True),
    ("username", False), ("license_key", False), ("memory", False), ("storage", False),
    ("superserver", False), ("merge", False),
])
def test_secret_key_names(key, secret):
    assert is_secret_key(key) is secret


def test_masker_terminates_and_keeps_line_numbers_on_any_text():
    rng = random.Random(7)
    alphabet = 'password=\'"{}[],.#\\\n \tx1'
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        out = mask_secret_values(text)
        assert out.count("\n") == text.count("\n")


def test_masker_changes_nothing_without_a_secret_key():
    rng = random.Random(11)
    alphabet = 'ab=\'"{}[],.#\\\n \tx1;'
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert mask_secret_values(text) == text
