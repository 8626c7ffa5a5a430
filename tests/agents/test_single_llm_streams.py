"""The passthrough codecs' stream gate, table-driven over the three formats with rendered upstream events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.agents import single_llm_policy
from server.errors import UpstreamFailed
from server.fake_upstream import Quirks, Reply, ToolCall
from server.fake_upstream import render_chat, render_messages, render_responses
from server.fake_upstream.script import IdMint
from server.fake_upstream.wire import RenderContext
from server.formats import CODECS
from server.formats.base import Relayed, ToolCallView
from server.formats.ids import IdMapper
from server.names import Provider, WireFormat

SESSION = "01234567-89ab-cdef-0123-456789abcdef"
DENIAL = "Tool call to 'send_email' is denied by argument checking policies."
RENDER = {
    WireFormat.CHAT_COMPLETIONS: (render_chat, Provider.OPENAI),
    WireFormat.MESSAGES: (render_messages, Provider.ANTHROPIC),
    WireFormat.RESPONSES: (render_responses, Provider.OPENAI),
}
REPLY = Reply.tool_calls(
    ToolCall("send_email", {"to": "a@b.c"}), ToolCall("read_inbox", {}), content="Working on it."
)


def upstream(fmt: WireFormat, reply: Reply) -> list[dict[str, Any]]:
    renderer, flavor = RENDER[fmt]
    ctx = RenderContext(model="m", body={}, flavor=flavor, quirks=Quirks.off(), ids=IdMint())
    payloads = []
    for frame in renderer.events(reply, ctx):
        for line in frame.decode().splitlines():
            if line.startswith("data:") and line[5:].strip() != "[DONE]":
                payloads.append(json.loads(line[5:]))
    return payloads


def relay(fmt: WireFormat, events: list[dict[str, Any]], gate: Any, *, fail_after: int | None = None) -> tuple[list[dict[str, Any]], Relayed]:
    async def source() -> AsyncIterator[dict[str, Any]]:
        for n, event in enumerate(json.loads(json.dumps(events))):
            if fail_after is not None and n == fail_after:
                raise UpstreamFailed("upstream went away")
            yield event

    async def run() -> list[bytes]:
        return [c async for c in CODECS[fmt].stream_from_upstream(source(), ids, out, gate)]

    ids, out = IdMapper(SESSION, {}), Relayed()
    frames = asyncio.run(run())
    payloads = [
        json.loads(line[5:])
        for frame in frames
        for line in frame.decode().splitlines()
        if line.startswith("data:") and line[5:].strip() != "[DONE]"
    ]
    return payloads, out


def calls_in(fmt: WireFormat, payloads: list[dict[str, Any]]) -> bool:
    text = json.dumps(payloads)
    return {"chat/completions": '"tool_calls": [', "messages": '"tool_use"', "responses": '"function_call"'}[fmt] in text


def text_of(fmt: WireFormat, payloads: list[dict[str, Any]]) -> str:
    if fmt is WireFormat.CHAT_COMPLETIONS:
        return "".join(c["delta"].get("content") or "" for p in payloads for c in p.get("choices", []))
    if fmt is WireFormat.MESSAGES:
        return "".join(p["delta"].get("text", "") for p in payloads if p["type"] == "content_block_delta")
    return "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")


def finishes(fmt: WireFormat, payloads: list[dict[str, Any]]) -> list[str]:
    if fmt is WireFormat.CHAT_COMPLETIONS:
        return [c["finish_reason"] for p in payloads for c in p.get("choices", []) if c.get("finish_reason")]
    if fmt is WireFormat.MESSAGES:
        return [p["delta"]["stop_reason"] for p in payloads if p["type"] == "message_delta"]
    return [p["response"]["status"] for p in payloads if p["type"].startswith("response.") and "response" in p][-1:]


@pytest.mark.parametrize("fmt", list(RENDER))
def test_allowed_answer_is_relayed_exactly_as_without_a_gate(fmt: WireFormat) -> None:
    events = upstream(fmt, REPLY)
    seen: list[list[ToolCallView]] = []
    gated, out = relay(fmt, events, lambda calls: seen.append(calls))
    plain, _ = relay(fmt, events, None)
    assert out.tool_calls
    assert len(gated) == len(plain) and [p.get("type") for p in gated] == [p.get("type") for p in plain]
    assert [(c.name, single_llm_policy.decode_arguments(c.arguments)) for c in seen[0]] == [
        ("send_email", {"to": "a@b.c"}),
        ("read_inbox", {}),
    ]
    assert all(c.call_id.startswith(f"tc-{SESSION}-") for c in seen[0])
    assert text_of(fmt, gated) == text_of(fmt, plain) == "Working on it."


@pytest.mark.parametrize("fmt", list(RENDER))
def test_denied_answer_keeps_the_text_and_replaces_the_calls(fmt: WireFormat) -> None:
    payloads, out = relay(fmt, upstream(fmt, REPLY), lambda calls: DENIAL)
    assert not out.tool_calls and not calls_in(fmt, payloads)
    text = text_of(fmt, payloads)
    assert text.startswith("Working on it.") and text.endswith(DENIAL)
    assert finishes(fmt, payloads) == [{"chat/completions": "stop", "messages": "end_turn", "responses": "completed"}[fmt]]


@pytest.mark.parametrize("fmt", list(RENDER))
def test_text_only_answers_never_reach_the_gate(fmt: WireFormat) -> None:
    def gate(calls: list[ToolCallView]) -> str:
        raise AssertionError("no tool calls, no gate")

    payloads, out = relay(fmt, upstream(fmt, Reply.text("hello")), gate)
    assert not out.tool_calls and text_of(fmt, payloads) == "hello"


@pytest.mark.parametrize("fmt", list(RENDER))
def test_upstream_failure_while_calls_are_held_drops_them(fmt: WireFormat) -> None:
    events = upstream(fmt, REPLY)
    payloads, _ = relay(fmt, events, lambda calls: None, fail_after=len(events) - 2)
    assert not calls_in(fmt, payloads) and "upstream went away" in json.dumps(payloads)


def test_responses_sequence_numbers_stay_contiguous_after_a_denial() -> None:
    payloads, _ = relay(WireFormat.RESPONSES, upstream(WireFormat.RESPONSES, REPLY), lambda calls: DENIAL)
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    final = payloads[-1]["response"]
    assert [i["type"] for i in final["output"]] == ["message", "message"]


def test_policy_module_public_surface() -> None:
    assert single_llm_policy.__all__ == ["STATE_KEY", "PolicyState", "Enforcer", "load_request_policy", "record_verdict"]
