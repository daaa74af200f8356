"""The pool's resetter: bring dirty copies back to their template's master (docs/pool.md,
"Background reset"). One resetter at a time per (engine, project): it holds
``<table>.reset.lock`` without waiting for it, and whoever finds it held leaves its dirty
copies to the running one, which looks again after letting the lock go, so a copy released
at that moment is not stranded.

How a batch of copies is reset inside IRIS is the caller's ``reset`` (the IRIS side is
built later: irisenv/iris/); this module only orders the lease table's states around it:
dirty -> resetting (claimed) -> clean with the master's hash, or dirty again with the
error. A copy whose reset failed is tried once more by the same run, after RETRY_PAUSE (a
reset fails now and then for a passing reason: an exec under heavy load; a reset is
idempotent), then left dirty with its error: without that, a failure after the last
release of a run strands the copy until the next release, lease or sync.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .core import leases as core
from .leases import LeaseTable, holder

RESETTER_LINGER = 2.0  # seconds the background resetter stays for more released copies
RETRIES = 1  # times one run tries a copy again after its reset failed
RETRY_PAUSE = 1.0  # seconds before it does
LINGER_POLL = 0.05  # seconds between its looks meanwhile (a table read each)


@dataclass
class ResetRun:
    """What one run of the resetter did."""

    ran: bool = True  # False: another resetter was running and was left the work
    reset: list = field(default_factory=list)  # copy keys now clean
    failed: dict = field(default_factory=dict)  # copy key -> error
    tries: dict = field(default_factory=dict)  # copy key -> failed resets so far


def drain(table: LeaseTable, reset: Callable, who: core.Holder | None = None,
          instance: str | None = None, linger: float = 0.0) -> ResetRun:
    """Reset every dirty copy of a known pool (of ``instance``'s pools only, when given:
    ``reset`` works in one container), in batches. ``reset(jobs)`` gets
    ``[(copy key, template key, master hash)]`` and returns {copy key: error text, "" when
    it was reset}; a copy it does not answer for counts as failed. ``linger``: seconds to
    stay (holding the reset lock) after the last batch, looking for copies released
    meanwhile: while tests keep releasing, one resetter serves them all instead of a
    process start per release (the background resetter's; sync's does not linger)."""
    who = who or holder()
    out = ResetRun(ran=False)
    from .lock import try_file_lock

    while True:
        with try_file_lock(table.path.with_suffix(".reset.lock")) as mine:
            if not mine:
                return out
            out.ran = True
            _batches(table, reset, who, out, instance, linger)
        left = table.read()
        if not any(c.state == core.DIRTY and c.template in left.templates
                   and k not in out.failed and (instance is None or k.startswith(f"{instance}/"))
                   for k, c in left.copies.items()):
            return out


def _batches(table: LeaseTable, reset: Callable, who: core.Holder, out: ResetRun,
             instance: str | None = None, linger: float = 0.0) -> None:
    import time

    idle_since = time.monotonic()
    while True:
        taken = table.claim_dirty(who, skip=frozenset(out.failed), instance=instance)
        if not taken:
            if time.monotonic() - idle_since >= linger:
                return
            time.sleep(LINGER_POLL)
            continue
        now = table.read()
        jobs = [(k, now.copies[k].template, now.templates[now.copies[k].template].init)
                for k in taken]
        try:
            said = reset(jobs)
        except Exception as exc:  # the whole batch failed: each copy says why
            said = {k: f"{type(exc).__name__}: {exc}" for k, _, _ in jobs}
        again = False
        for copy, _template, init in jobs:
            error = said.get(copy, "no answer from the reset")
            if error:
                table.reset_failed(copy, error, who)
                out.tries[copy] = out.tries.get(copy, 0) + 1
                if out.tries[copy] > RETRIES:
                    out.failed[copy] = error
                else:
                    again = True  # dirty again: the next claim takes it
            else:
                table.reset_done(copy, init, who)
                out.reset.append(copy)
        if again:
            time.sleep(RETRY_PAUSE)
        idle_since = time.monotonic()
