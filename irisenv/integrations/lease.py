"""irisenv.lease(): a clean pool copy for a block of Python code (docs/integrations.md)."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import replace


@contextmanager
def lease(project, namespace: str | None, instance: str | None, *, timeout: float):
    from .. import pool_lease

    conn = project.connection(instance)  # running? its ports and id (one container list)
    copy = pool_lease.acquire(project, conn.instance, namespace, timeout=timeout,
                              container=conn.container_id,
                              say=lambda text: print(f"irisenv: {text}", file=sys.stderr))
    try:
        yield replace(conn, namespace=copy)
    finally:
        pool_lease.release(project, conn.instance, copy)
