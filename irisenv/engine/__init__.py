"""The container engine behind irisenv: the boundary (base.py: the Engine protocol and the
records callers read), the retry layer (retry.py) and the backends (docker.py, the only
module that imports docker). Callers get an engine from :func:`open_engine` and use only
what base.py declares. Importing this package is cheap: a backend is imported when opened."""
from __future__ import annotations

from .base import Engine

__all__ = ["Engine", "open_engine"]

# Endpoint schemes the Docker backend serves (DOCKER_HOST / `docker context` spellings).
DOCKER_SCHEMES = ("unix", "tcp", "ssh", "npipe", "http", "https")


def open_engine(endpoint: str | None = None) -> Engine:
    """The engine at ``endpoint``, behind the retry layer. None: where the Docker CLI would
    look (DOCKER_HOST, else the current docker context, else the local socket). Opening
    one that does not answer is retried like any transient fault, then raises
    TransientError (what / why / fix)."""
    from .retry import RetryingEngine, call

    return RetryingEngine(call(_backend(endpoint), endpoint))


def _backend(endpoint: str | None):
    """The backend class that serves ``endpoint``, chosen by its scheme."""
    scheme = endpoint.split("://", 1)[0].lower() if endpoint and "://" in endpoint else None
    if endpoint is None or scheme in DOCKER_SCHEMES:
        from .docker import DockerEngine

        return DockerEngine
    from ..errors import IrisenvError

    raise IrisenvError(f"no engine backend serves {endpoint}",
                       f"irisenv talks to Docker at {', '.join(s + '://' for s in DOCKER_SCHEMES)} "
                       "endpoints",
                       "point DOCKER_HOST or `docker context use` at a Docker engine")
