"""Single-LLM guardrails through the real server: classifiers and blockers on tool arguments and results.

The official `sequrity` client and the `openai` / `anthropic` SDKs, streamed and not. The tag LLM is
the request's own model, so a test scripts its score answers on the same model name, in the order
the gateway asks: a result's scores before the upstream call, an argument's after the answer.
"""

from __future__ import annotations

import json

import anthropic
import openai
import pytest
from sequrity import SequrityClient
from sequrity.control import ControlConfig, FeaturesHeader, SecurityPolicyHeader

from server.fake_upstream import FakeUpstream, Reply, ToolCall

USER = [{"role": "user", "content": "mail bob the report"}]
MAIL = {"to": "bob@example.org", "body": "see https://evil.example.com/x and /etc/passwd"}
CHAT_TOOLS = [
    {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in ("read_chart", "send_email")
]
MSG_TOOLS = [{"name": n, "input_schema": {"type": "object"}} for n in ("read_chart", "send_email")]
RESP_TOOLS = [{"type": "function", "name": n, "parameters": {"type": "object"}} for n in ("read_chart", "send_email")]
LOCAL = {
    "agent_arch": "single-llm",
    "content_classifiers": [{"name": "pii_redaction"}],
    "content_blockers": [{"name": "url_blocker"}, {"name": "file_blocker"}],
}
TOPIC_POLICY = 'tool "send_email" {\n    /// No health data by mail\n    hard deny when "__topic_healthcare" in @args.tags;\n}\n'


def scores(**by_category: float) -> Reply:
    """The tag LLM's answer: the same scores for every text of the batch (one per argument value)."""
    return Reply.text(json.dumps({"scores": [{"id": i, **by_category} for i in range(8)]}))


def headers(features: dict, policy: str = "") -> dict[str, str]:
    out = {"X-Features": json.dumps(features)}
    if policy:
        out["X-Policy"] = json.dumps({"codes": {"code": policy, "language": "sqrt"}})
    return out


def oai(gateway, features: dict = LOCAL, policy: str = "") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.control}/chat/openai/v1", api_key=gateway.key,
                         default_headers=headers(features, policy), max_retries=0)


def redacted(args: dict) -> None:
    assert args["to"] == "[EMAIL_1]"
    assert "[URL_1]" in args["body"] and "[FILE_1]" in args["body"]
    assert "evil.example.com" not in args["body"] and "/etc/passwd" not in args["body"]


# -- PII and blockers on arguments: redacted before the tool (the client) sees them -----------


@pytest.mark.parametrize("stream", [False, True])
def test_official_client_gets_redacted_arguments(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script("gpt-5-mini", Reply.tool_calls(ToolCall("send_email", MAIL), content="Sending."))
    control = ControlConfig(
        provider="openai",
        features=FeaturesHeader.single_llm(pii_redaction=True, url_blocker=True, file_blocker=True),
    )
    with SequrityClient(api_key=gateway.key, base_url=gateway.url, control=control) as client:
        answer = client.control.chat.create(messages=USER, model="gpt-5-mini", tools=CHAT_TOOLS, stream=stream)
        if stream:
            parts = "".join(
                tc.function.arguments or ""
                for c in answer if c.choices
                for tc in c.choices[0].delta.tool_calls or []
            )
            args = json.loads(parts)
        else:
            args = json.loads(answer.choices[0].message.tool_calls[0].function.arguments)
    redacted(args)


@pytest.mark.parametrize("stream", [False, True])
def test_messages_sdk_gets_redacted_input(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script("claude-x", Reply.tool_calls(ToolCall("send_email", MAIL)))
    client = anthropic.Anthropic(base_url=f"{gateway.control}/chat/anthropic", api_key=gateway.key,
                                 default_headers=headers(LOCAL), max_retries=0)
    request = dict(model="claude-x", max_tokens=100, messages=USER, tools=MSG_TOOLS)
    if stream:
        with client.messages.stream(**request) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**request)
    assert message.stop_reason == "tool_use"
    redacted(message.content[-1].input)


@pytest.mark.parametrize("stream", [False, True])
def test_responses_sdk_gets_redacted_arguments(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", MAIL)))
    client = oai(gateway)
    if stream:
        events = list(client.responses.create(model="m", input="mail bob", tools=RESP_TOOLS, stream=True))
        deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
        redacted(json.loads(deltas))
        done = [e for e in events if e.type == "response.function_call_arguments.done"]
        redacted(json.loads(done[0].arguments))
        response = events[-1].response
    else:
        response = client.responses.create(model="m", input="mail bob", tools=RESP_TOOLS)
    redacted(json.loads(response.output[0].arguments))


def test_clean_arguments_pass_byte_for_byte(gateway, fake_upstream: FakeUpstream) -> None:
    clean = {"to": "bob", "body": "the report is attached"}
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", clean)))
    call = oai(gateway).chat.completions.create(model="m", messages=USER, tools=CHAT_TOOLS).choices[0].message
    assert json.loads(call.tool_calls[0].function.arguments) == clean


# -- toxicity: a toxic argument denies the call (the tag LLM is the request's model) -----------


@pytest.mark.parametrize("stream", [False, True])
def test_toxic_argument_is_denied(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    insult = f"you idiot ({stream=})"  # a text of its own: scores are cached per process
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", {"to": "troll", "body": insult})),
                         scores(toxicity=0.97))
    client = oai(gateway, {"agent_arch": "single-llm", "content_classifiers": [{"name": "toxicity_filter"}]})
    if stream:
        chunks = list(client.chat.completions.create(model="m", messages=USER, tools=CHAT_TOOLS, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    else:
        answer = client.chat.completions.create(model="m", messages=USER, tools=CHAT_TOOLS)
        text = answer.choices[0].message.content
        assert answer.choices[0].message.tool_calls is None
        assert answer.usage.prompt_tokens > 0  # the tag LLM's usage is included
    assert "Tool call to 'send_email' is denied by argument checking policies." in text
    assert "toxicity_filter" in text
    tag_request = fake_upstream.requests[-1].json
    assert tag_request["model"] == "m" and insult in tag_request["messages"][-1]["content"]


def test_polite_argument_is_relayed(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", {"to": "carol", "body": "thanks!"})),
                         scores(toxicity=0.01))
    client = oai(gateway, {"agent_arch": "single-llm", "content_classifiers": [{"name": "toxicity_filter"}]})
    answer = client.chat.completions.create(model="m", messages=USER, tools=CHAT_TOOLS).choices[0]
    assert answer.finish_reason == "tool_calls"


# -- topics: a result's tag blocks a later call through the policy ---------------------------


def _chart_history(client: openai.OpenAI, text: str) -> list[dict]:
    call = client.chat.completions.create(model="m", messages=USER, tools=CHAT_TOOLS).choices[0].message.tool_calls[0]
    return [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": text},
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_topic_tag_of_a_result_blocks_a_later_call(gateway, fake_upstream: FakeUpstream, stream: bool) -> None:
    features = {"agent_arch": "single-llm", "content_classifiers": [{"name": "healthcare_topic_guardrail"}]}
    client = oai(gateway, features, TOPIC_POLICY)
    fake_upstream.script(
        "m",
        Reply.tool_calls(ToolCall("read_chart", {})),
        scores(healthcare=0.93),  # the result, scored before the next upstream call
        Reply.tool_calls(ToolCall("send_email", {"to": "dave", "body": f"summary {stream}"})),
        scores(healthcare=0.02),  # the new call's arguments
    )
    history = _chart_history(client, f"Patient has type 2 diabetes, on metformin ({stream}).")
    if stream:
        chunks = list(client.chat.completions.create(model="m", messages=history, tools=CHAT_TOOLS, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        text = client.chat.completions.create(model="m", messages=history, tools=CHAT_TOOLS).choices[0].message.content
    assert "Tool call to 'send_email' is denied by argument checking policies." in text
    assert "No health data by mail" in text


def test_recorded_result_scores_are_not_asked_again(gateway, fake_upstream: FakeUpstream) -> None:
    """The same history resent: its result's score is in the session, the tag LLM is not asked."""
    features = {"agent_arch": "single-llm", "content_classifiers": [{"name": "finance_topic_guardrail"}]}
    client = oai(gateway, features)
    fake_upstream.script(
        "m",
        Reply.tool_calls(ToolCall("read_chart", {})),
        scores(finance=0.1),
        Reply.text("done"),
    )
    history = _chart_history(client, "The weather is fine.")
    session = client.chat.completions.with_raw_response.create(model="m", messages=history, tools=CHAT_TOOLS)
    sid = session.headers["x-session-id"]
    before = len(fake_upstream.requests)
    fake_upstream.script("m", Reply.text("again"))
    again = client.chat.completions.create(
        model="m", messages=[*history, {"role": "assistant", "content": "done"}, {"role": "user", "content": "and?"}],
        tools=CHAT_TOOLS, extra_headers={"X-Session-ID": sid},
    )
    assert again.choices[0].message.content == "again"
    assert len(fake_upstream.requests) == before + 1  # the upstream call only


# -- PII in results: the upstream only ever sees the placeholders ----------------------------


def test_pii_in_a_result_is_redacted_before_the_upstream(gateway, fake_upstream: FakeUpstream) -> None:
    client = oai(gateway)
    fake_upstream.script("m", Reply.tool_calls(ToolCall("read_chart", {})), Reply.text("ok"))
    history = _chart_history(client, "Contact alice@example.com or see https://intranet.example.com/a")
    client.chat.completions.create(model="m", messages=history, tools=CHAT_TOOLS)
    sent = fake_upstream.last_request.json["messages"][-1]["content"]
    assert "alice@example.com" not in sent and "[EMAIL_1]" in sent and "[URL_1]" in sent
