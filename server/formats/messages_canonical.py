"""Anthropic Messages <-> canonical conversation and outcome (spec control-api 4.3, 5.3, 7)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from server.errors import BadRequest
from server.formats.canonical import (
    Conversation,
    Message,
    Outcome,
    ToolCall,
    ToolCallsOutcome,
    ToolSpec,
    text_of,
)
from server.formats.sse import dumps, sse_event

__all__ = ["decode", "render", "render_stream"]

TEXT_SLICE = 64


def _messages(raw: Any, i: int) -> list[Message]:
    path = f"messages[{i}]"
    if not isinstance(raw, dict) or raw.get("role") not in ("user", "assistant"):
        raise BadRequest(f"{path}.role: must be 'user' or 'assistant'", param=f"{path}.role")
    content = raw.get("content")
    if isinstance(content, str):
        return [Message(raw["role"], content)]
    if not isinstance(content, list):
        raise BadRequest(f"{path}.content: must be a string or a list of blocks", param=f"{path}.content")
    out: list[Message] = []
    texts: list[str] = []
    calls: list[ToolCall] = []
    for j, block in enumerate(content):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            args = block.get("input") or {}
            if not isinstance(args, dict):
                raise BadRequest(f"{path}.content[{j}].input: must be an object", param=f"{path}.content[{j}].input")
            calls.append(ToolCall(id=str(block.get("id", "")), name=str(block.get("name", "")), arguments=args))
        elif kind == "tool_result":
            out.append(
                Message(
                    "tool",
                    text_of(block.get("content")),
                    tool_call_id=str(block.get("tool_use_id", "")),
                    is_error=block.get("is_error") is True,
                )
            )
    if texts or calls or not out:
        out.append(Message(raw["role"], "".join(texts), tool_calls=tuple(calls)))
    return out


def decode(body: dict[str, Any]) -> Conversation:
    messages: list[Message] = []
    system = text_of(body.get("system"))
    if system:
        messages.append(Message("system", system))
    for i, raw in enumerate(body["messages"]):
        messages.extend(_messages(raw, i))
    tools = tuple(
        ToolSpec(name=str(t.get("name", "")), description=str(t.get("description") or ""),
                 parameters=t.get("input_schema") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and "name" in t
    )
    return Conversation(
        messages=tuple(messages),
        tools=tools,
        model=str(body.get("model", "")),
        stream=body.get("stream") is True,
        user_provided_program=body.get("user_provided_program"),
        context_vars=body.get("context_vars"),
    )


def _blocks(outcome: Outcome) -> list[dict[str, Any]]:
    if isinstance(outcome, ToolCallsOutcome):
        return [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in outcome.calls]
    return [{"type": "text", "text": outcome.content}]


def _stop(outcome: Outcome) -> str:
    return "tool_use" if isinstance(outcome, ToolCallsOutcome) else "end_turn"


def _usage(outcome: Outcome) -> dict[str, int]:
    return {"input_tokens": outcome.usage.prompt_tokens, "output_tokens": outcome.usage.completion_tokens}


def render(outcome: Outcome, *, session_id: str, model: str) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _blocks(outcome),
        "stop_reason": _stop(outcome),
        "stop_sequence": None,
        "usage": _usage(outcome),
    }


def render_stream(outcome: Outcome, *, session_id: str, model: str) -> Iterator[bytes]:
    def event(payload: dict[str, Any]) -> bytes:
        return sse_event(payload, event=payload["type"])

    start = render(outcome, session_id=session_id, model=model)
    yield event({"type": "message_start", "message": {**start, "content": [], "stop_reason": None,
                                                       "usage": {**_usage(outcome), "output_tokens": 0}}})
    for index, block in enumerate(_blocks(outcome)):
        if block["type"] == "tool_use":
            yield event({"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}})
            yield event({"type": "content_block_delta", "index": index,
                         "delta": {"type": "input_json_delta", "partial_json": dumps(block["input"])}})
        else:
            yield event({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            text = block["text"]
            for at in range(0, len(text), TEXT_SLICE):
                yield event({"type": "content_block_delta", "index": index,
                             "delta": {"type": "text_delta", "text": text[at : at + TEXT_SLICE]}})
        yield event({"type": "content_block_stop", "index": index})
    yield event({"type": "message_delta", "delta": {"stop_reason": _stop(outcome), "stop_sequence": None},
                 "usage": {"output_tokens": outcome.usage.completion_tokens}})
    yield event({"type": "message_stop"})
