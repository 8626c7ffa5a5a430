"""The benchmark's fake upstream: every route answers one fixed reply from prebuilt bytes."""

from __future__ import annotations

import json

from server.fake_upstream.app import RENDERERS, ROUTES, Receive, Scope, Send, read_body, send_bytes
from server.fake_upstream.script import IdMint, Quirks, Reply
from server.fake_upstream.wire import RenderContext, comment, dumps
from server.names import Provider

__all__ = ["FixedReplyApp"]

_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_NOT_FOUND = b'{"error":{"message":"fake upstream: unknown route"}}'

# (path, stream, include_usage) -> (headers, body)
_Key = tuple[str, bool, bool]


class FixedReplyApp:
    """Answers instantly: the body is picked from a table built once, so a request costs one
    JSON parse of the request (to read `stream`) and two ASGI sends. Ids and model are fixed."""

    def __init__(self, *, reply: Reply, model: str = "fake-model", quirks: Quirks = Quirks.off()):
        self._answers: dict[_Key, tuple[list[tuple[bytes, bytes]], bytes]] = {}
        for path, (fmt, flavor) in ROUTES.items():
            renderer = RENDERERS[fmt]
            for include_usage in (False, True):
                ctx = RenderContext(
                    model=model,
                    body={"stream_options": {"include_usage": include_usage}},
                    flavor=flavor,
                    quirks=quirks,
                    ids=IdMint(),
                )
                self._answers[(path, False, include_usage)] = (
                    _JSON, dumps(renderer.body(reply, ctx)).encode()
                )
                frames = renderer.events(reply, ctx)
                if flavor is Provider.OPENROUTER and quirks.openrouter_processing_comments:
                    frames = [comment("OPENROUTER PROCESSING")] * 2 + frames
                self._answers[(path, True, include_usage)] = (_SSE, b"".join(frames))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = await read_body(receive)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        stream = include_usage = False
        if isinstance(body, dict):
            stream = body.get("stream") is True
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        answer = self._answers.get((scope["path"], stream, include_usage))
        if answer is None:
            await send_bytes(send, status=404, headers=_JSON, body=_NOT_FOUND)
            return
        headers, payload = answer
        await send_bytes(send, status=200, headers=headers, body=payload)
