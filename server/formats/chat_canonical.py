"""Chat Completions <-> canonical conversation and outcome (spec control-api 4.2, 5.2, 7)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from server.errors import BadRequest
from server.formats.canonical import (
    Conversation,
    FinalOutcome,
    Message,
    Outcome,
    ToolCall,
    ToolCallsOutcome,
    ToolSpec,
    text_of,
)
from server.formats.sse import SSE_DONE, dumps, sse_event

__all__ = ["decode", "render", "render_stream"]

_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
TEXT_SLICE = 64  # characters per streamed content delta


def _arguments(raw: Any, path: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if raw in (None, ""):
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        raise BadRequest(f"{path}: must be a JSON object encoded as a string", param=path) from None
    if not isinstance(value, dict):
        raise BadRequest(f"{path}: must encode a JSON object", param=path)
    return value


def _message(raw: Any, i: int) -> Message:
    path = f"messages[{i}]"
    if not isinstance(raw, dict) or raw.get("role") not in _ROLES:
        raise BadRequest(f"{path}.role: must be one of {sorted(_ROLES)}", param=f"{path}.role")
    role = raw["role"]
    if role in ("tool", "function"):
        return Message("tool", text_of(raw.get("content")), tool_call_id=str(raw.get("tool_call_id") or raw.get("name") or ""))
    calls = tuple(
        ToolCall(
            id=str(c.get("id", "")),
            name=str((c.get("function") or {}).get("name", "")),
            arguments=_arguments((c.get("function") or {}).get("arguments"), f"{path}.tool_calls[{j}].function.arguments"),
        )
        for j, c in enumerate(raw.get("tool_calls") or [])
        if isinstance(c, dict)
    )
    return Message(role, text_of(raw.get("content")), tool_calls=calls)


def decode(body: dict[str, Any]) -> Conversation:
    tools = tuple(
        ToolSpec(
            name=str(t["function"].get("name", "")),
            description=str(t["function"].get("description") or ""),
            parameters=t["function"].get("parameters") or {},
        )
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    )
    return Conversation(
        messages=tuple(_message(m, i) for i, m in enumerate(body["messages"])),
        tools=tools,
        model=str(body.get("model", "")),
        stream=body.get("stream") is True,
        user_provided_program=body.get("user_provided_program"),
        context_vars=body.get("context_vars"),
    )


def _usage(outcome: Outcome) -> dict[str, int]:
    u = outcome.usage
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "total_tokens": u.total_tokens}


def _wire_call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": dumps(call.arguments)}}


def render(outcome: Outcome, *, session_id: str, model: str) -> dict[str, Any]:
    if isinstance(outcome, ToolCallsOutcome):
        message: dict[str, Any] = {"role": "assistant", "content": "", "tool_calls": [_wire_call(c) for c in outcome.calls]}
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": outcome.content, "tool_calls": None}
        finish = "error" if outcome.failed else "stop"
    return {
        "id": session_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": finish, "message": message}],
        "usage": _usage(outcome),
    }


def render_stream(outcome: Outcome, *, session_id: str, model: str) -> Iterator[bytes]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse_event(
            {
                "id": session_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    thoughts = outcome.thoughts or ""
    for start in range(0, len(thoughts), TEXT_SLICE):  # response_format.stream_thoughts
        yield chunk({"reasoning_content": thoughts[start : start + TEXT_SLICE]})
    if isinstance(outcome, ToolCallsOutcome):
        for index, call in enumerate(outcome.calls):
            head = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
            yield chunk({"tool_calls": [head]})
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": dumps(call.arguments)}}]})
        finish = "tool_calls"
    else:
        for start in range(0, len(outcome.content), TEXT_SLICE):
            yield chunk({"content": outcome.content[start : start + TEXT_SLICE]})
        finish = "stop"  # never `error` in streams (spec 5.2)
    yield chunk({}, finish)
    yield sse_event({"id": session_id, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [], "usage": _usage(outcome)})
    yield SSE_DONE
