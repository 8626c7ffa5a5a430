"""Every policy decision of a real request reaches the audit log, readable by the session's owner only."""

from __future__ import annotations

import json
import time

import httpx

from server.fake_upstream import FakeUpstream, Reply, ToolCall
from tests.conftest import OTHER_KEY

DENY = 'tool "send_email" { hard deny when to.value in {str matching r".*@evil\\.com"}; }'


def audit(gateway, session: str, key: str) -> httpx.Response:
    return httpx.get(f"{gateway.control}/v1/sessions/{session}/audit", headers={"Authorization": f"Bearer {key}"})


def test_single_llm_denial_is_audited(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("send_email", {"to": "x@evil.com"})))
    headers = {"Authorization": f"Bearer {gateway.key}", "X-Features": json.dumps({"agent_arch": "single-llm"}),
               "X-Policy": json.dumps({"codes": DENY}), "X-Config": json.dumps({"fsm": {"max_n_turns": 3}})}
    r = httpx.post(f"{gateway.control}/chat/openai/v1/chat/completions", headers=headers, timeout=30,
                   json={"model": "m", "messages": [{"role": "user", "content": "mail"}], "tools": []})
    session = r.headers["x-session-id"]
    records = audit(gateway, session, gateway.key).json()["records"]
    assert any(rec["tool"] == "send_email" and rec["verdict"] == "hard_denied" for rec in records), records
    assert "x@evil.com" not in json.dumps(records), "argument values are not audited by default"
    assert audit(gateway, session, OTHER_KEY).status_code == 404


def test_dual_llm_decisions_are_audited(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text("```python\nsend_email(to='x@evil.com', body='hi')\n```"))
    tools = [{"type": "function", "function": {"name": "send_email", "parameters": {
        "type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}}}}]
    headers = {"Authorization": f"Bearer {gateway.key}", "X-Features": json.dumps({"agent_arch": "dual-llm"}),
               "X-Policy": json.dumps({"codes": DENY}), "X-Config": json.dumps({"fsm": {"max_n_turns": 3}})}
    r = httpx.post(f"{gateway.control}/chat/openai/v1/chat/completions", headers=headers, timeout=30,
                   json={"model": "planner-model,quarantine-model", "messages": [{"role": "user", "content": "x"}],
                         "tools": tools})
    session = r.headers["x-session-id"]
    deadline = time.monotonic() + 5
    while True:
        records = audit(gateway, session, gateway.key).json()["records"]
        if records or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(rec["tool"], rec["verdict"]) for rec in records] == [("send_email", "hard_denied")]
