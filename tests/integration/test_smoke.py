"""Smoke: the real server on loopback answers health, lists routes and relays a chat completion."""

from __future__ import annotations

import httpx
import openai

from server.fake_upstream import FakeUpstream, Reply


def test_health_and_listing(gateway) -> None:
    assert httpx.get(f"{gateway.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{gateway.control}/health").json() == {"status": "ok"}
    listing = httpx.get(f"{gateway.control}/").json()
    assert {"path": "/control/chat/v1/chat/completions", "methods": ["POST"]} in listing["routes"]


def test_openai_sdk_chat_completion(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("gpt-test", Reply.text("97"))
    client = openai.OpenAI(
        base_url=f"{gateway.control}/chat/openai/v1",
        api_key=gateway.key,
        default_headers={"X-Features": '{"agent_arch": "single-llm"}'},
    )
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    )
    answer = raw.parse()
    assert answer.choices[0].message.content == "97"
    assert len(raw.headers["x-session-id"]) == 36
    assert fake_upstream.last_request.headers["authorization"] == "Bearer managed-openai"
