"""An upstream that fails after the stream began: the client gets the failure as content, not a broken stream."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from server.fake_upstream import FakeUpstream, Reply
from tests.conftest import KEY, gateway_settings, start_gateway

SINGLE = {"X-Features": json.dumps({"agent_arch": "single-llm"})}
USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
def impatient_gateway(fake_upstream: FakeUpstream, tmp_path):
    """A gateway whose upstream read timeout (0.5 s) is shorter than the fake's pause between events."""
    fake_upstream.script("m", Reply.text("a long answer in several slices", chunk_delay=2.0))
    server = start_gateway(gateway_settings(fake_upstream, tmp_path, upstream_timeout_seconds=0.5))
    yield server
    server.stop()


def test_chat_stream_ends_normally_with_the_failure_as_text(impatient_gateway) -> None:
    client = openai.OpenAI(
        base_url=f"{impatient_gateway.url}/control/chat/openai/v1", api_key=KEY, default_headers=SINGLE, max_retries=0
    )
    chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "[upstream error: upstream openai timed out]" in text
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_messages_stream_is_closed_with_the_failure_as_text(impatient_gateway) -> None:
    client = anthropic.Anthropic(
        base_url=f"{impatient_gateway.url}/control/chat/anthropic", api_key=KEY, default_headers=SINGLE, max_retries=0
    )
    with client.messages.stream(model="m", max_tokens=50, messages=USER) as stream:
        final = stream.get_final_message()
    assert "upstream error" in final.content[-1].text
    assert final.stop_reason == "end_turn"


def test_responses_stream_ends_with_response_failed(impatient_gateway) -> None:
    client = openai.OpenAI(
        base_url=f"{impatient_gateway.url}/control/chat/openai/v1", api_key=KEY, default_headers=SINGLE, max_retries=0
    )
    events = list(client.responses.create(model="m", input="hi", stream=True))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.code == "upstream_error"
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
