"""`server="local"`: our FastAPI app in this process: keys and audit in SQLite in a temp dir, sessions in memory.

Decision: the app runs under uvicorn on a free loopback port in a daemon thread (`LoopbackServer`)
rather than through httpx's `ASGITransport`. `ASGITransport` is async-only, and a sync caller inside
Jupyter (which already runs an event loop) cannot drive it; a thread with its own loop works the
same in scripts, services and notebooks, and every client (httpx, the OpenAI SDK behind
`ChatOpenAI`, the official `sequrity` client) reaches it by URL. The bearer key is generated per
server; upstream settings come from the environment (OPENAI_API_KEY, ...) plus `overrides`.

Decision: sessions live in the memory store. This server's sessions never outlive the process (its
files are in a temp dir removed at exit) and no other process shares them, so the SQLite store only
added a thread hop and a transaction per lease, save and release: about 0.9 ms per graph node
(`bench/langgraph.py`). Pass `session_store=...` to choose another.

Example::

    with LocalServer(openai_base_url=fake.openai_base_url, openai_api_key="k") as local:
        httpx.get(local.url + "/health")
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from server.app import create_app
from server.loopback import LoopbackServer
from server.settings import Settings

__all__ = ["LocalServer", "shared_local_server", "stop_shared_servers"]


class LocalServer:
    """A Sequrity Control server for this process only: `url`, `api_key`, `settings`."""

    def __init__(self, **overrides: Any) -> None:
        self._overrides = overrides
        self._tmp: Path | None = None
        self._server: LoopbackServer | None = None
        self.api_key = "sqc_local_" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
        self.settings: Settings | None = None

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._tmp = Path(tempfile.mkdtemp(prefix="sequrity-local-"))
        values: dict[str, Any] = {
            "api_keys": self.api_key,
            "database_url": f"sqlite:///{self._tmp}/control.db",
            "session_store": "memory",  # see the module doc
            "log_format": "text",
            **self._overrides,
        }
        self.settings = Settings(**values)
        self._server = LoopbackServer(create_app(self.settings), timeout_graceful_shutdown=1).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None
        self.remove_files()

    def remove_files(self) -> None:
        """Delete the temp dir (database and sessions); the server must not be used afterwards."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalServer is not running; call start() or use `with`")
        return self._server.url

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _Registry:
    """One running `LocalServer` per distinct overrides, shared by every executor in the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[tuple[tuple[str, str], ...], LocalServer] = {}

    def get(self, overrides: dict[str, Any]) -> LocalServer:
        key = tuple(sorted((k, repr(v)) for k, v in overrides.items()))
        with self._lock:
            server = self._servers.get(key)
            if server is None:
                server = self._servers[key] = LocalServer(**overrides).start()
            return server

    def forget_at_exit(self) -> None:
        # At interpreter exit the server's executors are already shut down, so stopping the app
        # would fail in its lifespan; the daemon threads end with the process, only files remain.
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.remove_files()

    def stop_all(self) -> None:
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.stop()


REGISTRY = _Registry()
atexit.register(REGISTRY.forget_at_exit)


def shared_local_server(**overrides: Any) -> LocalServer:
    """The process's co-located server for these settings overrides (started on first use)."""
    return REGISTRY.get(overrides)


def stop_shared_servers() -> None:
    """Stop every shared co-located server (they also stop at interpreter exit)."""
    REGISTRY.stop_all()
