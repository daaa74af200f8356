"""irisenv.session(session): sync before a nox session and hand it the connection.

nox has no parallel mode of its own; several nox processes at once (or `nox` beside a
pytest run) are serialized by the project lock, and all but the first find the project
converged, which costs one container list and one IRIS probe.
"""
from __future__ import annotations


class _NoxReporter:
    """Progress lines through session.log (nox's own output)."""

    def __init__(self, session):
        self.session = session

    def event(self, kind, message, instance=None, **fields):
        if kind in ("created", "started", "replaced", "removed", "ready", "converged", "error",
                    "warning", "lock", "pull", "note"):
            from ..errors import redact

            self.session.log(redact(f"irisenv: {instance + ': ' if instance else ''}{message}"))

    def close(self):
        pass


# nox sets the root logger to DEBUG (silencing only the loggers it knows), so the Docker
# SDK's and urllib3's per-request debug lines would flood the session's output; irisenv
# reports its own progress through session.log.
_QUIET_LOGGERS = ("docker", "urllib3")


def _quiet_engine_loggers() -> None:
    import logging

    for name in _QUIET_LOGGERS:
        log = logging.getLogger(name)
        if log.level == logging.NOTSET:  # never override a level the user chose
            log.setLevel(logging.WARNING)


def _environ(session) -> dict:
    """os.environ, with a relative $IRISENV_CONFIG made absolute against the directory nox
    was invoked from: nox runs sessions in the noxfile's directory, but the user wrote the
    path relative to where they typed the command."""
    import os
    from pathlib import Path

    from ..config import ENV_CONFIG

    environ = dict(os.environ)
    raw = environ.get(ENV_CONFIG)
    if raw:
        path = Path(raw).expanduser()
        if not path.is_absolute():
            base = getattr(session, "invoked_from", None) or os.getcwd()
            environ[ENV_CONFIG] = os.path.normpath(os.path.join(base, path))
    return environ


def session(session, instance=None, namespace=None, *, config=None, timeout: float = 180.0):
    """See irisenv.session(). An irisenv error ends the session through session.error(), so
    nox reports its what/why/fix as the reason, without a traceback."""
    from ..errors import IrisenvError

    try:
        return _session(session, instance, namespace, config, timeout)
    except IrisenvError as exc:
        session.error(str(exc))


def _session(session, instance, namespace, config, timeout):
    from ..config import ENV_CONFIG, load_config
    from ..config.model import Config
    from ..core.plan import Options
    from ..project import Project

    _quiet_engine_loggers()
    cfg = config if isinstance(config, Config) else load_config(config, environ=_environ(session))
    project = Project(cfg)
    if namespace is not None:
        namespace = project.declared_namespace(instance, namespace)
    project.sync(Options(), timeout=timeout, reporter=_NoxReporter(session))
    conn = project.connection(instance, namespace)
    session.env.update(conn.env())
    if cfg.path is not None:  # the session's commands (pytest, ...) use the same file
        session.env[ENV_CONFIG] = str(cfg.path)
    return conn
