"""Scripting behaviour: queues per model, responder, default, unscripted errors, recording, delays."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from server.fake_upstream import FakeUpstream, Reply, ToolCall
from server.names import WireFormat

USER = [{"role": "user", "content": "hi"}]


def _chat(fake: FakeUpstream, model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": USER, **extra}
    return httpx.post(f"{fake.openai_base_url}/chat/completions", json=body)


def test_queues_are_per_model_and_in_order(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text("plan 1"), Reply.text("plan 2"))
    fake_upstream.script("quarantine-model", Reply.text("q 1"))
    texts = [
        _chat(fake_upstream, m).json()["choices"][0]["message"]["content"]
        for m in ("planner-model", "quarantine-model", "planner-model")
    ]
    assert texts == ["plan 1", "q 1", "plan 2"]
    assert fake_upstream.remaining == {}


def test_unscripted_request_names_the_model(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.script("other", Reply.text("unused"))
    answer = _chat(fake_upstream, "forgotten-model")
    assert answer.status_code == 500
    assert answer.headers["x-should-retry"] == "false"
    assert "no reply scripted for model 'forgotten-model'" in answer.json()["error"]["message"]
    assert fake_upstream.remaining == {"other": 1}
    # the SDK does not retry it, so a forgotten script fails fast with a readable message
    retrying = oai.with_options(max_retries=2)
    with pytest.raises(openai.InternalServerError, match="forgotten-model"):
        retrying.chat.completions.create(model="forgotten-model", messages=USER)
    assert len(fake_upstream.requests) == 2


def test_responder_gets_body_and_format(fake_upstream: FakeUpstream) -> None:
    seen: list[WireFormat] = []

    def responder(body: dict[str, Any], fmt: WireFormat) -> Reply | None:
        seen.append(fmt)
        return Reply.text(f"echo {body['model']}") if body["model"] != "skip" else None

    fake_upstream.responder = responder
    fake_upstream.default = Reply.text("default")
    assert _chat(fake_upstream, "abc").json()["choices"][0]["message"]["content"] == "echo abc"
    assert _chat(fake_upstream, "skip").json()["choices"][0]["message"]["content"] == "default"
    body = {"model": "r", "input": "x"}
    answer = httpx.post(f"{fake_upstream.openai_base_url}/responses", json=body).json()
    assert answer["output"][0]["content"][0]["text"] == "echo r"
    assert seen == [WireFormat.CHAT_COMPLETIONS, WireFormat.CHAT_COMPLETIONS, WireFormat.RESPONSES]


def test_responder_error_is_reported(fake_upstream: FakeUpstream) -> None:
    def responder(body: dict[str, Any], fmt: WireFormat) -> Reply:
        raise KeyError("tools")

    fake_upstream.responder = responder
    answer = _chat(fake_upstream, "m")
    assert answer.status_code == 500
    assert "responder raised KeyError: 'tools'" in answer.json()["error"]["message"]


def test_script_beats_responder_beats_default(fake_upstream: FakeUpstream) -> None:
    fake_upstream.default = Reply.text("default")
    fake_upstream.responder = lambda body, fmt: Reply.text("dynamic")
    fake_upstream.script("m", Reply.text("scripted"))
    texts = [_chat(fake_upstream, "m").json()["choices"][0]["message"]["content"] for _ in "ab"]
    assert texts == ["scripted", "dynamic"]


def test_requests_are_recorded(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.default = Reply.text("ok")
    oai.chat.completions.create(
        model="gpt-test", messages=USER, extra_headers={"X-Custom": "Yes"}, stream=True
    ).close()
    seen = fake_upstream.requests[0]
    assert (seen.method, seen.path, seen.model, seen.stream) == (
        "POST", "/v1/chat/completions", "gpt-test", True
    )
    assert seen.headers["authorization"] == "Bearer sk-test"
    assert seen.headers["x-custom"] == "Yes"
    assert seen.json["messages"] == USER
    assert seen.format is WireFormat.CHAT_COMPLETIONS


def test_reset_clears_everything(fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("a"), Reply.text("b"))
    fake_upstream.responder = lambda body, fmt: None
    assert _chat(fake_upstream, "m").json()["id"] == "chatcmpl-fake-1"
    fake_upstream.reset()
    assert fake_upstream.requests == [] and fake_upstream.remaining == {}
    assert fake_upstream.responder is None
    fake_upstream.script("m", Reply.text("c"))
    assert _chat(fake_upstream, "m").json()["id"] == "chatcmpl-fake-1"  # counters restart


def test_ids_are_deterministic(fake_upstream: FakeUpstream) -> None:
    fake_upstream.default = Reply.tool_calls(ToolCall("f"), ToolCall("g"))
    first, second = (_chat(fake_upstream, "m").json() for _ in "ab")
    assert [first["id"], second["id"]] == ["chatcmpl-fake-1", "chatcmpl-fake-2"]
    ids = [c["id"] for r in (first, second) for c in r["choices"][0]["message"]["tool_calls"]]
    assert ids == ["call_fake_1", "call_fake_2", "call_fake_3", "call_fake_4"]


def test_delay_triggers_client_timeout(fake_upstream: FakeUpstream, oai: openai.OpenAI) -> None:
    fake_upstream.script("slow", Reply.text("late", delay=1.0))
    with pytest.raises(openai.APITimeoutError):
        oai.with_options(timeout=0.2).chat.completions.create(model="slow", messages=USER)


def test_extra_fields_headers_and_raw_arguments(fake_upstream: FakeUpstream) -> None:
    reply = Reply.tool_calls(
        ToolCall("f", '{"broken": '),  # raw text is sent verbatim, even when not valid JSON
        extra={"provider": "FakeProvider"},
        headers={"x-request-id": "req_1"},
    )
    fake_upstream.script("m", reply, reply)
    answer = _chat(fake_upstream, "m")
    assert answer.headers["x-request-id"] == "req_1"
    assert answer.json()["provider"] == "FakeProvider"
    assert answer.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == (
        '{"broken": '
    )
    streamed = _chat(fake_upstream, "m", stream=True).text
    assert streamed.count('"provider":"FakeProvider"') >= 3  # every chunk carries the extras


@pytest.mark.parametrize(("path", "status"), [("/v1/nothing", 404), ("/v1/chat/completions", 400)])
def test_bad_route_or_body(fake_upstream: FakeUpstream, path: str, status: int) -> None:
    answer = httpx.post(f"{fake_upstream.url}{path}", content=b"not json")
    assert answer.status_code == status
    assert answer.json()["error"]["message"].startswith("fake upstream:")


def test_standalone_server_lifecycle() -> None:
    fake = FakeUpstream(default=Reply.text("solo"))
    with fake:
        assert _chat(fake, "any").json()["choices"][0]["message"]["content"] == "solo"
        with pytest.raises(RuntimeError, match="already running"):
            fake.start()
    with pytest.raises(httpx.ConnectError):
        _chat(fake, "any")


async def test_async_context_manager() -> None:
    async with FakeUpstream(default=Reply.text("async solo")) as fake:
        client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)
        answer = await client.chat.completions.create(model="m", messages=USER)
        await client.close()
    assert answer.choices[0].message.content == "async solo"
