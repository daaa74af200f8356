"""globals/routines are pinned in whole megabytes: IRIS takes MB, and 0 means "automatic"
(25% of host RAM), the opposite of pinning. A sub-megabyte value must not slip through.

routines: IRIS raises a single value below 80 MB to 80 MB, and never has fewer than 430
64-KB routine buffers (about 27 MB), so a small cache is written in the six-value form and
anything below 27m is refused (docs/learnings/memory.md)."""
import pytest

from irisenv.config import parse_config
from irisenv.errors import ConfigError
from irisenv.iris.mergefile import first_boot


@pytest.mark.parametrize("key,value,phrase", [
    ("globals", "512k", "whole number of megabytes"),
    ("routines", "1536k", "whole number of megabytes"),
    ("globals", "4m", "too small (at least 8m)"),
    ("routines", "7m", "too small (at least 27m)"),
    ("routines", "26m", "too small (at least 27m)"),
])
def test_cache_sizes_must_pin_whole_megabytes(key, value, phrase):
    text = f'[instances.iris]\n{key} = "{value}"\n'
    with pytest.raises(ConfigError) as err:
        parse_config(text, None)
    rendered = err.value.render()
    assert f"instances.iris.{key}" in rendered and phrase in rendered
    assert ":2:" in rendered  # the line of the bad value


def boot_config(routines: str, globals_: str = "1g") -> str:
    cfg = parse_config(f'[instances.iris]\nmemory = "4g"\nglobals = "{globals_}"\n'
                       f'routines = "{routines}"\n', None)
    return first_boot(cfg.instances["iris"])


def test_whole_megabytes_accepted_and_rendered_in_mb():
    text = boot_config("27m")
    assert "globals=0,0,1024,0,0,0" in text and "routines=0,0,0,0,0,27" in text


@pytest.mark.parametrize("routines,line", [
    ("27m", "routines=0,0,0,0,0,27"),  # the smallest: 432 64-KB buffers
    ("64m", "routines=0,0,0,0,0,64"),  # the default: a single 64 would become 80 MB
    ("79m", "routines=0,0,0,0,0,79"),
    ("80m", "routines=80"),  # from 80 MB on, IRIS's own split over 4/16/64-KB pools
    ("512m", "routines=512"),
])
def test_small_routine_caches_are_pinned_in_the_six_value_form(routines, line):
    lines = boot_config(routines).splitlines()
    assert line in lines
    assert sum(ln.startswith("routines=") for ln in lines) == 1


@pytest.mark.parametrize("memory,ok", [
    ("868m", False),  # the old check (globals + routines + 256m = 576m) let this through
    ("1g", True),
])
def test_memory_check_counts_the_heap_and_journal_buffers(memory, ok):
    text = f'[instances.iris]\nmemory = "{memory}"\nglobals = "256m"\nroutines = "64m"\n'
    if ok:
        parse_config(text, None)
        return
    with pytest.raises(ConfigError) as err:
        parse_config(text, None)
    rendered = err.value.render()
    assert "instances.iris.memory" in rendered
    assert "300m shared memory heap" in rendered and "64m journal buffers" in rendered
    assert 'raise memory to at least "869m"' in rendered


def test_memory_floor_follows_the_documented_allocations():
    from irisenv.config import memory

    MB = 1024**2
    # IRIS's own startup line for globals=0,0,5000,0,0,0 routines=151 (ARES): 5682 MB
    # shared memory with a 162 MB heap; irisenv assumes the default heap (>= 300 MB)
    assert memory.shared(5000 * MB, 151 * MB) >= (5682 - 162 + 300) * MB
    # a community container log: 953 MB globals, 95 MB routines -> 1507 MB shared memory
    assert memory.shared(953 * MB, 95 * MB) >= 1507 * MB
    # the heap is 3 % of the global buffers above 10 GB, at most 2 GB
    assert memory.heap(20_000 * MB) == 600 * MB
    assert memory.heap(100_000 * MB) == 2048 * MB
    assert memory.floor(256 * MB, 64 * MB) == 869 * MB
