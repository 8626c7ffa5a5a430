"""Shared wire helpers for the renderers: SSE framing, slicing, render context, error bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.fake_upstream.script import IdMint, Quirks, Reply, ToolCall, UpstreamError
from server.names import Provider

__all__ = [
    "CREATED",
    "SLICES",
    "RenderContext",
    "Rendered",
    "sse",
    "comment",
    "slices",
    "arguments_text",
    "error_body",
]

CREATED = 1_700_000_000  # a fixed timestamp keeps bodies deterministic
SLICES = 3  # streamed text and arguments arrive in up to this many deltas


@dataclass(frozen=True)
class RenderContext:
    """What a renderer needs besides the reply: the request, flavour, quirks and id mint."""

    model: str
    body: dict[str, Any]
    flavor: Provider
    quirks: Quirks
    ids: IdMint


@dataclass(frozen=True)
class Rendered:
    """One format's renderer: a JSON body, or the stream as a list of SSE frames."""

    body: Callable[[Reply, RenderContext], dict[str, Any]]
    events: Callable[[Reply, RenderContext], list[bytes]]


def dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def sse(payload: Any, *, event: str | None = None) -> bytes:
    """One SSE frame, `event:` first where the provider names its events."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {dumps(payload)}\n\n".encode()


def comment(text: str) -> bytes:
    """An SSE comment line, which parsers must skip (OpenRouter sends these while waiting)."""
    return f": {text}\n\n".encode()


def slices(text: str, parts: int = SLICES) -> list[str]:
    """`text` cut into up to `parts` non-empty pieces (none for the empty string).

    >>> slices("abcdefg")
    ['abc', 'def', 'g']
    """
    if not text:
        return []
    size = -(-len(text) // parts)
    return [text[i : i + size] for i in range(0, len(text), size)]


def arguments_text(call: ToolCall) -> str:
    """The call's arguments as JSON text; a string is taken as already-encoded JSON."""
    return call.arguments if isinstance(call.arguments, str) else dumps(dict(call.arguments))


def arguments_object(call: ToolCall) -> Any:
    """The call's arguments as an object (Anthropic `input`); unparsable text stays a string."""
    if not isinstance(call.arguments, str):
        return dict(call.arguments)
    try:
        return json.loads(call.arguments)
    except json.JSONDecodeError:
        return call.arguments


_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
                 404: "invalid_request_error", 429: "rate_limit_error"}  # fmt: skip
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                    529: "overloaded_error"}  # fmt: skip


def _openai(err: UpstreamError) -> dict[str, Any]:
    kind = err.type or _OPENAI_TYPES.get(err.status, "server_error")
    return {"error": {"message": err.message, "type": kind, "param": None, "code": None}}


def _openrouter(err: UpstreamError) -> dict[str, Any]:
    # OpenRouter's code is the HTTP status as an integer; metadata is optional.
    return {"error": {"code": err.status, "message": err.message, "metadata": {}}}


def _azure(err: UpstreamError) -> dict[str, Any]:
    # Azure's code is a string ("429", "DeploymentNotFound", ...); `type` overrides it here.
    return {"error": {"code": err.type or str(err.status), "message": err.message}}


def _anthropic(err: UpstreamError) -> dict[str, Any]:
    kind = err.type or _ANTHROPIC_TYPES.get(err.status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": err.message}}


_ERROR_SHAPES: dict[Provider, Callable[[UpstreamError], dict[str, Any]]] = {
    Provider.OPENAI: _openai,
    Provider.OPENROUTER: _openrouter,
    Provider.SEQURITY_AZURE: _azure,
    Provider.ANTHROPIC: _anthropic,
}


def error_body(flavor: Provider, err: UpstreamError) -> dict[str, Any]:
    """The error JSON that `flavor`'s real API sends for this status and message."""
    return _ERROR_SHAPES[flavor](err)
