"""Canonical outcomes render into bodies and streams the official SDK types accept; requests decode."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter
from sequrity.types.chat_completion.response import ChatCompletionResponse
from sequrity.types.chat_completion.stream import ChatCompletionChunk
from sequrity.types.messages.response import AnthropicMessageResponse
from sequrity.types.messages.stream import AnthropicStreamEvent
from sequrity.types.responses.response import ResponsesResponse
from sequrity.types.responses.stream import OpenAiResponseStreamEvent

from server.formats import chat_canonical, messages_canonical, responses_canonical
from server.formats.canonical import FinalOutcome, TokenUsage, ToolCall, ToolCallsOutcome

SID = "0190b8c4-1111-7000-8000-000000000001"
CALLS = ToolCallsOutcome(
    calls=(ToolCall(id=f"tc-{SID}-0190b8c4-2222-7000-8000-000000000002", name="get_weather", arguments={"city": "London"}),),
    usage=TokenUsage(12, 3),
)
FINAL = FinalOutcome(content=json.dumps({"status": "success", "final_return_value": {"value": 97}}) * 3, usage=TokenUsage(5, 2))
FAILED = FinalOutcome(content='{"status":"failure"}', failed=True, error_code="policy_denied",
                      error_message="Tool call to 'send_email' is denied by argument checking policies.")


def payloads(stream) -> list[dict]:
    out = []
    for chunk in stream:
        for line in chunk.decode().splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                out.append(json.loads(line[6:]))
    return out


@pytest.mark.parametrize("outcome", [CALLS, FINAL, FAILED])
def test_chat(outcome) -> None:
    body = ChatCompletionResponse.model_validate(chat_canonical.render(outcome, session_id=SID, model="p,q"))
    assert body.id == SID and body.model == "p,q"
    expected = "tool_calls" if outcome is CALLS else "error" if outcome is FAILED else "stop"
    assert body.choices[0].finish_reason == expected
    chunks = [ChatCompletionChunk.model_validate(p) for p in payloads(chat_canonical.render_stream(outcome, session_id=SID, model="p,q"))]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    if isinstance(outcome, FinalOutcome):
        assert text == outcome.content
    else:
        args = "".join(tc.function.arguments or "" for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or [])
        assert json.loads(args) == {"city": "London"}
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls" if outcome is CALLS else "stop"]


@pytest.mark.parametrize("outcome", [CALLS, FINAL, FAILED])
def test_messages(outcome) -> None:
    body = AnthropicMessageResponse.model_validate(messages_canonical.render(outcome, session_id=SID, model="p,q"))
    assert body.stop_reason == ("tool_use" if outcome is CALLS else "end_turn")
    adapter = TypeAdapter(AnthropicStreamEvent)
    events = [adapter.validate_python(e) for e in payloads(messages_canonical.render_stream(outcome, session_id=SID, model="p,q"))]
    assert events[0].type == "message_start" and events[-1].type == "message_stop"


@pytest.mark.parametrize("outcome", [CALLS, FINAL, FAILED])
def test_responses(outcome) -> None:
    body = ResponsesResponse.model_validate(responses_canonical.render(outcome, session_id=SID, model="p,q"))
    assert body.status == ("failed" if outcome is FAILED else "completed")
    if outcome is FAILED:
        assert body.error.code == "policy_denied"
    raw = payloads(responses_canonical.render_stream(outcome, session_id=SID, model="p,q"))
    events = [TypeAdapter(OpenAiResponseStreamEvent).validate_python(e) for e in raw]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    last = ResponsesResponse.model_validate(raw[-1]["response"])
    text = "".join(p.text for item in last.output if item.type == "message" for p in item.content)
    assert text == (outcome.content if isinstance(outcome, FinalOutcome) else "")


def test_decode_each_format() -> None:
    chat = chat_canonical.decode({"model": "m", "messages": [
        {"role": "system", "content": "sys"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "tc-1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
        {"role": "tool", "tool_call_id": "tc-1", "content": "r"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]})
    assert [m.role for m in chat.messages] == ["system", "user", "assistant", "tool"]
    assert chat.messages[2].tool_calls[0].arguments == {"a": 1} and chat.tools[0].name == "f"
    msgs = messages_canonical.decode({"model": "m", "max_tokens": 5, "system": "sys", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "tc-1", "name": "f", "input": {"a": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tc-1", "content": [{"type": "text", "text": "r"}]}]}]})
    assert [m.role for m in msgs.messages] == ["system", "user", "assistant", "tool"]
    assert msgs.messages[3].text == "r"
    resp = responses_canonical.decode({"model": "m", "instructions": "sys", "previous_response_id": "resp_1", "input": [
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "tc-1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "tc-1", "output": "r"}]})
    assert [m.role for m in resp.messages] == ["system", "user", "assistant", "tool"]
    assert resp.previous_response_id == "resp_1"
