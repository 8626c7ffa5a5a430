"""OpenAI Chat Completions: passthrough codec (spec 4.2, 5.2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from server.formats.base import Relayed, SessionHints
from server.formats.ids import IdMapper
from server.errors import ControlError
from server.formats.sse import SSE_DONE, sse_event
from server.names import WireFormat

__all__ = ["ChatCompletionsCodec"]

_EMPTY_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


class ChatCompletionsCodec:
    format = WireFormat.CHAT_COMPLETIONS
    messages_error_shape = False
    required = (("model", str, "a model name string"), ("messages", list, "a list of messages"))

    def hints(self, body: dict[str, Any]) -> SessionHints:
        messages = body.get("messages") or []
        trailing: list[str] = []
        for message in reversed(messages):
            if not isinstance(message, dict) or message.get("role") != "tool":
                break
            trailing.append(str(message.get("tool_call_id", "")))
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        latest = next(
            (
                str(m.get("tool_call_id"))
                for m in reversed(messages)
                if isinstance(m, dict) and m.get("role") == "tool" and m.get("tool_call_id")
            ),
            None,
        )
        return SessionHints(
            previous_response_id=None,
            trailing_results=tuple(reversed(trailing)),
            latest_result=latest,
            opens_turn=last.get("role") not in ("tool", "assistant", "function"),
        )

    def to_upstream(self, body: dict[str, Any], ids: IdMapper) -> dict[str, Any]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return body
        out = []
        for message in messages:
            if isinstance(message, dict):
                if message.get("role") == "tool" and "tool_call_id" in message:
                    message = {**message, "tool_call_id": ids.to_upstream(message["tool_call_id"])}
                elif isinstance(message.get("tool_calls"), list):
                    message = {
                        **message,
                        "tool_calls": [
                            {**c, "id": ids.to_upstream(c.get("id"))} if isinstance(c, dict) else c
                            for c in message["tool_calls"]
                        ],
                    }
            out.append(message)
        return {**body, "messages": out}

    def from_upstream(self, answer: dict[str, Any], ids: IdMapper, out: Relayed) -> dict[str, Any]:
        for choice in answer.get("choices") or []:
            message = choice.get("message") if isinstance(choice, dict) else None
            calls = message.get("tool_calls") if isinstance(message, dict) else None
            if isinstance(calls, list) and calls:
                out.tool_calls = True
                for call in calls:
                    if isinstance(call, dict):
                        call["id"] = ids.to_client(call.get("id"))
        if not isinstance(answer.get("usage"), dict):
            answer["usage"] = dict(_EMPTY_USAGE)
        answer.pop("error", None)  # LangChain raises on a truthy top-level `error`
        return answer

    async def stream_from_upstream(
        self, events: AsyncIterator[dict[str, Any]], ids: IdMapper, out: Relayed
    ) -> AsyncIterator[bytes]:
        last: dict[str, Any] = {}
        try:
            async for chunk in events:
                last = chunk
                if _relay_chunk(chunk, ids, out):
                    yield sse_event(chunk)
        except ControlError as err:
            yield sse_event(_failure_chunk(last, err.message))
        yield SSE_DONE


def _relay_chunk(chunk: dict[str, Any], ids: IdMapper, out: Relayed) -> bool:
    """Rewrite the chunk's tool-call ids in place; False for a chunk the client must not see."""
    choices = chunk.get("choices")
    if not choices and not chunk.get("usage"):
        return False  # Azure's content-filter preamble: no choices, nothing for the client
    for choice in choices or []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        calls = delta.get("tool_calls") if isinstance(delta, dict) else None
        if isinstance(calls, list) and calls:
            out.tool_calls = True
            for call in calls:
                if isinstance(call, dict) and call.get("id"):
                    call["id"] = ids.to_client(call["id"])
    return True


def _failure_chunk(last: dict[str, Any], message: str) -> dict[str, Any]:
    return {
        "id": last.get("id", "chatcmpl-upstream-error"),
        "object": "chat.completion.chunk",
        "created": last.get("created", 0),
        "model": last.get("model", ""),
        "choices": [
            {"index": 0, "delta": {"content": f"\n[upstream error: {message}]"}, "finish_reason": "stop"}
        ],
    }
