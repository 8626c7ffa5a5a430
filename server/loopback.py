"""Run an ASGI app as a real uvicorn server on loopback in a background thread (tests, demos, notebooks)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

__all__ = ["LoopbackServer"]

STARTUP_TIMEOUT_SECONDS = 15.0


class LoopbackServer:
    """`with LoopbackServer(app) as s: httpx.get(s.url + "/health")` — a free port unless given.

    The server has its own event loop in a daemon thread, so sync and async callers use it alike.
    `uvicorn_options` go to `uvicorn.Config` (e.g. `lifespan="off"`, `timeout_graceful_shutdown=1`).
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any) -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self._options = {"log_level": "warning", "access_log": False, **uvicorn_options}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("server is already running; call stop() first")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._requested_port))
        self._port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self._app, **self._options))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="loopback-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start on {self._host}:{self._port}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server has no port yet; call start() or use `with`")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"
