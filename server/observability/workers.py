"""What `serve` prepares before uvicorn starts its workers: a store check and shared metrics files.

Decisions:
- The session store is checked once in the parent, so a Redis that is down at start stops the
  server with one clear line instead of N worker tracebacks (each worker checks again, too).
- With several workers and no PROMETHEUS_MULTIPROC_DIR, a fresh temporary directory is used and
  removed at exit: every worker writes its metric values there and `/metrics` sums them. An
  operator who sets the variable keeps their directory (it must be emptied between runs).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from server.errors import StoreUnavailable
from server.sessions.factory import open_session_store, session_store_target
from server.settings import Settings

__all__ = ["session_store_problem", "multiprocess_metrics_dir"]

_ENV = "PROMETHEUS_MULTIPROC_DIR"


def session_store_problem(settings: Settings, *, workers: int = 1) -> str | None:
    """Why the configured session store cannot serve `workers` workers, or None when it can."""
    try:
        kind, _ = session_store_target(settings)
    except ValueError as err:  # a value that names no store
        return str(err)
    if kind == "memory" and workers > 1:
        return (
            f"the memory session store lives in one process and cannot be shared by {workers}"
            " workers; set SEQURITY_CONTROL_SESSION_STORE to a sqlite:/// file (one machine)"
            " or a redis:// URL"
        )

    async def check() -> None:
        store = open_session_store(settings)
        try:
            await store.ping()
        finally:
            await store.aclose()

    try:
        asyncio.run(check())
    except StoreUnavailable as err:
        return f"{err.message} (SEQURITY_CONTROL_SESSION_STORE)"
    return None


@contextmanager
def multiprocess_metrics_dir(workers: int) -> Iterator[str | None]:
    """Point prometheus-client's multiprocess mode at a shared directory while workers run."""
    if os.environ.get(_ENV) or workers <= 1:
        yield os.environ.get(_ENV) or None
        return
    path = tempfile.mkdtemp(prefix="sequrity-metrics-")
    os.environ[_ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(_ENV, None)
        shutil.rmtree(path, ignore_errors=True)
