"""No secret survives into a rendered error, an error document, or a repr."""
from __future__ import annotations

import json

import pytest

from irisenv import errors
from irisenv.config.model import Credentials, Instance
from irisenv.errors import (ConfigError, ConfigIssue, IrisenvError, redact, register_secret)

SECRET = "Hunter2-Pass!"


@pytest.fixture(autouse=True)
def fresh_secrets(monkeypatch):
    monkeypatch.setattr(errors, "_SECRETS", set())


def test_redact_replaces_every_occurrence():
    register_secret(SECRET)
    assert redact(f"a {SECRET} b {SECRET}") == "a ******** b ********"


def test_redact_longest_first():
    # "abc" first would leave "********-def", showing the tail of the longer secret
    register_secret("abc")
    register_secret("abc-def")
    assert redact("pw abc-def and abc") == "pw ******** and ********"


def test_redact_respects_word_tokens():
    """The default password "SYS" must not shred "_SYSTEM" or "%SYS"-like words, but is
    masked where it stands alone (":SYS@", "password SYS")."""
    register_secret("SYS")
    assert redact("user _SYSTEM in SYSTEM") == "user _SYSTEM in SYSTEM"
    assert redact("iris://_SYSTEM:SYS@host password SYS.") == (
        "iris://_SYSTEM:********@host password ********.")


def test_redact_secret_with_punctuation_edges_is_masked_anywhere():
    """A token boundary only makes sense at a word-character edge of the secret: a secret
    ending in "!" glued to a letter must still be masked."""
    register_secret(SECRET)  # ends with "!"
    register_secret("#start-secret")
    assert SECRET not in redact(f"pw={SECRET}x")
    assert "start-secret" not in redact("a#start-secret")


def test_percent_is_part_of_a_token():
    """IRIS names carry a leading %: with the default password "SYS", the "%SYS" namespace
    in session prompts, exec and log output must stay readable."""
    register_secret("SYS")
    assert redact("%SYS>") == "%SYS>"
    assert redact("zn \"%SYS\" then ^%SYS and %SYS.Database") == (
        "zn \"%SYS\" then ^%SYS and %SYS.Database")
    assert redact("SYS") == "********"
    assert redact("SYS%") == "SYS%"  # % glued to the end belongs to the token as well
    assert redact("(SYS) 'SYS' \"SYS\" =SYS, SYS\n") == (
        "(********) '********' \"********\" =********, ********\n")


def test_non_ascii_letters_are_part_of_a_token():
    register_secret("SYS")
    assert redact("ÄSYS SYSé") == "ÄSYS SYSé"


def test_secret_starting_with_percent_is_matched_token_wise():
    register_secret("%pw")
    assert redact("x %pw y") == "x ******** y"
    assert redact("a%pw") == "a%pw"


def test_short_secrets_are_registered_and_masked_token_wise():
    """Every non-empty password is masked, however short; matching is token-wise, so a
    one-letter password masks only where that letter stands alone (documented)."""
    for value in ("a", "ab"):
        register_secret(value)
    assert errors._SECRETS == {"a", "ab"}
    assert redact("a b ab abc") == "******** b ******** abc"
    assert redact("user:ab@host") == "user:********@host"


def test_empty_secrets_are_not_registered():
    for value in (None, ""):
        register_secret(value)
    assert errors._SECRETS == set()
    assert redact("a b ab") == "a b ab"


def test_irisenv_error_render_and_to_dict_are_redacted():
    register_secret(SECRET)
    err = IrisenvError(f"login as _SYSTEM/{SECRET} failed", f"IRIS said: bad password {SECRET}",
                       f"set password = \"{SECRET}\" in the config")
    text = err.render()
    assert SECRET not in text and text.count("********") == 3
    assert text.splitlines()[0] == "error: login as _SYSTEM/******** failed"
    doc = err.to_dict()
    assert SECRET not in json.dumps(doc)
    assert doc["exit_code"] == 1


def test_a_secret_registered_after_the_error_was_made_is_still_redacted():
    err = IrisenvError(f"x {SECRET}")
    register_secret(SECRET)
    assert SECRET not in err.render()


def test_config_issue_render_and_to_dict_are_redacted():
    register_secret(SECRET)
    issue = ConfigIssue(key="instances.iris.credentials.password", what=f"bad {SECRET}",
                        why=f"because {SECRET}", fix=f"not {SECRET}", file="iris-devtester.toml",
                        line=7, column=12, source_line=f'password = "{SECRET}"')
    text = issue.render()
    assert SECRET not in text
    assert 'password = "********"' in text  # the caret display of the source line too
    assert SECRET not in json.dumps(issue.to_dict())
    cerr = ConfigError([issue, issue])
    assert SECRET not in cerr.render() and SECRET not in json.dumps(cerr.to_dict())


def test_subclasses_redact_too():
    register_secret(SECRET)
    for cls in (errors.TransientError, errors.ConflictError, errors.NotReadyError):
        assert SECRET not in cls(SECRET, SECRET, SECRET).render()
    assert errors.NotReadyError("x").exit_code == errors.EXIT_NOT_READY


def test_credentials_repr_masks_the_password():
    c = Credentials(username="tester", password=SECRET)
    assert SECRET not in repr(c) and SECRET not in str(c)
    assert "tester" in repr(c) and "********" in repr(c)
    inst = Instance(name="iris", image="x", credentials=c)
    assert SECRET not in repr(inst)


def test_credentials_equality_still_uses_the_password():
    assert Credentials("u", "p1x") != Credentials("u", "p2x")
