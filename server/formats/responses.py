"""OpenAI Responses: passthrough codec (spec 4.4, 5.4, 13.6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from server.formats.base import Relayed, SessionHints
from server.formats.ids import IdMapper
from server.errors import ControlError
from server.formats.sse import sse_event
from server.names import WireFormat

__all__ = ["ResponsesCodec"]

_CALL_ITEMS = frozenset({"function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output"})
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
    required = (("model", str, "a model name string"),)

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
        self, events: AsyncIterator[dict[str, Any]], ids: IdMapper, out: Relayed
    ) -> AsyncIterator[bytes]:
        sequence, response = 0, {}
        try:
            async for event in events:
                if isinstance(event.get("response"), dict):
                    response = event["response"]
                    self._response_down(response, ids, out)
                if "item" in event:
                    self._item_down(event["item"], ids, out)
                sequence = int(event.get("sequence_number", sequence)) + 1
                kind = event.get("type")
                yield sse_event(event, event=kind if isinstance(kind, str) else None)
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
