"""Anthropic Messages through the official `anthropic` SDK, streaming and not."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from server.fake_upstream import FakeUpstream, Quirks, Reply, Thinking, ToolCall, Usage

USER = [{"role": "user", "content": "hi"}]


def test_text_non_streaming(fake_upstream: FakeUpstream, claude: anthropic.Anthropic) -> None:
    fake_upstream.script("claude-test", Reply.text("hello", usage=Usage(input_tokens=4, output_tokens=1)))
    message = claude.messages.create(model="claude-test", max_tokens=100, messages=USER)
    assert message.id == "msg_fake_1"
    assert message.model == "claude-test"
    assert message.content[0].type == "text" and message.content[0].text == "hello"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (4, 1)


def test_thinking_text_and_tool_use(fake_upstream: FakeUpstream, claude: anthropic.Anthropic) -> None:
    reply = Reply.tool_calls(
        ToolCall("get_weather", {"city": "London"}),
        content="Let me check.",
        thinking=Thinking("pondering", signature="sig-123"),
    )
    fake_upstream.script("claude-test", reply)
    message = claude.messages.create(model="claude-test", max_tokens=100, messages=USER)
    kinds = [block.type for block in message.content]
    assert kinds == ["thinking", "text", "tool_use"]
    thinking, _, tool = message.content
    assert thinking.type == "thinking" and thinking.signature == "sig-123"
    assert tool.type == "tool_use" and tool.id == "toolu_fake_1" and tool.input == {"city": "London"}
    assert message.stop_reason == "tool_use"


def test_stream_final_message(fake_upstream: FakeUpstream, claude: anthropic.Anthropic) -> None:
    reply = Reply.tool_calls(
        ToolCall("get_weather", {"city": "London"}, id="toolu_given"),
        content="Let me check the weather.",
        thinking=Thinking("user wants weather", signature="sig-9"),
    )
    fake_upstream.script("claude-test", reply)
    with claude.messages.stream(model="claude-test", max_tokens=100, messages=USER) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "Let me check the weather."
    thinking, text, tool = final.content
    assert thinking.type == "thinking" and thinking.thinking == "user wants weather"
    assert thinking.signature == "sig-9"
    assert text.type == "text" and text.text == "Let me check the weather."
    assert tool.type == "tool_use" and tool.id == "toolu_given" and tool.input == {"city": "London"}
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 5


async def test_stream_async_text(
    fake_upstream: FakeUpstream, aclaude: anthropic.AsyncAnthropic
) -> None:
    fake_upstream.script("claude-test", Reply.text("async hello", finish="length"))
    async with aclaude.messages.stream(model="claude-test", max_tokens=5, messages=USER) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text == "async hello"
    assert final.stop_reason == "max_tokens"


def test_ping_on_the_wire_by_default(fake_upstream: FakeUpstream) -> None:
    fake_upstream.default = Reply.text("hi")
    body = {"model": "c", "max_tokens": 5, "messages": USER, "stream": True}
    frames = httpx.post(f"{fake_upstream.url}/v1/messages", json=body).text.split("\n\n")
    events = [f.split("\n")[0].removeprefix("event: ") for f in frames if f]
    assert events == [
        "message_start", "ping", "content_block_start", "content_block_delta",
        "content_block_delta", "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    for frame in filter(None, frames):
        event, data = frame.split("\n")
        assert json.loads(data.removeprefix("data: "))["type"] == event.removeprefix("event: ")
    fake_upstream.quirks = Quirks(anthropic_ping=False)
    assert "ping" not in httpx.post(f"{fake_upstream.url}/v1/messages", json=body).text


@pytest.mark.parametrize(("status", "kind", "exc"), [
    (400, "invalid_request_error", anthropic.BadRequestError),
    (429, "rate_limit_error", anthropic.RateLimitError),
    (529, "overloaded_error", anthropic.APIStatusError),
])  # fmt: skip
def test_error_shape_and_exception(
    fake_upstream: FakeUpstream, claude: anthropic.Anthropic, status: int, kind: str, exc: type
) -> None:
    fake_upstream.script("claude-test", Reply.error(status, "nope"))
    with pytest.raises(exc) as caught:
        claude.messages.create(model="claude-test", max_tokens=5, messages=USER)
    assert caught.value.status_code == status
    assert caught.value.body == {"type": "error", "error": {"type": kind, "message": "nope"}}


def test_headers_recorded(fake_upstream: FakeUpstream, claude: anthropic.Anthropic) -> None:
    fake_upstream.script("claude-test", Reply.text("ok"))
    claude.messages.create(
        model="claude-test", max_tokens=5, messages=USER,
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
    )  # fmt: skip
    seen = fake_upstream.last_request
    # this SDK version sends the key as a bearer token; older ones use x-api-key
    assert "sk-ant-test" in (seen.headers.get("x-api-key") or seen.headers["authorization"])
    assert "anthropic-version" in seen.headers
    assert seen.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert seen.json["max_tokens"] == 5 and seen.flavor == "anthropic"
