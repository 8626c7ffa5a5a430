"""Replies rendered as OpenAI Responses: a `response` body or the numbered `response.*` event stream."""

from __future__ import annotations

import copy
from typing import Any

from server.fake_upstream.script import Reply
from server.fake_upstream.wire import CREATED, RenderContext, Rendered, arguments_text, slices, sse

__all__ = ["RESPONSES"]

# Canonical finish -> (status, incomplete_details.reason); other finishes count as completed.
_STATUS = {
    "length": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
}


def _usage(reply: Reply) -> dict[str, Any]:
    u = reply.usage
    return {
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.total_tokens,
    }


def _items(reply: Reply, ctx: RenderContext) -> list[dict[str, Any]]:
    """The finished output items: reasoning, message, then one function_call per call."""
    items: list[dict[str, Any]] = []
    if reply.thinking is not None:
        summary = [{"type": "summary_text", "text": reply.thinking.text}]
        items.append({"type": "reasoning", "id": ctx.ids.next("rs_fake_"), "summary": summary})
    if reply.content is not None:
        part = {"type": "output_text", "text": reply.content, "annotations": [], "logprobs": []}
        items.append({"type": "message", "id": ctx.ids.next("msg_fake_"), "status": "completed",
                      "role": "assistant", "content": [part]})  # fmt: skip
    for call in reply.calls:
        items.append({"type": "function_call", "id": ctx.ids.next("fc_fake_"),
                      "call_id": call.id or ctx.ids.next("call_fake_"), "name": call.name,
                      "arguments": arguments_text(call), "status": "completed"})  # fmt: skip
    return items


def _response(reply: Reply, ctx: RenderContext, *, response_id: str) -> dict[str, Any]:
    """The response object without output; the caller sets `output`, `status` and `usage`."""
    req = ctx.body
    return {
        "id": response_id,
        "object": "response",
        "created_at": CREATED,
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": req.get("instructions"),
        "max_output_tokens": req.get("max_output_tokens"),
        "model": ctx.model,
        "output": [],
        "parallel_tool_calls": req.get("parallel_tool_calls", True),
        "previous_response_id": req.get("previous_response_id"),
        "reasoning": req.get("reasoning") or {"effort": None, "summary": None},
        "store": req.get("store", True),
        "temperature": req.get("temperature", 1.0),
        "text": req.get("text") or {"format": {"type": "text"}},
        "tool_choice": req.get("tool_choice", "auto"),
        "tools": req.get("tools") or [],
        "top_p": req.get("top_p", 1.0),
        "truncation": req.get("truncation", "disabled"),
        "usage": None,
        "metadata": req.get("metadata") or {},
        **reply.extra,
    }


def _finish(response: dict[str, Any], reply: Reply, items: list[dict[str, Any]]) -> dict[str, Any]:
    status, reason = _STATUS.get(reply.finish_reason, ("completed", None))
    done = copy.deepcopy(response)
    done.update(status=status, output=items, usage=_usage(reply))
    done["incomplete_details"] = {"reason": reason} if reason else None
    return done


def body(reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    response = _response(reply, ctx, response_id=ctx.ids.next("resp_fake_"))
    return _finish(response, reply, _items(reply, ctx))


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """Events for one output item, without sequence numbers, from `added` to `done`."""
    at = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    opened: dict[str, Any]
    middle: list[dict[str, Any]]
    if kind == "message":
        part = item["content"][0]
        text = part["text"]
        opened = {**item, "status": "in_progress", "content": []}
        empty = {**part, "text": ""}
        middle = [{"type": "response.content_part.added", **at, "content_index": 0, "part": empty}]
        middle += [{"type": "response.output_text.delta", **at, "content_index": 0, "delta": p,
                    "logprobs": []} for p in slices(text)]  # fmt: skip
        middle += [
            {"type": "response.output_text.done", **at, "content_index": 0, "text": text,
             "logprobs": []},
            {"type": "response.content_part.done", **at, "content_index": 0, "part": part},
        ]
    elif kind == "function_call":
        opened = {**item, "status": "in_progress", "arguments": ""}
        middle = [{"type": "response.function_call_arguments.delta", **at, "delta": p}
                  for p in slices(item["arguments"])]  # fmt: skip
        middle.append({"type": "response.function_call_arguments.done", **at,
                       "name": item["name"], "arguments": item["arguments"]})  # fmt: skip
    else:  # reasoning with one summary part
        summary = item["summary"][0]
        opened = {**item, "summary": []}
        at_part = {**at, "summary_index": 0}
        middle = [{"type": "response.reasoning_summary_part.added", **at_part,
                   "part": {**summary, "text": ""}}]  # fmt: skip
        middle += [{"type": "response.reasoning_summary_text.delta", **at_part, "delta": p}
                   for p in slices(summary["text"])]  # fmt: skip
        middle += [
            {"type": "response.reasoning_summary_text.done", **at_part, "text": summary["text"]},
            {"type": "response.reasoning_summary_part.done", **at_part, "part": summary},
        ]
    return [
        {"type": "response.output_item.added", "output_index": index, "item": opened},
        *middle,
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def events(reply: Reply, ctx: RenderContext) -> list[bytes]:
    response = _response(reply, ctx, response_id=ctx.ids.next("resp_fake_"))
    items = _items(reply, ctx)
    done = _finish(response, reply, items)
    payloads: list[dict[str, Any]] = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
    ]
    for index, item in enumerate(items):
        payloads += _item_events(index, item)
    payloads.append({"type": f"response.{done['status']}", "response": done})
    return [
        sse({**payload, "sequence_number": number}, event=payload["type"])
        for number, payload in enumerate(payloads)
    ]


RESPONSES = Rendered(body=body, events=events)
