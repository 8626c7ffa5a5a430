"""Single-LLM passthrough through the real server, driven by the official SDKs and the sequrity client."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest
from sequrity import SequrityClient
from sequrity.control import ControlConfig, FeaturesHeader

from server.fake_upstream import FakeUpstream, Quirks, Reply, Thinking, ToolCall

SINGLE = {"X-Features": json.dumps({"agent_arch": "single-llm"})}
USER = [{"role": "user", "content": "What is 90+7?"}]


def oai(gateway, provider: str = "openai", family: str = "chat", **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.control}/{family}/{provider}/v1",
        api_key=gateway.key,
        default_headers={**SINGLE, **headers},
        max_retries=0,
    )


def claude(gateway, family: str = "chat", **headers: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{gateway.control}/{family}/anthropic",
        api_key=gateway.key,
        default_headers={**SINGLE, **headers},
        max_retries=0,
    )


def sequrity_client(gateway, provider: str) -> SequrityClient:
    return SequrityClient(
        api_key=gateway.key,
        base_url=gateway.url,
        control=ControlConfig(provider=provider, features=FeaturesHeader.single_llm()),
    )


# -- Chat Completions -----------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "openrouter", "sequrity_azure"])
def test_chat_text_every_provider(gateway, fake_upstream: FakeUpstream, provider: str) -> None:
    fake_upstream.script("m", Reply.text("97"))
    answer = oai(gateway, provider).chat.completions.create(model="m", messages=USER)
    assert answer.choices[0].message.content == "97"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    sent = fake_upstream.last_request
    assert sent.flavor == provider
    if provider == "sequrity_azure":  # Azure's key travels in `api-key`, and only there
        assert sent.headers["api-key"] == "managed-azure" and "authorization" not in sent.headers
    else:
        assert sent.headers["authorization"] == f"Bearer managed-{provider}"


@pytest.mark.parametrize("provider", ["openai", "openrouter", "sequrity_azure"])
def test_chat_stream_every_provider_normalises_quirks(
    gateway, fake_upstream: FakeUpstream, provider: str
) -> None:
    fake_upstream.script("m", Reply.text("ninety-seven"))
    url = f"{gateway.control}/chat/{provider}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {gateway.key}", **SINGLE}
    body = {"model": "m", "messages": USER, "stream": True}
    with httpx.stream("POST", url, json=body, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert len(r.headers["x-session-id"]) == 36
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert not any(line.startswith(":") for line in lines), "OpenRouter comments must not reach the client"
    payloads = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(p["choices"] for p in payloads), "Azure's empty-choices preamble must be dropped"
    assert payloads[0]["object"] == "chat.completion.chunk"
    text = "".join(p["choices"][0]["delta"].get("content") or "" for p in payloads)
    assert text == "ninety-seven"
    assert payloads[-1]["choices"][0]["finish_reason"] == "stop"


def test_chat_tool_call_round_trip_rewrites_ids(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(
        "m",
        Reply.tool_calls(ToolCall("get_weather", {"city": "London"}, id="call_up_1")),
        Reply.text("It is sunny."),
    )
    client = oai(gateway)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    first = client.chat.completions.with_raw_response.create(model="m", messages=USER, tools=tools)
    session = first.headers["x-session-id"]
    call = first.parse().choices[0].message.tool_calls[0]
    assert call.id.startswith(f"tc-{session}-") and len(call.id) == 76
    assert json.loads(call.function.arguments) == {"city": "London"}
    # The client sends no session header: the tool-call id carries the session (spec 6.3).
    history = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = client.chat.completions.with_raw_response.create(model="m", messages=history, tools=tools)
    assert second.headers["x-session-id"] == session
    assert second.parse().choices[0].message.content == "It is sunny."
    sent = fake_upstream.last_request.json["messages"]
    # The pending call goes back upstream under the upstream's own id.
    assert sent[1]["tool_calls"][0]["id"] == "call_up_1"
    assert sent[2]["tool_call_id"] == "call_up_1"


def test_chat_stream_tool_call_ids_rewritten(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("f", {"a": 1})))
    stream = oai(gateway).chat.completions.create(model="m", messages=USER, stream=True)
    ids = [
        tc.id
        for chunk in stream
        for choice in chunk.choices
        for tc in (choice.delta.tool_calls or [])
        if tc.id
    ]
    assert len(ids) == 1 and ids[0].startswith("tc-")


# -- Anthropic Messages ---------------------------------------------------------------------


def test_messages_text_and_usage(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("claude-test", Reply.text("97"))
    answer = claude(gateway).messages.create(model="claude-test", max_tokens=100, messages=USER)
    assert answer.content[0].text == "97"
    assert answer.usage.input_tokens > 0 and answer.usage.output_tokens > 0
    assert fake_upstream.last_request.headers["authorization"] == "Bearer managed-anthropic"


def test_messages_stream_drops_ping_and_keeps_thinking_signature(
    gateway, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script(
        "claude-test",
        Reply.tool_calls(
            ToolCall("get_weather", {"city": "London"}),
            thinking=Thinking("let me think", signature="sig-123"),
        ),
    )
    client = claude(gateway)
    with client.messages.stream(model="claude-test", max_tokens=100, messages=USER) as stream:
        final = stream.get_final_message()
    kinds = [b.type for b in final.content]
    assert kinds == ["thinking", "tool_use"]
    assert final.content[0].signature == "sig-123"
    assert final.content[1].id.startswith("tc-") and final.content[1].input == {"city": "London"}
    assert final.stop_reason == "tool_use"
    url = f"{gateway.control}/chat/anthropic/v1/messages"
    fake_upstream.script("claude-test", Reply.text("hi"))
    body = {"model": "claude-test", "max_tokens": 10, "messages": USER, "stream": True}
    with httpx.stream("POST", url, json=body, headers={"Authorization": f"Bearer {gateway.key}", **SINGLE}) as r:
        events = [line[7:] for line in r.iter_lines() if line.startswith("event: ")]
    assert "ping" not in events
    assert events[0] == "message_start" and events[-1] == "message_stop"


def test_messages_preserves_unknown_fields_and_beta_headers(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("claude-test", Reply.text("ok"))
    client = claude(gateway, **{"anthropic-beta": "interleaved-thinking-2025-05-14"})
    client.messages.create(
        model="claude-test",
        max_tokens=100,
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}
        ],
        extra_body={"context_management": {"edits": []}, "brand_new_field": {"x": 1}},
        metadata={"user_id": "u1"},
    )
    got = fake_upstream.last_request
    assert got.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert got.json["brand_new_field"] == {"x": 1}
    assert got.json["context_management"] == {"edits": []}
    assert got.json["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}


# -- Responses ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "sequrity_azure"])
def test_responses_text_and_stream(gateway, fake_upstream: FakeUpstream, provider: str) -> None:
    fake_upstream.script("m", Reply.text("97"), Reply.text("98"))
    client = oai(gateway, provider)
    answer = client.responses.create(model="m", input="What is 90+7?")
    assert answer.output_text == "97" and answer.status == "completed"
    with client.responses.stream(model="m", input="again") as stream:
        final = stream.get_final_response()
    assert final.output_text == "98"


def test_responses_function_call_continuation_with_previous_response_id(
    gateway, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script(
        "m", Reply.tool_calls(ToolCall("book_flight", {"flight": "BA263"}, id="call_up_9")), Reply.text("booked")
    )
    client = oai(gateway, **{})
    tools = [{"type": "function", "name": "book_flight", "parameters": {"type": "object"}}]
    first = client.responses.with_raw_response.create(
        model="m", input="book BA263", tools=tools, extra_headers={"X-Config": json.dumps({"fsm": {"max_n_turns": 5}})}
    )
    session = first.headers["x-session-id"]
    call = next(item for item in first.parse().output if item.type == "function_call")
    assert call.call_id.startswith(f"tc-{session}-")
    second = client.responses.with_raw_response.create(
        model="m",
        previous_response_id=first.parse().id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "ok"}],
    )
    assert second.headers["x-session-id"] == session
    assert second.parse().output_text == "booked"
    sent = fake_upstream.last_request.json
    assert sent["previous_response_id"] == first.parse().id
    assert sent["input"][0]["call_id"] == "call_up_9"


# -- the official sequrity client -----------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_official_client_chat(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script("gpt-5-mini", Reply.text("The answer is 97"))
    with sequrity_client(gateway, "openai") as client:
        result = client.control.chat.create(messages=USER, model="gpt-5-mini", stream=stream)
        if stream:
            chunks = list(result)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert result.session_id is not None
        else:
            text = result.choices[0].message.content
            assert result.session_id is not None
    assert "97" in text


@pytest.mark.parametrize("stream", [False, True])
def test_official_client_messages(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script("claude-sonnet-4-5", Reply.text("97"))
    with sequrity_client(gateway, "anthropic") as client:
        result = client.control.messages.create(
            messages=USER, model="claude-sonnet-4-5", max_tokens=100, stream=stream
        )
        if stream:
            events = list(result)
            assert events[0].type == "message_start" and events[-1].type == "message_stop"
        else:
            assert result.content[0].text == "97"
            assert result.session_id is not None


@pytest.mark.parametrize("stream", [False, True])
def test_official_client_responses(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script("gpt-5-mini", Reply.text("97"))
    with sequrity_client(gateway, "openai") as client:
        result = client.control.responses.create(input="What is 90+7?", model="gpt-5-mini", stream=stream)
        if stream:
            types = [e.type for e in result]
            assert "response.created" in types and "response.completed" in types
            assert "response.output_text.delta" in types
        else:
            assert result.status == "completed"
            assert "97" in result.output_text


def test_model_string_pair_uses_first_name_upstream(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text("ok"))
    oai(gateway).chat.completions.create(model="planner-model, quarantine-model", messages=USER)
    assert fake_upstream.last_request.json["model"] == "planner-model"


def test_quirks_can_be_disabled_and_stream_still_parses(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.quirks = Quirks.off()
    fake_upstream.script("m", Reply.text("plain"))
    stream = oai(gateway, "sequrity_azure").chat.completions.create(model="m", messages=USER, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "plain"
