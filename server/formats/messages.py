"""Anthropic Messages: passthrough codec (spec 4.3, 5.3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from server.formats.base import Relayed, SessionHints
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
    required = (
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
        self, events: AsyncIterator[dict[str, Any]], ids: IdMapper, out: Relayed
    ) -> AsyncIterator[bytes]:
        started, next_index = False, 0
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
                yield sse_event(event, event=str(kind))
        except ControlError as err:
            if started:  # close the message the client has begun to read, with the failure as text
                for event in _failure_events(next_index, err.message):
                    yield sse_event(event, event=event["type"])


def _failure_events(index: int, message: str) -> list[dict[str, Any]]:
    return [
        {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "text_delta", "text": f"[upstream error: {message}]"},
        },
        {"type": "content_block_stop", "index": index},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 0},
        },
        {"type": "message_stop"},
    ]
