"""OpenAI Responses <-> canonical conversation and outcome (spec control-api 4.4, 5.4, 7)."""

from __future__ import annotations

import json
import time
import uuid
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
from server.formats.sse import dumps, sse_event

__all__ = ["decode", "render", "render_stream"]

TEXT_SLICE = 64
_MESSAGE_ROLES = ("user", "system", "developer", "assistant")


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(
            p.get("text", "") for p in content
            if isinstance(p, dict) and p.get("type") in ("input_text", "output_text", "text")
        )
    return text_of(content)


def _item(raw: Any, i: int) -> Message | None:
    path = f"input[{i}]"
    if not isinstance(raw, dict):
        raise BadRequest(f"{path}: must be an object", param=path)
    kind = raw.get("type", "message")
    if kind == "message" or ("role" in raw and "type" not in raw):
        if raw.get("role") not in _MESSAGE_ROLES:
            raise BadRequest(f"{path}.role: must be one of {list(_MESSAGE_ROLES)}", param=f"{path}.role")
        return Message(raw["role"], _text(raw.get("content")))
    if kind == "function_call":
        try:
            args = json.loads(raw.get("arguments") or "{}")
        except (ValueError, RecursionError):
            raise BadRequest(f"{path}.arguments: must be JSON text", param=f"{path}.arguments") from None
        call = ToolCall(id=str(raw.get("call_id", "")), name=str(raw.get("name", "")),
                        arguments=args if isinstance(args, dict) else {})
        return Message("assistant", "", tool_calls=(call,))
    if kind == "function_call_output":
        output = raw.get("output")
        return Message("tool", output if isinstance(output, str) else _text(output),
                       tool_call_id=str(raw.get("call_id", "")))
    if kind in ("reasoning", "item_reference"):
        return None
    raise BadRequest(
        f"{path}.type: '{kind}' items are not supported; allowed: message, function_call, "
        "function_call_output, reasoning, item_reference",
        param=f"{path}.type",
    )


def decode(body: dict[str, Any]) -> Conversation:
    messages: list[Message] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.append(Message("system", body["instructions"]))
    raw_input = body.get("input")
    if isinstance(raw_input, str):
        messages.append(Message("user", raw_input))
    elif isinstance(raw_input, list):
        for i, raw in enumerate(raw_input):
            message = _item(raw, i)
            if message is not None:
                messages.append(message)
    tools = tuple(
        ToolSpec(name=str(t.get("name", "")), description=str(t.get("description") or ""),
                 parameters=t.get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function"
    )
    previous = body.get("previous_response_id")
    return Conversation(
        messages=tuple(messages),
        tools=tools,
        model=str(body.get("model", "")),
        stream=body.get("stream") is True,
        previous_response_id=previous if isinstance(previous, str) else None,
    )


def _output(outcome: Outcome, response_id: str) -> list[dict[str, Any]]:
    if isinstance(outcome, ToolCallsOutcome):
        return [
            {"type": "function_call", "id": f"fc_{uuid.uuid4().hex}", "call_id": c.id, "name": c.name,
             "arguments": dumps(c.arguments), "status": "completed"}
            for c in outcome.calls
        ]
    return [
        {"type": "message", "id": f"msg_{response_id[5:]}", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": outcome.content, "annotations": []}]}
    ]


def _usage(outcome: Outcome) -> dict[str, Any]:
    u = outcome.usage
    return {"input_tokens": u.prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": u.completion_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": u.total_tokens}


def _response(outcome: Outcome, *, response_id: str, model: str, status: str, output: list[Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": response_id, "object": "response", "created_at": int(time.time()), "model": model,
        "status": status, "output": output, "parallel_tool_calls": True, "tool_choice": "auto",
        "tools": [], "usage": _usage(outcome), "error": None,
    }
    if isinstance(outcome, FinalOutcome) and outcome.failed and status == "failed":
        body["error"] = {"code": outcome.error_code or "execution_error", "message": outcome.error_message or ""}
    return body


def _status(outcome: Outcome) -> str:
    return "failed" if isinstance(outcome, FinalOutcome) and outcome.failed else "completed"


def new_response_id() -> str:
    return f"resp_{uuid.uuid4().hex}"


def render(outcome: Outcome, *, session_id: str, model: str, response_id: str | None = None) -> dict[str, Any]:
    rid = response_id or new_response_id()
    return _response(outcome, response_id=rid, model=model, status=_status(outcome), output=_output(outcome, rid))


def render_stream(
    outcome: Outcome, *, session_id: str, model: str, response_id: str | None = None
) -> Iterator[bytes]:
    rid = response_id or new_response_id()
    sequence = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal sequence
        payload = {"type": kind, "sequence_number": sequence, **fields}
        sequence += 1
        return sse_event(payload, event=kind)

    pending = _response(outcome, response_id=rid, model=model, status="in_progress", output=[])
    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    items = _output(outcome, rid)
    for index, item in enumerate(items):
        if item["type"] == "function_call":
            yield event("response.output_item.added", output_index=index, item={**item, "arguments": "", "status": "in_progress"})
            yield event("response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=item["arguments"])
            yield event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                        name=item["name"], arguments=item["arguments"])
        else:
            text = item["content"][0]["text"]
            yield event("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
            part = {"type": "output_text", "text": "", "annotations": []}
            yield event("response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=part)
            for at in range(0, len(text), TEXT_SLICE):
                yield event("response.output_text.delta", item_id=item["id"], output_index=index, content_index=0,
                            delta=text[at : at + TEXT_SLICE])
            yield event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0, text=text)
            yield event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                        part={**part, "text": text})
        yield event("response.output_item.done", output_index=index, item=item)
    final = _response(outcome, response_id=rid, model=model, status=_status(outcome), output=items)
    yield event("response.failed" if final["status"] == "failed" else "response.completed", response=final)
