"""Why a declared init is re-applied, as the plan line says it: an init that completed and
changed is 'init changed' (naming the files when irisenv knows them), on any storage;
only an init whose record is pending 'did not complete'."""
from __future__ import annotations

from test_init import _desired, _inits, _seen

from irisenv.core import init
from irisenv.core.iris_plan import plan_iris

CHANGED = "namespace APP: init changed -> databases reset and re-initialised"


def test_a_changed_init_whose_files_irisenv_cannot_name_says_changed(tmp_path):
    # applied from another machine, or the state directory was deleted: no manifest of it
    d = _desired(tmp_path)
    (a,) = _inits(plan_iris(d, _seen("f" * 32)))
    assert a.reset and not a.destroys and a.describe() == CHANGED


def test_a_changed_run_entry_says_changed(tmp_path):
    # the files are as applied; only the init's other content (a run expression) differs
    d = _desired(tmp_path)
    (a,) = _inits(plan_iris(d, _seen("f" * 32), previous={"f" * 32: d.inits[0].files()}.get))
    assert a.changed == () and a.describe() == CHANGED


def test_only_a_pending_init_did_not_complete(tmp_path):
    d = _desired(tmp_path)
    (a,) = _inits(plan_iris(d, _seen(init.PENDING)))
    assert a.describe() == ("namespace APP: previous init did not complete -> databases "
                            "reset and re-initialised")
