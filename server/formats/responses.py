"""OpenAI Responses: passthrough codec (spec 4.4, 5.4, 13.6)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from server.formats.base import (
    Gate,
    GateDecision,
    Relayed,
    RequiredFields,
    SessionHints,
    ToolCallView,
    ToolResultView,
    decide,
    with_result_text,
)
from server.formats.ids import IdMapper
from server.errors import ControlError
from server.formats.sse import sse_event
from server.names import WireFormat

__all__ = ["ResponsesCodec"]

_CALL_ITEMS = frozenset({"function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output"})
_CALLS = ("function_call", "custom_tool_call")
_OUTPUTS = ("function_call_output", "custom_tool_call_output")
_FINAL = ("response.completed", "response.incomplete", "response.failed")
_EMPTY_USAGE = {
    "input_tokens": 0,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 0,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 0,
}


def _items(body: dict[str, Any]) -> list[Any]:
    items = body.get("input")
    return items if isinstance(items, list) else []


class ResponsesCodec:
    format = WireFormat.RESPONSES
    messages_error_shape = False
    required: RequiredFields = (("model", str, "a model name string"),)

    def hints(self, body: dict[str, Any]) -> SessionHints:
        items = _items(body)
        trailing: list[str] = []
        for item in reversed(items):
            if not isinstance(item, dict) or not str(item.get("type", "")).endswith("_call_output"):
                break
            trailing.append(str(item.get("call_id", "")))
        last = items[-1] if items and isinstance(items[-1], dict) else {}
        opens = isinstance(body.get("input"), str) or (
            last.get("role") in ("user", "system", "developer")
        )
        previous = body.get("previous_response_id")
        latest = next(
            (
                str(i.get("call_id"))
                for i in reversed(items)
                if isinstance(i, dict) and str(i.get("type", "")).endswith("_call_output")
            ),
            None,
        )
        return SessionHints(
            previous_response_id=previous if isinstance(previous, str) else None,
            trailing_results=tuple(reversed(trailing)),
            latest_result=latest,
            opens_turn=opens,
        )

    def to_upstream(self, body: dict[str, Any], ids: IdMapper) -> dict[str, Any]:
        items = _items(body)
        if not any(isinstance(i, dict) and i.get("type") in _CALL_ITEMS for i in items):
            return body
        return {
            **body,
            "input": [
                {**i, "call_id": ids.to_upstream(i.get("call_id"))}
                if isinstance(i, dict) and i.get("type") in _CALL_ITEMS
                else i
                for i in items
            ],
        }

    @staticmethod
    def _item_down(item: Any, ids: IdMapper, out: Relayed) -> None:
        if isinstance(item, dict) and item.get("type") in ("function_call", "custom_tool_call"):
            out.tool_calls = True
            item["call_id"] = ids.to_client(item.get("call_id"))

    def _response_down(self, response: Any, ids: IdMapper, out: Relayed) -> None:
        if not isinstance(response, dict):
            return
        if isinstance(response.get("id"), str):
            out.response_id = response["id"]
        for item in response.get("output") or []:
            self._item_down(item, ids, out)
        if response.get("status") in ("completed", "failed", "incomplete") and not isinstance(
            response.get("usage"), dict
        ):
            response["usage"] = dict(_EMPTY_USAGE)

    def from_upstream(self, answer: dict[str, Any], ids: IdMapper, out: Relayed) -> dict[str, Any]:
        self._response_down(answer, ids, out)
        if not isinstance(answer.get("usage"), dict):
            answer["usage"] = dict(_EMPTY_USAGE)
        return answer

    async def stream_from_upstream(
        self,
        events: AsyncIterator[dict[str, Any]],
        ids: IdMapper,
        out: Relayed,
        gate: Gate | None = None,
    ) -> AsyncIterator[bytes]:
        # Our own sequence numbers: held or replaced events would otherwise leave gaps (spec 5.4).
        sequence, response = 0, {}
        hold = _Hold()
        try:
            async for event in events:
                if isinstance(event.get("response"), dict):
                    response = event["response"]
                    self._response_down(response, ids, out)
                if "item" in event:
                    self._item_down(event["item"], ids, out)
                outgoing = [event]
                if gate is not None and hold.takes(event):
                    outgoing = await hold.settle(gate, out) if event.get("type") in _FINAL else []
                for item in outgoing:
                    item["sequence_number"] = sequence
                    sequence += 1
                    kind = item.get("type")
                    yield sse_event(item, event=kind if isinstance(kind, str) else None)
        except ControlError as err:
            failed = {
                "id": "resp_upstream_error",
                "object": "response",
                "created_at": 0,
                "model": "",
                "output": [],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                **response,
                "status": "failed",
                "error": {"code": "upstream_error", "message": err.message},
            }
            event = {"type": "response.failed", "sequence_number": sequence, "response": failed}
            yield sse_event(event, event="response.failed")

    # -- policy enforcement -------------------------------------------------------------------

    def exchange(self, body: dict[str, Any]) -> tuple[list[ToolCallView], list[ToolResultView]]:
        calls: list[ToolCallView] = []
        results: list[ToolResultView] = []
        for item in _items(body):
            if isinstance(item, dict) and item.get("type") in _CALLS:
                calls.append(_view(item))
            elif isinstance(item, dict) and item.get("type") in _OUTPUTS:
                results.append(ToolResultView(str(item.get("call_id", "")), item.get("output")))
        return calls, results

    def replace_results(self, body: dict[str, Any], texts: Mapping[str, str]) -> dict[str, Any]:
        items = [
            {**i, "output": with_result_text(i.get("output"), texts[str(i.get("call_id"))])}
            if isinstance(i, dict) and i.get("type") in _OUTPUTS and str(i.get("call_id")) in texts
            else i
            for i in _items(body)
        ]
        return {**body, "input": items} if _items(body) else body

    def proposed_calls(self, answer: dict[str, Any]) -> list[ToolCallView]:
        return [_view(i) for i in answer.get("output") or [] if isinstance(i, dict) and i.get("type") in _CALLS]

    def deny(self, answer: dict[str, Any], text: str) -> dict[str, Any]:
        answer["output"] = [denial_item(text)]
        answer["status"] = "completed"
        if "output_text" in answer:
            answer["output_text"] = text
        return answer

    def rewrite_calls(self, answer: dict[str, Any], arguments: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        for item in answer.get("output") or []:
            if isinstance(item, dict) and item.get("type") in _CALLS and item.get("call_id") in arguments:
                _rewrite_item(item, arguments[item["call_id"]])
        return answer



def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

def _view(item: dict[str, Any]) -> ToolCallView:
    """Function calls carry JSON `arguments`; custom tool calls one free-text `input` (checked as `input`)."""
    arguments = item.get("arguments") if item.get("type") == "function_call" else {"input": item.get("input")}
    return ToolCallView(str(item.get("call_id", "")), str(item.get("name", "")), arguments, str(item.get("type")))


def answer_denied_calls(body: dict[str, Any], calls: list[list[str]], text: str) -> dict[str, Any]:
    """`body` with an output item first for each `[upstream call id, kind]` of a denied answer.

    The upstream stored that answer with its calls (`store` defaults to true) and refuses a
    continuation (`previous_response_id`) that leaves one without an output, while the client,
    which only saw the denial text, cannot send one. So the gateway answers them, with the denial.
    """
    outputs = [{"type": f"{kind}_output", "call_id": call_id, "output": f"Not run: {text}"} for call_id, kind in calls]
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    return {**body, "input": [*outputs, *(items if isinstance(items, list) else [])]}


def denial_item(text: str) -> dict[str, Any]:
    """A completed assistant message item holding `text`."""
    return {
        "type": "message",
        "id": f"msg_{uuid.uuid4().hex}",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _rewrite_item(item: dict[str, Any], arguments: dict[str, Any]) -> None:
    """A call item with new arguments: JSON `arguments`, or a custom tool's free-text `input`."""
    if item.get("type") == "function_call":
        item["arguments"] = json.dumps(arguments, ensure_ascii=False)
    else:
        item["input"] = arguments.get("input")


_ARG_DELTAS = ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta")
_ARG_DONES = {"response.function_call_arguments.done": "arguments", "response.custom_tool_call_input.done": "input"}


def _rewrite_held(held: list[dict[str, Any]], response: dict[str, Any], arguments: Mapping[str, Any]) -> None:
    """Every place a rewritten call's arguments appear: the first delta carries them whole, later
    deltas are emptied, the `.done` events, the finished items and the final response's output."""
    fresh: dict[int, dict[str, Any]] = {}
    for position, item in enumerate(response.get("output") or []):
        if isinstance(item, dict) and item.get("type") in _CALLS and item.get("call_id") in arguments:
            fresh[position] = dict(item)
            _rewrite_item(fresh[position], arguments[item["call_id"]])
            _rewrite_item(item, arguments[item["call_id"]])
    written: set[int] = set()
    for event in held if fresh else ():
        index, kind = event.get("output_index"), event.get("type")
        if index not in fresh:
            continue
        text = fresh[index].get("arguments") if fresh[index].get("type") == "function_call" else fresh[index].get("input")
        if kind in _ARG_DELTAS:
            event["delta"] = "" if index in written else text
            written.add(index)
        elif kind in _ARG_DONES:
            event[_ARG_DONES[kind]] = text
        elif kind == "response.output_item.done" and isinstance(event.get("item"), dict):
            _rewrite_item(event["item"], arguments[fresh[index]["call_id"]])


class _Hold:
    """Events held back from the first tool-call item until the final `response.*` event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.first_index = 0

    def takes(self, event: dict[str, Any]) -> bool:
        item = event.get("item")
        if not self.events:
            if event.get("type") != "response.output_item.added" or not isinstance(item, dict):
                return False
            if item.get("type") not in _CALLS:
                return False
            self.first_index = int(event.get("output_index", 0))
        self.events.append(event)
        return True

    async def settle(self, gate: Gate, out: Relayed) -> list[dict[str, Any]]:
        """At the final event: the held events (arguments rewritten as the gate says), or the
        denial message and a completed response."""
        held, self.events = self.events, []
        final = held[-1]
        response = _object(final.get("response"))
        views = [_view(i) for i in response.get("output") or [] if isinstance(i, dict) and i.get("type") in _CALLS]
        decision = await decide(gate, views) if views else GateDecision()
        denial = decision.denial
        if denial is None:
            _rewrite_held(held, response, decision.arguments)
            return held
        out.tool_calls = False
        index, item = self.first_index, denial_item(text=denial)
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        kept = list((response.get("output") or [])[:index])
        done = {**response, "output": [*kept, item]}  # the final event keeps its kind and status
        return [
            {"type": "response.output_item.added", "output_index": index,
             "item": {**item, "status": "in_progress", "content": []}},
            {"type": "response.content_part.added", **where, "part": part},
            {"type": "response.output_text.delta", **where, "delta": denial},
            {"type": "response.output_text.done", **where, "text": denial},
            {"type": "response.content_part.done", **where, "part": {**part, "text": denial}},
            {"type": "response.output_item.done", "output_index": index, "item": item},
            {"type": final.get("type"), "response": done},
        ]
