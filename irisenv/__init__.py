"""irisenv: reproducible, declarative InterSystems IRIS test databases.

The public API is small and cheap to import (nothing heavy is loaded until used):

    import irisenv
    cfg = irisenv.load_config()                # iris-devtester.toml, discovered
    irisenv.sync()                             # converge Docker and IRIS, wait until ready
    conn = irisenv.connect()                   # a DB-API connection (intersystems-irispython)
    irisenv.session(nox_session)               # in a noxfile: sync + connection variables
    with irisenv.lease("APP") as conn: ...     # a clean pool copy of namespace APP
"""
from __future__ import annotations

from ._version import __version__
from .errors import (ConfigError, IrisenvError, NotReadyError)

__all__ = ["ConfigError", "IrisenvError", "NotReadyError", "Project", "__version__", "connect",
           "lease", "load_config", "plan", "session", "sync"]


def load_config(path=None):
    """Load iris-devtester.toml (path, $IRISENV_CONFIG, or found walking up from cwd)."""
    from .config import load_config as _load

    return _load(path)


def _project(config):
    from .config.model import Config
    from .project import Project

    return Project(config if isinstance(config, Config) else load_config(config))


def plan(config=None, *, recreate: bool = False, remove_orphans: bool = False,
         drop_namespaces: bool = False, pull: bool = False):
    """The plan (irisenv.core.plan.Plan) that sync would carry out; changes nothing."""
    from .core.plan import Options

    return _project(config).plan(Options(recreate=recreate, remove_orphans=remove_orphans,
                                         drop_namespaces=drop_namespaces, pull=pull))


def sync(config=None, *, recreate: bool = False, remove_orphans: bool = False, wait: bool = True,
         drop_namespaces: bool = False, pull: bool = False, timeout: float = 180.0,
         progress: str = "quiet"):
    """Converge Docker and IRIS to the config; returns when ready (or raises).

    ``drop_namespaces``: also drop namespaces no longer declared on durable storage
    (their data is deleted); without it they are kept and a note says so. ``pull``: this
    run, check the registry for a newer image behind each tag (as pull = "always")."""
    from .core.plan import Options
    from .report import make_reporter

    reporter = make_reporter(progress)
    try:
        return _project(config).sync(Options(recreate=recreate, remove_orphans=remove_orphans,
                                             wait=wait, drop_namespaces=drop_namespaces,
                                             pull=pull),
                                     timeout=timeout, reporter=reporter)
    finally:
        reporter.close()


def connect(instance: str | None = None, namespace: str | None = None, *, config=None,
            timeout: float = 60.0):
    """A DB-API connection to a running, synced instance."""
    return _project(config).connect(instance, namespace, timeout=timeout)


def lease(namespace: str | None = None, instance: str | None = None, *, config=None,
          timeout: float = 120.0):
    """A context manager: a clean copy of the pooled ``namespace`` (default: the
    instance's first), leased for the block; yields its Connection (an
    irisenv.project.Connection whose ``namespace`` is the copy, ``env()`` the connection
    variables with IRIS_NAMESPACE the copy). On leaving the block the copy is handed back
    and reset in the background. Needs a synced project (`irisenv sync` makes the pool);
    when every copy is in use it grows the pool up to its max, else waits up to
    ``timeout`` seconds for a reset (docs/pool.md)."""
    from .integrations.lease import lease as _lease

    return _lease(_project(config), namespace, instance, timeout=timeout)


def session(session, instance: str | None = None, namespace: str | None = None, *,
            config=None, timeout: float = 180.0):
    """For noxfiles: sync (fast and locked when converged), put the connection variables
    into session.env, and return them (an irisenv.project.Connection). A failure aborts
    the session with irisenv's what/why/fix (session.error), without a traceback."""
    from .integrations.nox import session as _session

    return _session(session, instance, namespace, config=config, timeout=timeout)


def __getattr__(name):
    if name == "Project":
        from .project import Project

        return Project
    raise AttributeError(f"module 'irisenv' has no attribute {name!r}")
