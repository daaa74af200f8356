"""Markers of the pytest plugin's once-per-test-run sync, in the per-user state directory.

``runs/<run id>/synced-<lock key>`` says that this test run (pytest-xdist workers share
its id) already synced that (engine, project). The run's directory is removed when the run
ends (the plugin's controller, or the only process without xdist, at session finish);
directories older than a day are pruned, for runs that crashed before their end.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from . import statedir

MAX_AGE = 86400.0


def _marker(run_dir: Path, endpoint: str, project: str) -> Path:
    from .lock import lock_key

    return run_dir / f"synced-{lock_key(endpoint, project)}"


def synced(run_id: str, endpoint: str, project: str) -> bool:
    run_dir = statedir.existing("runs", statedir.safe_name(run_id))
    return run_dir is not None and os.path.lexists(_marker(run_dir, endpoint, project))


def mark_synced(run_id: str, endpoint: str, project: str) -> None:
    run_dir = statedir.directory("runs", statedir.safe_name(run_id))
    try:
        statedir.write_file(_marker(run_dir, endpoint, project), project)
    except OSError:
        pass  # without the marker another worker syncs again: slower, not wrong


def end_run(run_id: str) -> None:
    """Forget a finished run (never creates the state directory)."""
    runs = statedir.existing("runs")
    if runs is not None:
        statedir.remove_tree(runs / statedir.safe_name(run_id))  # a link there: just unlinked


def prune(max_age: float = MAX_AGE) -> None:
    """Remove run directories older than ``max_age`` seconds (runs that never ended)."""
    runs = statedir.existing("runs")
    now = time.time()
    try:
        entries = list(os.scandir(runs)) if runs is not None else []
    except OSError:
        return
    for entry in entries:
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime > max_age:
                statedir.remove_tree(Path(entry.path))
        except OSError:
            pass
