"""OpenAI Chat Completions: passthrough codec (spec 4.2, 5.2)."""

from __future__ import annotations

import json
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
from server.formats.sse import SSE_DONE, sse_event
from server.names import WireFormat

__all__ = ["ChatCompletionsCodec"]

_EMPTY_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


class ChatCompletionsCodec:
    format = WireFormat.CHAT_COMPLETIONS
    messages_error_shape = False
    required: RequiredFields = (("model", str, "a model name string"), ("messages", list, "a list of messages"))

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
        self,
        events: AsyncIterator[dict[str, Any]],
        ids: IdMapper,
        out: Relayed,
        gate: Gate | None = None,
    ) -> AsyncIterator[bytes]:
        last: dict[str, Any] = {}
        hold = _Hold()
        try:
            async for chunk in events:
                last = chunk
                if not _relay_chunk(chunk, ids, out):
                    continue
                if gate is None or not hold.takes(chunk):
                    hold.saw(chunk)
                    yield sse_event(chunk)
                    continue
                if any(isinstance(c, dict) and c.get("finish_reason") for c in chunk.get("choices") or []):
                    for held in await hold.settle(gate, out):
                        yield sse_event(held)
            for held in await hold.settle(gate, out) if gate is not None else ():
                yield sse_event(held)
        except ControlError as err:
            yield sse_event(_failure_chunk(last, err.message))  # held tool calls are dropped
        yield SSE_DONE

    # -- policy enforcement -------------------------------------------------------------------

    def exchange(self, body: dict[str, Any]) -> tuple[list[ToolCallView], list[ToolResultView]]:
        calls: list[ToolCallView] = []
        results: list[ToolResultView] = []
        for message in body.get("messages") or []:
            if not isinstance(message, dict):
                continue
            if message.get("role") == "tool":
                results.append(ToolResultView(str(message.get("tool_call_id", "")), message.get("content")))
            for call in message.get("tool_calls") or [] if isinstance(message.get("tool_calls"), list) else []:
                if isinstance(call, dict):
                    calls.append(_view(call))
        return calls, results

    def replace_results(self, body: dict[str, Any], texts: Mapping[str, str]) -> dict[str, Any]:
        messages = [
            {**m, "content": with_result_text(m.get("content"), texts[str(m.get("tool_call_id"))])}
            if isinstance(m, dict) and m.get("role") == "tool" and str(m.get("tool_call_id")) in texts
            else m
            for m in body.get("messages") or []
        ]
        return {**body, "messages": messages}

    def proposed_calls(self, answer: dict[str, Any]) -> list[ToolCallView]:
        return [
            _view(call)
            for choice in answer.get("choices") or []
            if isinstance(choice, dict) and isinstance(choice.get("message"), dict)
            for call in choice["message"].get("tool_calls") or []
            if isinstance(call, dict)
        ]

    def deny(self, answer: dict[str, Any], text: str) -> dict[str, Any]:
        for choice in answer.get("choices") or []:
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict) and message.get("tool_calls"):
                choice["message"] = {"role": "assistant", "content": text}
                choice["finish_reason"] = "stop"
        return answer

    def rewrite_calls(self, answer: dict[str, Any], arguments: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        for choice in answer.get("choices") or []:
            message = choice.get("message") if isinstance(choice, dict) else None
            for call in (message.get("tool_calls") or []) if isinstance(message, dict) else []:
                if isinstance(call, dict) and call.get("id") in arguments and isinstance(call.get("function"), dict):
                    call["function"]["arguments"] = json.dumps(arguments[call["id"]], ensure_ascii=False)
        return answer



def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

def _view(call: dict[str, Any]) -> ToolCallView:
    function = _object(call.get("function"))
    return ToolCallView(str(call.get("id", "")), str(function.get("name", "")), function.get("arguments"))


class _Hold:
    """Chunks held back from the first tool-call delta until the finish, and the calls they build."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, Any]] = []
        self.calls: dict[tuple[int, int], dict[str, str]] = {}
        self.role_sent = False
        self.text_sent = False

    def saw(self, chunk: dict[str, Any]) -> None:
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict):
                self.role_sent = self.role_sent or "role" in delta
                self.text_sent = self.text_sent or bool(delta.get("content"))

    def takes(self, chunk: dict[str, Any]) -> bool:
        """Hold this chunk? Yes once a tool-call delta appeared (and then until the finish)."""
        fresh = False
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            for call in (delta or {}).get("tool_calls") or [] if isinstance(delta, dict) else []:
                if not isinstance(call, dict):
                    continue
                fresh = True
                key = (int(choice.get("index") or 0), int(call.get("index") or 0))
                slot = self.calls.setdefault(key, {"id": "", "name": "", "arguments": ""})
                function = _object(call.get("function"))
                slot["id"] = slot["id"] or str(call.get("id") or "")
                slot["name"] += str(function.get("name") or "")
                slot["arguments"] += str(function.get("arguments") or "")
        if fresh or self.chunks:
            self.chunks.append(chunk)
            return True
        return False

    async def settle(self, gate: Gate, out: Relayed) -> list[dict[str, Any]]:
        """The chunks to send now: the held ones (arguments rewritten as the gate says), or the denial."""
        if not self.chunks:
            return []
        held, self.chunks = self.chunks, []
        calls, self.calls = self.calls, {}
        views = [ToolCallView(c["id"], c["name"], c["arguments"]) for c in calls.values()]
        decision: GateDecision = await decide(gate, views)
        denial = decision.denial
        if denial is None:
            _rewrite_held(held, calls, decision.arguments)
            return held
        out.tool_calls = False
        base = {k: v for k, v in held[-1].items() if k not in ("choices", "usage")}
        delta: dict[str, Any] = {"content": ("\n\n" if self.text_sent else "") + denial}
        if not self.role_sent:
            delta = {"role": "assistant", **delta}
        finish: dict[str, Any] = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = next((c["usage"] for c in reversed(held) if isinstance(c.get("usage"), dict)), None)
        if usage is not None:
            finish["usage"] = usage
        return [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}, finish]


def _rewrite_held(
    held: list[dict[str, Any]], calls: dict[tuple[int, int], dict[str, str]], arguments: Mapping[str, dict[str, Any]]
) -> None:
    """Put each rewritten call's whole new arguments in its first argument fragment, empty the rest."""
    fresh = {k: json.dumps(arguments[c["id"]], ensure_ascii=False) for k, c in calls.items() if c["id"] in arguments}
    written: set[tuple[int, int]] = set()
    for chunk in held if fresh else ():
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            for call in (delta.get("tool_calls") or []) if isinstance(delta, dict) else []:
                function = call.get("function") if isinstance(call, dict) else None
                key = (int(choice.get("index") or 0), int(call.get("index") or 0)) if isinstance(call, dict) else None
                if key in fresh and isinstance(function, dict) and "arguments" in function:
                    function["arguments"] = "" if key in written else fresh[key]
                    written.add(key)


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
