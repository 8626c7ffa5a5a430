"""Anthropic Messages: passthrough codec (spec 4.3, 5.3)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from server.formats.base import (
    Gate,
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

__all__ = ["MessagesCodec"]

# Events the client's union accepts (spec 5.3); `ping` and `error` are not among them.
_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
)


def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else []


class MessagesCodec:
    format = WireFormat.MESSAGES
    messages_error_shape = True
    required: RequiredFields = (
        ("model", str, "a model name string"),
        ("messages", list, "a list of messages"),
        ("max_tokens", int, "an integer"),
    )

    def hints(self, body: dict[str, Any]) -> SessionHints:
        messages = body.get("messages") or []
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        results = tuple(
            str(b.get("tool_use_id", ""))
            for b in _blocks(last)
            if isinstance(b, dict) and b.get("type") == "tool_result"
        )
        latest = next(
            (
                str(b.get("tool_use_id"))
                for m in reversed(messages)
                for b in reversed(_blocks(m))
                if isinstance(b, dict) and b.get("type") == "tool_result" and b.get("tool_use_id")
            ),
            None,
        )
        return SessionHints(
            previous_response_id=None,
            trailing_results=results if last.get("role") == "user" else (),
            latest_result=latest,
            opens_turn=last.get("role") == "user" and not results,
        )

    def to_upstream(self, body: dict[str, Any], ids: IdMapper) -> dict[str, Any]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return body
        out = []
        for message in messages:
            blocks = _blocks(message)
            if any(isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result") for b in blocks):
                message = {**message, "content": [self._block_up(b, ids) for b in blocks]}
            out.append(message)
        return {**body, "messages": out}

    @staticmethod
    def _block_up(block: Any, ids: IdMapper) -> Any:
        if not isinstance(block, dict):
            return block
        if block.get("type") == "tool_use":
            return {**block, "id": ids.to_upstream(block.get("id"))}
        if block.get("type") == "tool_result":
            return {**block, "tool_use_id": ids.to_upstream(block.get("tool_use_id"))}
        return block

    def from_upstream(self, answer: dict[str, Any], ids: IdMapper, out: Relayed) -> dict[str, Any]:
        for block in _blocks(answer):
            if isinstance(block, dict) and block.get("type") == "tool_use":
                out.tool_calls = True
                block["id"] = ids.to_client(block.get("id"))
        usage = answer.get("usage")
        if not isinstance(usage, dict):
            answer["usage"] = {"input_tokens": 0, "output_tokens": 0}
        return answer

    async def stream_from_upstream(
        self,
        events: AsyncIterator[dict[str, Any]],
        ids: IdMapper,
        out: Relayed,
        gate: Gate | None = None,
    ) -> AsyncIterator[bytes]:
        started, next_index = False, 0
        hold = _Hold()
        try:
            async for event in events:
                kind = event.get("type")
                if kind not in _EVENTS:
                    continue
                if kind == "message_start":
                    started = True
                elif kind == "content_block_start":
                    next_index = int(event.get("index", next_index)) + 1
                    block = event.get("content_block")
                    if isinstance(block, dict) and block.get("type") == "tool_use":
                        out.tool_calls = True
                        block["id"] = ids.to_client(block.get("id"))
                elif kind == "message_stop":
                    started = False
                if gate is not None and hold.takes(event):
                    if kind == "message_delta":
                        for held in await hold.settle(gate, out):
                            yield sse_event(held, event=held["type"])
                    continue
                yield sse_event(event, event=str(kind))
            for held in await hold.settle(gate, out) if gate is not None else ():
                yield sse_event(held, event=held["type"])
        except ControlError as err:
            if started:  # close the message the client has begun to read, with the failure as text
                index = hold.first_index if hold.events else next_index  # held tool calls dropped
                for event in _failure_events(index, err.message):
                    yield sse_event(event, event=event["type"])

    # -- policy enforcement -------------------------------------------------------------------

    def exchange(self, body: dict[str, Any]) -> tuple[list[ToolCallView], list[ToolResultView]]:
        calls: list[ToolCallView] = []
        results: list[ToolResultView] = []
        for message in body.get("messages") or []:
            for b in _blocks(message):
                if not isinstance(b, dict):
                    continue
                if b.get("type") == "tool_use":
                    calls.append(ToolCallView(str(b.get("id", "")), str(b.get("name", "")), b.get("input")))
                elif b.get("type") == "tool_result":
                    results.append(
                        ToolResultView(str(b.get("tool_use_id", "")), b.get("content"), b.get("is_error") is True)
                    )
        return calls, results

    def replace_results(self, body: dict[str, Any], texts: Mapping[str, str]) -> dict[str, Any]:
        def block(b: Any) -> Any:
            if isinstance(b, dict) and b.get("type") == "tool_result" and str(b.get("tool_use_id")) in texts:
                return {**b, "content": with_result_text(b.get("content"), texts[str(b.get("tool_use_id"))])}
            return b

        messages = [
            {**m, "content": [block(b) for b in _blocks(m)]} if _blocks(m) else m
            for m in body.get("messages") or []
        ]
        return {**body, "messages": messages}

    def proposed_calls(self, answer: dict[str, Any]) -> list[ToolCallView]:
        return [
            ToolCallView(str(b.get("id", "")), str(b.get("name", "")), b.get("input"))
            for b in _blocks(answer)
            if isinstance(b, dict) and b.get("type") == "tool_use"
        ]

    def deny(self, answer: dict[str, Any], text: str) -> dict[str, Any]:
        answer["content"] = [{"type": "text", "text": text}]
        answer["stop_reason"] = "end_turn"
        answer["stop_sequence"] = None
        return answer

    def rewrite_calls(self, answer: dict[str, Any], arguments: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        for block in _blocks(answer):
            if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("id") in arguments:
                block["input"] = arguments[block["id"]]
        return answer


class _Hold:
    """Events held back from the first `tool_use` block until `message_delta`, and their calls."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.first_index = 0
        self.calls: dict[int, dict[str, Any]] = {}

    def takes(self, event: dict[str, Any]) -> bool:
        kind = event.get("type")
        block = event.get("content_block") if kind == "content_block_start" else None
        if isinstance(block, dict) and block.get("type") == "tool_use":
            index = int(event.get("index", 0))
            if not self.events:
                self.first_index = index
            self.calls[index] = {"id": str(block.get("id", "")), "name": str(block.get("name", "")),
                                 "input": block.get("input"), "json": ""}
        elif not self.events:
            return False
        elif kind == "content_block_delta":
            delta = event.get("delta")
            slot = self.calls.get(int(event.get("index", -1)))
            if slot is not None and isinstance(delta, dict) and delta.get("type") == "input_json_delta":
                slot["json"] += str(delta.get("partial_json") or "")
        self.events.append(event)
        return True

    async def settle(self, gate: Gate, out: Relayed) -> list[dict[str, Any]]:
        """The events to send now: the held ones (inputs rewritten as the gate says), or a denial
        text block and an `end_turn`."""
        if not self.events:
            return []
        held, self.events = self.events, []
        calls, self.calls = self.calls, {}
        views = [ToolCallView(c["id"], c["name"], c["json"] or c["input"]) for c in calls.values()]
        decision = await decide(gate, views)
        denial = decision.denial
        if denial is None:
            _rewrite_held(held, calls, decision.arguments)
            return held
        out.tool_calls = False
        replaced = _text_block(self.first_index, denial)
        closing = next((e for e in held if e.get("type") == "message_delta"), None)
        usage = closing.get("usage") if closing and isinstance(closing.get("usage"), dict) else {"output_tokens": 0}
        replaced.append(
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": usage}
        )
        return replaced


def _rewrite_held(held: list[dict[str, Any]], calls: dict[int, dict[str, Any]], arguments: Mapping[str, Any]) -> None:
    """A rewritten call's whole new input goes in its first `input_json_delta` (later ones are
    emptied), or in its `content_block_start` when it streamed none."""
    fresh = {i: arguments[c["id"]] for i, c in calls.items() if c["id"] in arguments}
    written: set[int] = set()
    for event in held if fresh else ():
        index, delta = event.get("index"), event.get("delta")
        if event.get("type") == "content_block_delta" and index in fresh and isinstance(delta, dict):
            if delta.get("type") == "input_json_delta":
                delta["partial_json"] = "" if index in written else json.dumps(fresh[index], ensure_ascii=False)
                written.add(index)
    for event in held if fresh else ():
        block = event.get("content_block")
        if event.get("type") == "content_block_start" and isinstance(block, dict):
            index = event.get("index")
            if index in fresh and index not in written:
                block["input"] = fresh[index]


def _text_block(index: int, text: str) -> list[dict[str, Any]]:
    return [
        {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}},
        {"type": "content_block_stop", "index": index},
    ]


def _failure_events(index: int, message: str) -> list[dict[str, Any]]:
    return [
        *_text_block(index, f"[upstream error: {message}]"),
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 0},
        },
        {"type": "message_stop"},
    ]
