"""Single-LLM enforcement of argument policies, through the real server and the official SDKs.

A denied call replaces the whole assistant message with the denial text (spec 13.4, 7.3), in the
request's format, streamed and not; an allowed call is relayed unchanged.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from server.fake_upstream import FakeUpstream, Reply, ToolCall

SENTENCE = "Tool call to 'send_email' is denied by argument checking policies."
POLICY = r"""
tool "send_email" {
    /// Mail must not go to evil.com
    must deny when to.value in {str matching r".*@evil\.com"};
}
"""
CEDAR = """@description("Mail must not go to evil.com")
forbid(principal, action == Action::"send_email", resource) when { context.to.value like "*@evil.com" };
"""
EVIL = {"to": "eve@evil.com", "body": "hi"}
GOOD = {"to": "bob@good.com", "body": "hi"}
USER = [{"role": "user", "content": "mail bob"}]
CHAT_TOOLS = [{"type": "function", "function": {"name": "send_email", "parameters": {"type": "object"}}}]
MSG_TOOLS = [{"name": "send_email", "input_schema": {"type": "object"}}]
RESP_TOOLS = [{"type": "function", "name": "send_email", "parameters": {"type": "object"}}]


def policy_headers(code: str = POLICY, language: str = "sqrt") -> dict[str, str]:
    return {
        "X-Features": json.dumps({"agent_arch": "single-llm"}),
        "X-Policy": json.dumps({"codes": {"code": code, "language": language}}),
    }


def oai(gateway, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.control}/chat/openai/v1",
        api_key=gateway.key,
        default_headers={**policy_headers(), **headers},
        max_retries=0,
    )


def claude(gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{gateway.control}/chat/anthropic",
        api_key=gateway.key,
        default_headers=policy_headers(),
        max_retries=0,
    )


def chat_answer(client: openai.OpenAI, *, stream: bool) -> tuple[str, list[tuple[str, dict]], list[str]]:
    """(text, [(tool, args)], finish reasons) of one Chat answer, streamed or not."""
    if not stream:
        choice = client.chat.completions.create(model="m", messages=USER, tools=CHAT_TOOLS).choices[0]
        calls = [(c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or []]
        return choice.message.content or "", calls, [choice.finish_reason]
    text, parts, finishes = "", {}, []
    for chunk in client.chat.completions.create(model="m", messages=USER, tools=CHAT_TOOLS, stream=True):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for tc in choice.delta.tool_calls or []:
                slot = parts.setdefault(tc.index, ["", ""])
                slot[0] += (tc.function.name or "") if tc.function else ""
                slot[1] += (tc.function.arguments or "") if tc.function else ""
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    return text, [(n, json.loads(a)) for n, a in parts.values()], finishes


# -- Chat Completions -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_chat_denied_call_is_replaced_by_the_denial(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", EVIL)))
    text, calls, finishes = chat_answer(oai(gateway), stream=stream)
    assert SENTENCE in text and "Mail must not go to evil.com" in text
    assert calls == [] and finishes == ["stop"]


@pytest.mark.parametrize("stream", [False, True])
def test_chat_allowed_call_passes_unchanged(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", GOOD), content="Sending."))
    text, calls, finishes = chat_answer(oai(gateway), stream=stream)
    assert text == "Sending." and calls == [("send_email", GOOD)] and finishes == ["tool_calls"]


@pytest.mark.parametrize("stream", [False, True])
def test_chat_partly_denied_message_is_replaced_whole(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", GOOD), ToolCall("send_email", EVIL)))
    text, calls, finishes = chat_answer(oai(gateway), stream=stream)
    assert calls == [] and finishes == ["stop"] and text.count(SENTENCE) == 1


def test_chat_stream_text_flows_before_the_held_tool_call(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", EVIL), content="Let me mail that."))
    text, calls, finishes = chat_answer(oai(gateway), stream=True)
    assert text.startswith("Let me mail that.\n\n") and SENTENCE in text
    assert calls == [] and finishes == ["stop"]


def test_denied_answer_ends_the_turn(gateway, fake_upstream: FakeUpstream) -> None:
    """No call reaches the client, so nothing is pending: a result for the denied id is refused."""
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", EVIL)), Reply.text("ok"))
    client = oai(gateway, **{"X-Config": json.dumps({"fsm": {"max_n_turns": 3}})})
    first = client.chat.completions.with_raw_response.create(model="m", messages=USER, tools=CHAT_TOOLS)
    session = first.headers["x-session-id"]
    answer = first.parse().choices[0]
    assert answer.message.tool_calls is None and answer.finish_reason == "stop"
    history = [*USER, {"role": "assistant", "content": answer.message.content}, {"role": "user", "content": "ok?"}]
    second = client.chat.completions.with_raw_response.create(
        model="m", messages=history, tools=CHAT_TOOLS, extra_headers={"X-Session-ID": session}
    )
    assert second.headers["x-session-id"] == session and second.parse().choices[0].message.content == "ok"


# -- Anthropic Messages ---------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("args, denied", [(EVIL, True), (GOOD, False)])
def test_messages_denied_and_allowed(
    gateway, fake_upstream: FakeUpstream, stream: bool, args: dict, denied: bool
) -> None:
    fake_upstream.script("claude-x", Reply.tool_calls(ToolCall("send_email", args), content="On it."))
    request = dict(model="claude-x", max_tokens=100, messages=USER, tools=MSG_TOOLS)
    if stream:
        with claude(gateway).messages.stream(**request) as events:
            message = events.get_final_message()
    else:
        message = claude(gateway).messages.create(**request)
    kinds = [b.type for b in message.content]
    if denied:
        assert message.stop_reason == "end_turn" and "tool_use" not in kinds
        text = "".join(b.text for b in message.content if b.type == "text")
        assert SENTENCE in text and "Mail must not go to evil.com" in text
    else:
        assert message.stop_reason == "tool_use" and kinds == ["text", "tool_use"]
        assert message.content[1].input == GOOD and message.content[1].id.startswith("tc-")


# -- OpenAI Responses -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("args, denied", [(EVIL, True), (GOOD, False)])
def test_responses_denied_and_allowed(
    gateway, fake_upstream: FakeUpstream, stream: bool, args: dict, denied: bool
) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", args)))
    client = oai(gateway)
    if stream:
        events = list(client.responses.create(model="m", input="mail bob", tools=RESP_TOOLS, stream=True))
        assert [e.sequence_number for e in events] == list(range(len(events)))
        assert events[-1].type == "response.completed"
        response = events[-1].response
        if denied:
            assert not any(e.type.startswith("response.function_call") for e in events)
    else:
        response = client.responses.create(model="m", input="mail bob", tools=RESP_TOOLS)
    kinds = [item.type for item in response.output]
    assert response.status == "completed"
    if denied:
        assert kinds == ["message"] and SENTENCE in response.output_text
    else:
        assert kinds == ["function_call"] and json.loads(response.output[0].arguments) == args


@pytest.mark.parametrize("turns", [None, 5])  # default: the session closes with the denial, an heir carries it
@pytest.mark.parametrize("stream", [False, True])
def test_responses_continue_after_a_denial(gateway, fake_upstream: FakeUpstream, stream: bool,
                                           turns: int | None) -> None:
    """The upstream stored the denied call; continuing with previous_response_id must still work.

    Like OpenAI, the fake refuses a continuation that leaves a stored call without an output, so
    the gateway answers the denied calls itself, with the denial, on the next request.
    """
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", EVIL, id="call_evil")), Reply.text("ok"))
    config = {"X-Config": json.dumps({"fsm": {"max_n_turns": turns}})} if turns else {}
    client = oai(gateway, **config)
    if stream:
        first = [e for e in client.responses.create(model="m", input="mail eve", tools=RESP_TOOLS, stream=True)
                 if e.type == "response.completed"][0].response
    else:
        first = client.responses.create(model="m", input="mail eve", tools=RESP_TOOLS)
    assert SENTENCE in first.output_text
    second = client.responses.create(model="m", input="then mail bob", tools=RESP_TOOLS,
                                     previous_response_id=first.id)
    assert second.output_text == "ok"
    items = fake_upstream.last_request.json["input"]
    assert (items[0]["type"], items[0]["call_id"]) == ("function_call_output", "call_evil")
    assert items[0]["output"].startswith(f"Not run: {SENTENCE}")
    assert items[1:] == [{"role": "user", "content": "then mail bob"}]
    # Answered once: a later continuation from the second answer carries nothing extra.
    fake_upstream.script("m", Reply.text("done"))
    client.responses.create(model="m", input="thanks", previous_response_id=second.id)
    assert fake_upstream.last_request.json["input"] == "thanks"


# -- loading, Cedar -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, code, where",
    [
        ("sqrt", 'tool "send_email" {\n    must deny when ;\n}', "line 2, column 20"),
        ("cedar", 'forbid(principal, action, resource) when { context.to.value like };', "line 1, column"),
    ],
)
def test_invalid_policy_is_400_with_line_and_column_before_any_upstream_call(
    gateway, fake_upstream: FakeUpstream, language: str, code: str, where: str
) -> None:
    before = len(fake_upstream.requests)
    r = httpx.post(
        f"{gateway.control}/chat/openai/v1/chat/completions",
        json={"model": "m", "messages": USER, "stream": True},
        headers={"Authorization": f"Bearer {gateway.key}", **policy_headers(code, language)},
    )
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "X-Policy" in message and where in message, message
    assert len(fake_upstream.requests) == before


@pytest.mark.parametrize("stream", [False, True])
def test_cedar_policy_denies_and_allows_the_same_way(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script(
        "m", Reply.tool_calls(ToolCall("send_email", EVIL)), Reply.tool_calls(ToolCall("send_email", GOOD))
    )
    client = oai(gateway, **policy_headers(CEDAR, "cedar"))
    text, calls, finishes = chat_answer(client, stream=stream)
    assert SENTENCE in text and "Mail must not go to evil.com" in text and calls == [] and finishes == ["stop"]
    text, calls, finishes = chat_answer(client, stream=stream)
    assert calls == [("send_email", GOOD)] and finishes == ["tool_calls"]
