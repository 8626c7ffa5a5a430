"""Dual-LLM guardrails end to end: classifier tags on tool results and arguments, enforced by policy.

The fake upstream plays the planner ("planner-model", which is also the tag LLM: the request's
planner model scores toxicity and topics) and the quarantined LLM ("quarantine-model").
"""

from __future__ import annotations

import json

import httpx

from server.fake_upstream import FakeUpstream, Reply

MODEL = "planner-model,quarantine-model"
TOOLS = [
    {"type": "function", "function": {"name": "read_record", "parameters": {"type": "object", "properties": {}}}},
    {
        "type": "function",
        "function": {
            "name": "send_email",
            "parameters": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}},
        },
    },
]
PARSE = """```python
record = read_record()
who = parse_with_ai(query=f"Who is this about? {record}", output_schema=str)
final_return_value = who
```"""
MAIL = """```python
record = read_record()
send_email(to="boss@company.com", body=f"Summary: {record}")
final_return_value = "sent"
```"""
NO_PII_TO_LLM = 'tool "parse_with_ai" {\n    /// No personal data to the quarantined LLM\n    hard deny when "__pii" in query.tags;\n}\n'
NO_HEALTH_MAIL = 'tool "send_email" {\n    /// No health data by mail\n    hard deny when "__topic_healthcare" in body.tags;\n}\n'
USER = [{"role": "user", "content": "Handle the record."}]


def post(gateway, messages, *, features: dict, policy: str, session: str | None = None) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {gateway.key}",
        "X-Features": json.dumps({"agent_arch": "dual-llm", **features}),
        "X-Policy": json.dumps({"codes": {"code": policy, "language": "sqrt"}}),
        "X-Config": json.dumps({"fsm": {"max_n_turns": 5},
                                "response_format": {"include_policy_check_history": True}}),
    }
    if session:
        headers["X-Session-ID"] = session
    body = {"model": MODEL, "messages": messages, "tools": TOOLS}
    return httpx.post(f"{gateway.control}/chat/openai/v1/chat/completions", json=body, headers=headers, timeout=30)


def answer_call(gateway, first: httpx.Response, text: str, *, features: dict, policy: str) -> httpx.Response:
    assert first.status_code == 200, first.text
    call = first.json()["choices"][0]["message"]["tool_calls"][0]
    history = [*USER, {"role": "assistant", "content": "", "tool_calls": [call]},
               {"role": "tool", "tool_call_id": call["id"], "content": text}]
    return post(gateway, history, features=features, policy=policy, session=first.headers["x-session-id"])


def scores(**by_category: float) -> Reply:
    return Reply.text(json.dumps({"scores": [{"id": i, **by_category} for i in range(8)]}))


def tag_requests(fake: FakeUpstream) -> list[str]:
    return [json.dumps(r.json) for r in fake.requests
            if r.model == "planner-model" and "content classifier" in json.dumps(r.json)]


def content(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    return json.loads(r.json()["choices"][0]["message"]["content"])


def test_pii_tag_on_a_result_blocks_parse_with_ai(gateway, fake_upstream: FakeUpstream) -> None:
    features = {"content_classifiers": [{"name": "pii_redaction"}]}
    fake_upstream.script("planner-model", Reply.text(PARSE))
    first = post(gateway, USER, features=features, policy=NO_PII_TO_LLM)
    done = content(answer_call(gateway, first, "Record of alice@example.com, premium plan.",
                               features=features, policy=NO_PII_TO_LLM))
    assert done["status"] == "failure" and done["error"]["code"] == "policy_denied"
    assert "parse_with_ai" in done["error"]["message"]
    assert not [r for r in fake_upstream.requests if r.model == "quarantine-model"]
    classifier = [e for e in done["policy_check_history"] if e["source"] == "classifier"]
    assert {(e["tool"], e["score"], e["fired"] != []) for e in classifier} == {
        ("read_record", 0.0, False),  # its (empty) arguments
        ("read_record", 1.0, True),  # its result: tagged __pii
    }


def test_redacted_result_reaches_the_quarantined_llm(gateway, fake_upstream: FakeUpstream) -> None:
    """Without a policy on the tag, the quarantined LLM gets the placeholder, never the address."""
    features = {"content_classifiers": [{"name": "pii_redaction"}]}
    fake_upstream.script("planner-model", Reply.text(PARSE))
    fake_upstream.script("quarantine-model", Reply.text(json.dumps({"answer": "[EMAIL_1]"})))
    first = post(gateway, USER, features=features, policy="")
    done = content(answer_call(gateway, first, "Record of alice@example.com.", features=features, policy=""))
    assert done["status"] == "success"
    asked = [json.dumps(r.json) for r in fake_upstream.requests if r.model == "quarantine-model"]
    assert asked and "[EMAIL_1]" in asked[0] and "alice@example.com" not in asked[0]


def test_topic_tag_denies_a_call_and_scores_are_not_asked_again(gateway, fake_upstream: FakeUpstream) -> None:
    features = {"content_classifiers": [{"name": "healthcare_topic_guardrail"}]}
    fake_upstream.script(
        "planner-model",
        Reply.text(MAIL),
        scores(healthcare=0.91),  # read_record's result
        scores(healthcare=0.91),  # send_email's arguments
    )
    first = post(gateway, USER, features=features, policy=NO_HEALTH_MAIL)
    done = content(answer_call(gateway, first, "Patient record: asthma, inhaler twice daily (dual).",
                               features=features, policy=NO_HEALTH_MAIL))
    assert done["status"] == "failure" and done["error"]["code"] == "policy_denied"
    assert done["error"]["message"].startswith("Tool call to 'send_email' is denied by argument checking policies.")
    assert len(tag_requests(fake_upstream)) == 2
    sources = [(e["tool"], e["source"]) for e in done["policy_check_history"]]
    assert ("read_record", "classifier") in sources and ("send_email", "classifier") in sources


def test_replay_of_the_attempt_sends_no_new_tag_llm_request(gateway, fake_upstream: FakeUpstream) -> None:
    """Request 3 replays the program from the top: the read_record result and send_email's
    arguments are answered from the ledger; only the new result is scored."""
    features = {"content_classifiers": [{"name": "finance_topic_guardrail"}]}
    fake_upstream.script("planner-model", Reply.text(MAIL), scores(finance=0.05), scores(finance=0.05))
    first = post(gateway, USER, features=features, policy="")
    second = answer_call(gateway, first, "Weather report: sunny (replay).", features=features, policy="")
    assert second.status_code == 200, second.text
    call = second.json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "send_email"
    before = len(tag_requests(fake_upstream))
    assert before == 2
    fake_upstream.script("planner-model", scores(finance=0.0))
    first_call = first.json()["choices"][0]["message"]["tool_calls"][0]
    history = [*USER, {"role": "assistant", "content": "", "tool_calls": [first_call]},
               {"role": "tool", "tool_call_id": first_call["id"], "content": "Weather report: sunny (replay)."},
               {"role": "assistant", "content": "", "tool_calls": [call]},
               {"role": "tool", "tool_call_id": call["id"], "content": "queued id 7 (replay)"}]
    third = post(gateway, history, features=features, policy="", session=second.headers["x-session-id"])
    assert content(third)["status"] == "success"
    new = tag_requests(fake_upstream)[before:]
    assert len(new) == 1 and "queued id 7" in new[0] and "Weather report" not in new[0]
