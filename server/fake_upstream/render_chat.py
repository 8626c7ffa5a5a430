"""Replies rendered as OpenAI Chat Completions: a `chat.completion` body or `chat.completion.chunk` SSE."""

from __future__ import annotations

from typing import Any

from server.fake_upstream.script import Reply
from server.fake_upstream.wire import (
    CREATED,
    RenderContext,
    Rendered,
    arguments_text,
    slices,
    sse,
)
from server.names import Provider

__all__ = ["CHAT"]

_DONE = b"data: [DONE]\n\n"


def _usage(reply: Reply) -> dict[str, Any]:
    u = reply.usage
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }


def _call_ids(reply: Reply, ctx: RenderContext) -> list[str]:
    return [call.id or ctx.ids.next("call_fake_") for call in reply.calls]


def body(reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function",
             "function": {"name": call.name, "arguments": arguments_text(call)}}
            for call, call_id in zip(reply.calls, _call_ids(reply, ctx), strict=True)
        ]  # fmt: skip
    return {
        "id": ctx.ids.next("chatcmpl-fake-"),
        "object": "chat.completion",
        "created": CREATED,
        "model": ctx.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}
        ],
        "usage": _usage(reply),
        "system_fingerprint": "fp_fake",
        **reply.extra,
    }


def _azure_filter_chunk() -> dict[str, Any]:
    """Azure's first chunk: no choices, only the prompt's content-filter verdicts."""
    safe = {"filtered": False, "severity": "safe"}
    verdicts = {"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe}
    return {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": verdicts}],
    }


def _deltas(reply: Reply, ctx: RenderContext) -> list[dict[str, Any]]:
    # OpenAI opens text answers with content "" and pure tool-call answers with content null.
    opening = "" if reply.content is not None or not reply.calls else None
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": opening}]
    deltas += [{"content": piece} for piece in slices(reply.content or "")]
    for index, (call, call_id) in enumerate(zip(reply.calls, _call_ids(reply, ctx), strict=True)):
        head = {"index": index, "id": call_id, "type": "function",
                "function": {"name": call.name, "arguments": ""}}  # fmt: skip
        deltas.append({"tool_calls": [head]})
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in slices(arguments_text(call))
        ]
    return deltas


def events(reply: Reply, ctx: RenderContext) -> list[bytes]:
    include_usage = bool((ctx.body.get("stream_options") or {}).get("include_usage"))
    chunk_id = ctx.ids.next("chatcmpl-fake-")
    base: dict[str, Any] = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": ctx.model,
        "system_fingerprint": "fp_fake",
    }
    if include_usage:
        base["usage"] = None  # OpenAI sends an explicit null on every chunk but the last
    base.update(reply.extra)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse({**base, "choices": [choice]})

    frames: list[bytes] = []
    if ctx.flavor is Provider.SEQURITY_AZURE and ctx.quirks.azure_content_filter_chunk:
        frames.append(sse(_azure_filter_chunk()))
    frames += [chunk(delta) for delta in _deltas(reply, ctx)]
    frames.append(chunk({}, reply.finish_reason))
    if include_usage:
        frames.append(sse({**base, "choices": [], "usage": _usage(reply)}))
    frames.append(_DONE)
    return frames


CHAT = Rendered(body=body, events=events)
