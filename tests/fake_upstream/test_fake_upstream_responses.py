"""OpenAI Responses through the official `openai` SDK, OpenAI and Azure flavours."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from server.fake_upstream import FakeUpstream, Reply, Thinking, ToolCall


def test_text_non_streaming(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.script("gpt-test", Reply.text("hello"))
    response = oai.responses.create(model="gpt-test", input="hi", instructions="be brief")
    assert response.id == "resp_fake_1"
    assert response.output_text == "hello"
    assert response.status == "completed"
    assert response.instructions == "be brief"
    assert response.usage is not None and response.usage.total_tokens == 15


def test_tool_call_non_streaming(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.script("gpt-test", Reply.tool_calls(ToolCall("get_weather", {"city": "Paris"})))
    response = oai.responses.create(model="gpt-test", input="weather?")
    call = response.output[0]
    assert call.type == "function_call"
    assert (call.id, call.call_id, call.name) == ("fc_fake_1", "call_fake_1", "get_weather")
    assert json.loads(call.arguments) == {"city": "Paris"}


def test_stream_final_response(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    reply = Reply.tool_calls(
        ToolCall("get_weather", {"city": "Paris"}), content="Checking.", thinking=Thinking("hmm")
    )
    fake_upstream.script("gpt-test", reply)
    with oai.responses.stream(model="gpt-test", input="weather?") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in kinds
    reasoning, message, call = final.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "hmm"
    assert message.type == "message" and final.output_text == "Checking."
    assert call.type == "function_call" and call.call_id == "call_fake_1"
    assert json.loads(call.arguments) == {"city": "Paris"}


async def test_stream_async_raw_events(fake_upstream: FakeUpstream, aoai: openai.AsyncOpenAI) -> None:
    fake_upstream.script("gpt-test", Reply.text("one two three", finish="length"))
    stream = await aoai.responses.create(model="gpt-test", input="count", stream=True)
    events = [event async for event in stream]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "one two three"
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"


def test_wire_has_event_lines(fake_upstream: FakeUpstream) -> None:
    fake_upstream.default = Reply.text("x")
    body = {"model": "m", "input": "hi", "stream": True}
    frames = httpx.post(f"{fake_upstream.openai_base_url}/responses", json=body).text.split("\n\n")
    for frame in filter(None, frames):
        event, data = frame.split("\n")
        assert json.loads(data.removeprefix("data: "))["type"] == event.removeprefix("event: ")


def test_azure_responses(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("dep", Reply.text("from azure"))
    client = openai.OpenAI(
        base_url=fake_upstream.azure_base_url, api_key="x", default_headers={"api-key": "az"}
    )
    assert client.responses.create(model="dep", input="hi").output_text == "from azure"
    assert fake_upstream.last_request.path == "/openai/v1/responses"


def test_error(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.script("gpt-test", Reply.error(404, "no such model", type="not_found"))
    with pytest.raises(openai.NotFoundError) as caught:
        oai.responses.create(model="gpt-test", input="hi")
    assert caught.value.body == {
        "message": "no such model", "type": "not_found", "param": None, "code": None
    }


@pytest.mark.parametrize("stream", [False, True])
def test_a_continuation_must_answer_the_stored_calls(fake_upstream: FakeUpstream, oai: openai.OpenAI,
                                                     stream: bool) -> None:
    """As OpenAI: a stored answer's calls need output items when continued with previous_response_id."""
    fake_upstream.script("m", Reply.tool_calls(ToolCall("f", {}, id="call_1")), Reply.text("ok"))
    if stream:
        first = [e for e in oai.responses.create(model="m", input="go", stream=True)
                 if e.type == "response.completed"][0].response
    else:
        first = oai.responses.create(model="m", input="go")
    with pytest.raises(openai.BadRequestError, match="No tool output found for function call call_1"):
        oai.responses.create(model="m", input="next", previous_response_id=first.id)
    assert fake_upstream.remaining == {"m": 1}  # the refusal consumed no scripted reply
    answer = oai.responses.create(model="m", previous_response_id=first.id,
                                  input=[{"type": "function_call_output", "call_id": "call_1", "output": "4"}])
    assert answer.output_text == "ok"


def test_an_unstored_answer_is_not_remembered(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("f", {}, id="call_1")), Reply.text("ok"))
    first = oai.responses.create(model="m", input="go", store=False)
    assert oai.responses.create(model="m", input="next", previous_response_id=first.id).output_text == "ok"
