"""str() of irisenv's errors is the whole what/why/fix text, exactly what the CLI prints.

Tools that show an exception through str() -- pytest's `E` lines, nox, logging, a user's
own `print(exc)` -- must not lose the why and the fix."""
from __future__ import annotations

from irisenv.errors import ConfigError, ConfigIssue, IrisenvError, NotReadyError, register_secret


def test_str_is_the_whole_rendered_error():
    exc = NotReadyError("could not connect to instance iris", "the driver said: refused",
                        "check `irisenv status`")
    assert str(exc) == exc.render()
    assert str(exc).splitlines() == ["error: could not connect to instance iris",
                                     "  why: the driver said: refused",
                                     "  fix: check `irisenv status`"]


def test_str_of_a_config_error_lists_every_issue_with_its_location():
    exc = ConfigError([
        ConfigIssue("project.name", "must be a name", "names prefix containers", "write a name",
                    file="x.toml", line=2, column=8, source_line="name = 3"),
        ConfigIssue("instances.iris.memroy", "unknown key 'memroy'", "", "did you mean 'memory'?",
                    file="x.toml", line=5, column=1),
    ])
    text = str(exc)
    assert text == exc.render()
    assert "x.toml:2:8: project.name: must be a name" in text
    assert "fix: write a name" in text and "x.toml:5:1" in text and "2 problems" in text


def test_str_masks_secrets_like_the_cli():
    register_secret("Str-Secret-4411")
    exc = IrisenvError("login failed", "IRIS said: bad password Str-Secret-4411", "")
    assert "Str-Secret-4411" not in str(exc)
    assert "********" in str(exc)
