"""globals/routines are pinned in whole megabytes: IRIS takes MB, and 0 means "automatic"
(25% of host RAM), the opposite of pinning. A sub-megabyte value must not slip through."""
import pytest

from irisenv.config import parse_config
from irisenv.errors import ConfigError


@pytest.mark.parametrize("key,value,phrase", [
    ("globals", "512k", "whole number of megabytes"),
    ("routines", "1536k", "whole number of megabytes"),
    ("globals", "4m", "too small (at least 8m)"),
    ("routines", "7m", "too small (at least 8m)"),
])
def test_cache_sizes_must_pin_whole_megabytes(key, value, phrase):
    text = f'[instances.iris]\n{key} = "{value}"\n'
    with pytest.raises(ConfigError) as err:
        parse_config(text, None)
    rendered = err.value.render()
    assert f"instances.iris.{key}" in rendered and phrase in rendered
    assert ":2:" in rendered  # the line of the bad value


def test_whole_megabytes_accepted_and_rendered_in_mb():
    from irisenv.iris.mergefile import first_boot

    cfg = parse_config('[instances.iris]\nglobals = "1g"\nroutines = "8m"\n', None)
    inst = cfg.instances["iris"]
    text = first_boot(inst)
    assert "globals=0,0,1024,0,0,0" in text and "routines=8" in text
