"""Replies rendered as Anthropic Messages: a `message` body or the named-event SSE stream."""

from __future__ import annotations

from typing import Any

from server.fake_upstream.script import Reply
from server.fake_upstream.wire import (
    RenderContext,
    Rendered,
    arguments_object,
    arguments_text,
    slices,
    sse,
)

__all__ = ["MESSAGES"]

_STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


def _stop_reason(reply: Reply) -> str:
    return _STOP_REASONS.get(reply.finish_reason, reply.finish_reason)


def _usage(reply: Reply, *, output_tokens: int | None = None) -> dict[str, Any]:
    u = reply.usage
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens if output_tokens is None else output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": u.cached_tokens,
    }


def _blocks(reply: Reply, ctx: RenderContext) -> list[dict[str, Any]]:
    """The finished content blocks: thinking, then text, then one tool_use per call."""
    blocks: list[dict[str, Any]] = []
    if reply.thinking is not None:
        t = reply.thinking
        blocks.append({"type": "thinking", "thinking": t.text, "signature": t.signature})
    if reply.content is not None:
        blocks.append({"type": "text", "text": reply.content})
    for call in reply.calls:
        call_id = call.id or ctx.ids.next("toolu_fake_")
        blocks.append(
            {"type": "tool_use", "id": call_id, "name": call.name, "input": arguments_object(call)}
        )
    return blocks


def _message(reply: Reply, ctx: RenderContext, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": ctx.ids.next("msg_fake_"),
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": content,
        "stop_reason": _stop_reason(reply),
        "stop_sequence": None,
        "usage": _usage(reply),
        **reply.extra,
    }


def body(reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    return _message(reply, ctx, _blocks(reply, ctx))


def _block_events(index: int, block: dict[str, Any]) -> list[bytes]:
    """content_block_start, its deltas, content_block_stop for one finished block."""
    kind = block["type"]
    deltas: list[dict[str, Any]]
    if kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in slices(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in slices(block["text"])]
    else:  # tool_use: Anthropic opens with an empty partial_json, then the argument slices
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        pieces = ["", *slices(block["arguments"])]
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
    frames = [_event("content_block_start", index=index, content_block=start)]
    frames += [_event("content_block_delta", index=index, delta=d) for d in deltas]
    frames.append(_event("content_block_stop", index=index))
    return frames


def _event(kind: str, **payload: Any) -> bytes:
    return sse({"type": kind, **payload}, event=kind)


def events(reply: Reply, ctx: RenderContext) -> list[bytes]:
    blocks = _blocks(reply, ctx)
    for block, call in zip((b for b in blocks if b["type"] == "tool_use"), reply.calls, strict=True):
        block["arguments"] = arguments_text(call)  # stream the text exactly as scripted
    start = _message(reply, ctx, [])
    start["stop_reason"] = None
    start["usage"] = _usage(reply, output_tokens=1)
    frames = [_event("message_start", message=start)]
    if ctx.quirks.anthropic_ping:
        frames.append(_event("ping"))
    for index, block in enumerate(blocks):
        frames += _block_events(index, block)
    frames.append(
        _event(
            "message_delta",
            delta={"stop_reason": _stop_reason(reply), "stop_sequence": None},
            usage={"output_tokens": reply.usage.output_tokens},
        )
    )
    frames.append(_event("message_stop"))
    return frames


MESSAGES = Rendered(body=body, events=events)
