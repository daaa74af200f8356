"""The engine-side lock is taken before the first plan exactly when a change is certain:
an instance under reuse = "never", by the config or by `--reuse` for this run."""
from types import SimpleNamespace

from irisenv.core.plan import Options
from irisenv.phases import changes_certain


def project(*modes):
    return SimpleNamespace(config=SimpleNamespace(
        instances={f"i{n}": SimpleNamespace(reuse=m) for n, m in enumerate(modes)}))


def test_the_configs_own_reuse_mode():
    assert changes_certain(project("matching", "never"), Options())
    assert not changes_certain(project("matching", "always"), Options())


def test_reuse_on_the_command_line_overrides_every_instances_mode():
    assert changes_certain(project("matching"), Options(reuse="never"))
    assert not changes_certain(project("never"), Options(reuse="matching"))
