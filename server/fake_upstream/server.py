"""`FakeUpstream`: the scripted fake provider as a real uvicorn server on loopback, in a thread."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from server.fake_upstream.app import FakeApp
from server.fake_upstream.script import Quirks, RecordedRequest, Reply, Responder, Script
from server.loopback import LoopbackServer

__all__ = ["FakeUpstream"]

SHUTDOWN_GRACE_SECONDS = 1  # a reply sleeping on `delay` must not hold up stop() for long


class FakeUpstream:
    """A scripted OpenAI / OpenRouter / Azure OpenAI / Anthropic upstream on 127.0.0.1.

    Example::

        with FakeUpstream() as fake:
            fake.script("gpt-test", Reply.text("hello"))
            client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k")
            client.chat.completions.create(model="gpt-test", messages=[...])
            assert fake.requests[0].json["model"] == "gpt-test"

    The server runs on its own event loop in a daemon thread, so sync and async tests use it
    alike (`async with` works too); scripting and reading `requests` are thread-safe.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        quirks: Quirks = Quirks(),
        default: Reply | None = None,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._initial_quirks = quirks
        self._initial_default = default
        self._script = Script()
        self._script.default = default
        self._app = FakeApp(self._script, quirks)
        self._server: LoopbackServer | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a port (a free one when `port=0`) and serve until `stop()`."""
        if self._server is not None:
            raise RuntimeError("FakeUpstream is already running; call stop() first")
        self._server = LoopbackServer(
            self._app,
            host=self._host,
            port=self._requested_port,
            lifespan="off",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        ).start()
        self._port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        """`async with FakeUpstream() as fake:` starts it without blocking the test's loop."""
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeUpstream has no port yet; call start() or use `with`")
        return self._port

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`, the server root (Anthropic base URL, Azure endpoint)."""
        return f"http://{self._host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def openrouter_base_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def azure_endpoint(self) -> str:
        """Azure OpenAI endpoint; the `openai` SDK's base URL is `{azure_endpoint}/openai/v1`."""
        return self.url

    @property
    def azure_base_url(self) -> str:
        return f"{self.url}/openai/v1"

    # -- scripting ---------------------------------------------------------------------------

    def script(self, model: str, *replies: Reply) -> None:
        """Queue replies for requests naming `model`, answered in order, each used once."""
        self._script.add(model, replies)

    @property
    def default(self) -> Reply | None:
        """The reply for a model whose queue is empty and the responder declined."""
        return self._script.default

    @default.setter
    def default(self, reply: Reply | None) -> None:
        self._script.default = reply

    @property
    def responder(self) -> Responder | None:
        """`(request_json, format) -> Reply | None`, asked when the model's queue is empty."""
        return self._script.responder

    @responder.setter
    def responder(self, responder: Responder | None) -> None:
        self._script.responder = responder

    @property
    def quirks(self) -> Quirks:
        return self._app.quirks

    @quirks.setter
    def quirks(self, quirks: Quirks) -> None:
        self._app.quirks = quirks

    @property
    def remaining(self) -> dict[str, int]:
        """Scripted replies not yet consumed, per model (empty when the test used them all)."""
        return self._script.remaining

    # -- assertions --------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the last reset, oldest first (a copy)."""
        return self._script.requests

    @property
    def last_request(self) -> RecordedRequest:
        requests = self._script.requests
        if not requests:
            raise LookupError("the fake upstream has received no request since the last reset")
        return requests[-1]

    def forget_requests(self) -> None:
        """Drop the request log (long-running drivers such as benchmarks keep it from growing)."""
        self._script.forget_requests()

    def reset(self) -> None:
        """Forget scripts, requests and id counters; restore the constructor's quirks and default."""
        self._script.reset()
        self._script.default = self._initial_default
        self._app.quirks = self._initial_quirks
