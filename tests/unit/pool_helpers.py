"""A project with a pooled namespace on the in-memory engine, for the lease tests (unit and
CLI): the lease table as a sync leaves it, and stand-ins for the IRIS side of a pool
(irisenv.iris.pool: create_copy, reset_copies), which these tests never reach."""
from __future__ import annotations

import sys
import types

from fake_engine import HEALTHY_IRIS, IMAGE, actual_of

from irisenv import leases
from irisenv.config.load import parse_config
from irisenv.core.desired import desired_container
from irisenv.core.runspec import run_spec
from irisenv.project import Project

T = "iris/APP"
TOML = f"""[project]
name = "demo"
[instances.iris]
image = "{IMAGE}"
[instances.iris.namespaces.APP]
pool = {{ min = 2, max = 3 }}
[instances.iris.namespaces.OTHER]
"""


def project(fake, path=None) -> Project:
    cfg = parse_config(TOML, path, default_project="demo")
    d = desired_container(cfg, cfg.instances["iris"])
    fake.add(d.name, d.labels, actual=actual_of(run_spec(d, d.name)), iris=HEALTHY_IRIS,
             image=IMAGE)
    return Project(cfg, engine=fake)


def synced(p: Project, clean=(1, 2), init="h1") -> leases.LeaseTable:
    """The pool as a sync leaves it, in the instance's container: copies ``clean`` exist
    and were reset (clean)."""
    t = leases.LeaseTable(p.engine.endpoint, p.name)
    t.synced(T, init, 3, {leases.copy_key(T, n): (n, init) for n in clean},
             p.container_id("iris"))
    for copy in t.claim_dirty():
        t.reset_done(copy, init)
    return t


class IrisPool:
    """Stand-in for irisenv.iris.pool (P1's IRIS side) with its signatures: records its calls.
    ``created``: [(container id, copy key, template key, master hash)]; ``reset``:
    [(container id, [copy keys of the batch])], the jobs themselves in ``jobs``;
    ``answers``: {copy key: error} for the resets that fail ("" otherwise)."""

    def __init__(self):
        self.created, self.reset, self.jobs, self.fail_create, self.answers = [], [], [], None, {}

    def create_copy(self, engine, cid, desired, copy, template, digest, *, timeout=300):
        if self.fail_create is not None:
            raise self.fail_create
        self.created.append((cid, copy, template, digest))

    def reset_copies(self, engine, cid, desired, copies, *, timeout=300):
        jobs = [tuple(j) for j in copies]
        self.reset.append((cid, [c for c, _t, _h in jobs]))
        self.jobs.append(jobs)
        return {c: self.answers.get(c, "") for c, _t, _h in jobs}

    def install(self, monkeypatch):
        mod = types.ModuleType("irisenv.iris.pool")
        mod.create_copy, mod.reset_copies = self.create_copy, self.reset_copies
        monkeypatch.setitem(sys.modules, "irisenv.iris.pool", mod)
        return self
