"""Chat Completions through the official `openai` SDK: OpenAI, OpenRouter and Azure flavours."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from server.fake_upstream import FakeUpstream, Quirks, Reply, ToolCall, Usage

USER = [{"role": "user", "content": "hi"}]


def test_text_non_streaming(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.script("gpt-test", Reply.text("hello", usage=Usage(input_tokens=7, output_tokens=2)))
    answer = oai.chat.completions.create(model="gpt-test", messages=USER)
    assert answer.id == "chatcmpl-fake-1"
    assert answer.model == "gpt-test"
    assert answer.choices[0].message.content == "hello"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.total_tokens == 9


def test_tool_calls_non_streaming(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.script(
        "gpt-test",
        Reply.tool_calls(ToolCall("get_weather", {"city": "London"}), ToolCall("now", id="call_x")),
    )
    message = oai.chat.completions.create(model="gpt-test", messages=USER).choices[0].message
    calls = message.tool_calls or []
    assert [c.id for c in calls] == ["call_fake_1", "call_x"]
    assert calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(calls[0].function.arguments) == {"city": "London"}  # type: ignore[union-attr]


async def test_text_streaming_async(fake_upstream: FakeUpstream, aoai: openai.AsyncOpenAI) -> None:
    fake_upstream.script("gpt-test", Reply.text("streamed hello world"))
    stream = await aoai.chat.completions.create(
        model="gpt-test", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed hello world"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 3
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_tool_calls_streaming_accumulate(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.script("gpt-test", Reply.tool_calls(ToolCall("get_weather", {"city": "London"})))
    with oai.chat.completions.stream(model="gpt-test", messages=USER) as stream:
        final = stream.get_final_completion()
    call = (final.choices[0].message.tool_calls or [])[0]
    assert call.id == "call_fake_1"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "London"}  # type: ignore[union-attr]
    assert final.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("status", [400, 429, 500])
def test_error_raises_sdk_exception(
    fake_upstream: FakeUpstream, oai: openai.OpenAI, status: int
) -> None:
    fake_upstream.script("gpt-test", Reply.error(status, "slow down"))
    with pytest.raises(openai.APIStatusError) as caught:
        oai.chat.completions.create(model="gpt-test", messages=USER)
    assert caught.value.status_code == status
    assert caught.value.message == f"Error code: {status} - slow down"
    body = {"message": "slow down", "type": caught.value.type, "param": None, "code": None}
    assert caught.value.body == body


def test_sdk_retry_consumes_the_next_scripted_reply(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("gpt-test", Reply.error(429, "slow down", headers={"retry-after-ms": "1"}),
                         Reply.text("after retry"))  # fmt: skip
    client = openai.OpenAI(base_url=fake_upstream.openai_base_url, api_key="k", max_retries=1)
    answer = client.chat.completions.create(model="gpt-test", messages=USER)
    assert answer.choices[0].message.content == "after retry"
    assert len(fake_upstream.requests) == 2


def test_openrouter_comments_on_the_wire_and_sdk_copes(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("or-model", Reply.text("hi there"), Reply.text("hi there"))
    body = {"model": "or-model", "messages": USER, "stream": True}
    raw = httpx.post(f"{fake_upstream.openrouter_base_url}/chat/completions", json=body).text
    assert raw.startswith(": OPENROUTER PROCESSING\n\n")
    client = openai.OpenAI(base_url=fake_upstream.openrouter_base_url, api_key="k", max_retries=0)
    chunks = list(client.chat.completions.create(model="or-model", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "hi there"
    assert fake_upstream.last_request.path == "/api/v1/chat/completions"


def test_openrouter_error_shape(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("or-model", Reply.error(402, "no credits"))
    body = {"model": "or-model", "messages": USER}
    answer = httpx.post(f"{fake_upstream.openrouter_base_url}/chat/completions", json=body)
    assert answer.status_code == 402
    assert answer.json() == {"error": {"code": 402, "message": "no credits", "metadata": {}}}


def test_azure_filter_chunk_on_the_wire_and_sdk_copes(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("my-deployment", Reply.text("hi"), Reply.text("hi"))
    body = {"model": "my-deployment", "messages": USER, "stream": True}
    lines = httpx.post(f"{fake_upstream.azure_base_url}/chat/completions", json=body).text.split("\n\n")
    first = json.loads(lines[0].removeprefix("data: "))
    assert first["choices"] == [] and "prompt_filter_results" in first
    client = openai.OpenAI(
        base_url=fake_upstream.azure_base_url, api_key="unused", default_headers={"api-key": "az-key"}
    )
    stream = client.chat.completions.create(model="my-deployment", messages=USER, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "hi"
    assert fake_upstream.last_request.headers["api-key"] == "az-key"


def test_quirks_switch_off(fake_upstream: FakeUpstream) -> None:
    fake_upstream.quirks = Quirks.off()
    fake_upstream.default = Reply.text("x")
    body = {"model": "m", "messages": USER, "stream": True}
    azure = httpx.post(f"{fake_upstream.azure_base_url}/chat/completions", json=body).text
    router = httpx.post(f"{fake_upstream.openrouter_base_url}/chat/completions", json=body).text
    assert "prompt_filter_results" not in azure
    assert "OPENROUTER" not in router


def test_stream_wire_format(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("abc", finish="length"))
    body = {"model": "m", "messages": USER, "stream": True}
    answer = httpx.post(f"{fake_upstream.openai_base_url}/chat/completions", json=body)
    assert answer.headers["content-type"] == "text/event-stream"
    frames = answer.text.split("\n\n")
    assert frames[-2:] == ["data: [DONE]", ""]
    payloads = [json.loads(f.removeprefix("data: ")) for f in frames[:-2]]
    assert payloads[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert payloads[-1]["choices"][0] == {
        "index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"
    }
    assert all("usage" not in p for p in payloads)  # only with stream_options.include_usage
