"""The fake upstream's ASGI app: one route table, request recording, scripted rendering."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from server.fake_upstream.render_chat import CHAT
from server.fake_upstream.render_messages import MESSAGES
from server.fake_upstream.render_responses import RESPONSES
from server.fake_upstream.script import Quirks, RecordedRequest, Reply, Script
from server.fake_upstream.wire import RenderContext, Rendered, comment, dumps, error_body
from server.names import Provider, WireFormat

__all__ = ["ROUTES", "RENDERERS", "FakeApp", "read_body", "send_bytes"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# path -> (format, flavour): every surface the fake serves, each base URL's real layout.
ROUTES: dict[str, tuple[WireFormat, Provider]] = {
    "/v1/chat/completions": (WireFormat.CHAT_COMPLETIONS, Provider.OPENAI),
    "/v1/responses": (WireFormat.RESPONSES, Provider.OPENAI),
    "/v1/messages": (WireFormat.MESSAGES, Provider.ANTHROPIC),
    "/api/v1/chat/completions": (WireFormat.CHAT_COMPLETIONS, Provider.OPENROUTER),
    "/api/v1/responses": (WireFormat.RESPONSES, Provider.OPENROUTER),
    "/openai/v1/chat/completions": (WireFormat.CHAT_COMPLETIONS, Provider.SEQURITY_AZURE),
    "/openai/v1/responses": (WireFormat.RESPONSES, Provider.SEQURITY_AZURE),
}

RENDERERS: dict[WireFormat, Rendered] = {
    WireFormat.CHAT_COMPLETIONS: CHAT,
    WireFormat.MESSAGES: MESSAGES,
    WireFormat.RESPONSES: RESPONSES,
}

_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_NO_RETRY = {"x-should-retry": "false"}  # both SDKs honour it: a test bug fails at once


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_bytes(
    send: Send, *, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _internal(message: str, status: int = 500) -> Reply:
    return Reply.error(status, f"fake upstream: {message}", headers=_NO_RETRY)


class FakeApp:
    """Answers each request with the script's next reply, rendered in the request's format."""

    def __init__(self, script: Script, quirks: Quirks) -> None:
        self.script = script
        self.quirks = quirks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = await read_body(receive)
        path: str = scope["path"]
        fmt, flavor = ROUTES.get(path, (None, None))
        try:
            parsed: Any = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            parsed = None
        request = RecordedRequest(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            json=parsed,
            format=fmt,
            flavor=flavor,
        )
        self.script.record(request)
        if fmt is None or flavor is None:
            known = ", ".join(sorted(ROUTES))
            message = f"fake upstream: no route {request.method} {path}; known POST routes: {known}"
            await self._send_json(send, 404, {"error": {"message": message}})
            return
        stored = fmt is WireFormat.RESPONSES and isinstance(parsed, dict)
        refused = self._unanswered_calls(parsed) if stored else None
        reply = refused or self._reply(request, raw_ok=isinstance(parsed, dict))
        await self._answer(send, reply=reply, request=request, flavor=flavor, fmt=fmt)

    def _unanswered_calls(self, body: dict[str, Any]) -> Reply | None:
        """OpenAI's check: continuing a stored answer needs an output item for each of its calls."""
        previous = body.get("previous_response_id")
        if not isinstance(previous, str):
            return None
        items = body.get("input") if isinstance(body.get("input"), list) else []
        answered = {str(i.get("call_id")) for i in items
                    if isinstance(i, dict) and str(i.get("type", "")).endswith("_output")}
        missing = self.script.unanswered_calls(previous, answered)
        if not missing:
            return None
        return Reply.error(400, f"No tool output found for function call {missing[0]}.",
                           type="invalid_request_error", headers=_NO_RETRY)

    def _remember_calls(self, request: RecordedRequest, response: Any) -> None:
        if not isinstance(response, dict) or not isinstance(request.json, dict) or request.json.get("store") is False:
            return
        calls = tuple(str(i.get("call_id")) for i in response.get("output") or []
                      if isinstance(i, dict) and i.get("type") in ("function_call", "custom_tool_call"))
        self.script.store_response_calls(str(response.get("id")), calls)

    def _reply(self, request: RecordedRequest, *, raw_ok: bool) -> Reply:
        if request.method != "POST":
            return _internal(f"{request.path} takes POST, got {request.method}", 405)
        if not raw_ok:
            return _internal(f"body of POST {request.path} is not a JSON object", 400)
        try:
            reply = self.script.choose(request)
        except Exception as err:  # a responder bug: surface it in the answer the test reads
            return _internal(f"responder raised {type(err).__name__}: {err}")
        if reply is None:
            model = request.model
            return _internal(
                f"no reply scripted for model {model!r} (POST {request.path}); script one with "
                f"fake.script({model!r}, Reply.text(...)), or set fake.default or fake.responder"
            )
        return reply

    async def _answer(
        self, send: Send, *, reply: Reply, request: RecordedRequest, flavor: Provider, fmt: WireFormat
    ) -> None:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
        if reply.failure is not None:
            await self._send_json(send, reply.failure.status, error_body(flavor, reply.failure), extra)
            return
        ctx = RenderContext(
            model=request.model,
            body=request.json,
            flavor=flavor,
            quirks=self.quirks,
            ids=self.script.ids,
        )
        renderer = RENDERERS[fmt]
        if not request.stream:
            payload = renderer.body(reply, ctx)
            if fmt is WireFormat.RESPONSES:
                self._remember_calls(request, payload)
            await self._send_json(send, 200, payload, extra)
            return
        frames = renderer.events(reply, ctx)
        if fmt is WireFormat.RESPONSES and frames:  # the last frame carries the finished response
            self._remember_calls(request, json.loads(frames[-1].split(b"data: ", 1)[1]).get("response"))
        if flavor is Provider.OPENROUTER and self.quirks.openrouter_processing_comments:
            frames = [comment("OPENROUTER PROCESSING")] * 2 + frames
        await send({"type": "http.response.start", "status": 200, "headers": _SSE + extra})
        for frame in frames:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _send_json(
        send: Send, status: int, payload: Any, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        body = dumps(payload).encode()
        await send_bytes(send, status=status, headers=_JSON + (extra or []), body=body)

