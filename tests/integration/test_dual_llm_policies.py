"""Dual-LLM policy scenarios end to end: branching policy, a session counter across turns, provenance,
and the official client in every format."""

from __future__ import annotations

import json

import httpx
import pytest
from sequrity import SequrityClient
from sequrity.control import ControlConfig, FeaturesHeader, FineGrainedConfigHeader, SecurityPolicyHeader

from server.fake_upstream import FakeUpstream, Reply

MODEL = "planner-model,quarantine-model"


def tool(name: str, *params: str) -> dict:
    return {"type": "function", "function": {"name": name, "parameters": {
        "type": "object", "properties": {p: {"type": "string"} for p in params}}}}


class Conversation:
    def __init__(self, gateway, *, tools: list[dict], policy: dict, turns: int = 5) -> None:
        self.gateway = gateway
        self.headers = {"Authorization": f"Bearer {gateway.key}", "X-Features": json.dumps({"agent_arch": "dual-llm"}),
                        "X-Policy": json.dumps(policy),
                        "X-Config": json.dumps({"fsm": {"max_n_turns": turns}})}
        self.tools, self.messages = tools, []

    def turn(self, text: str, results: dict[str, str]) -> dict:
        self.messages.append({"role": "user", "content": text})
        while True:
            r = httpx.post(f"{self.gateway.control}/chat/openai/v1/chat/completions", headers=self.headers, timeout=30,
                           json={"model": MODEL, "messages": self.messages, "tools": self.tools})
            assert r.status_code == 200, r.text
            self.headers["X-Session-ID"] = r.headers["x-session-id"]
            message = r.json()["choices"][0]["message"]
            self.messages.append({"role": "assistant", "content": message["content"], "tool_calls": message.get("tool_calls")})
            if not message.get("tool_calls"):
                return json.loads(message["content"])
            for call in message["tool_calls"]:
                self.messages.append({"role": "tool", "tool_call_id": call["id"], "content": results[call["function"]["name"]]})


def test_branching_on_tool_data_is_a_control_flow_violation(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text(
        "```python\nx = read_inbox()\nif x == 'urgent':\n    final_return_value = 1\nelse:\n    final_return_value = 2\n```"))
    policy = {"mode": "custom", "presets": {"branching_meta_policy": {"mode": "deny", "tags": ["__non_executable"]}}}
    content = Conversation(gateway, tools=[tool("read_inbox")], policy=policy).turn("check", {"read_inbox": "urgent"})
    assert content["status"] == "failure" and content["error"]["code"] == "control_flow_violation"
    assert "Control flow violation" in content["error"]["message"]


def test_branching_allowed_in_standard_mode(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text(
        "```python\nx = read_inbox()\nif x == 'urgent':\n    final_return_value = 1\nelse:\n    final_return_value = 2\n```"))
    content = Conversation(gateway, tools=[tool("read_inbox")], policy={}).turn("check", {"read_inbox": "urgent"})
    assert content["final_return_value"]["value"] == 1


REFUNDS = """
tool "issue_refund" {
    session before {
        when "r3" in @tags { @tags |= {"r4"}; }
        when "r2" in @tags { @tags |= {"r3"}; }
        when "r1" in @tags { @tags |= {"r2"}; }
        @tags |= {"r1"};
    }
    /// At most three refunds per session
    hard deny when "r4" in @session.tags;
}
"""


def test_refund_counter_in_session_metadata_across_turns(gateway, fake_upstream: FakeUpstream) -> None:
    program = Reply.text("```python\nissue_refund(order='A1')\nfinal_return_value = 'refunded'\n```")
    fake_upstream.script("planner-model", program, program, program, program)
    chat = Conversation(gateway, tools=[tool("issue_refund", "order")], policy={"codes": REFUNDS})
    outcomes = [chat.turn(f"refund {i}", {"issue_refund": "ok"}) for i in range(4)]
    assert [o["status"] for o in outcomes] == ["success", "success", "success", "failure"]
    assert outcomes[3]["error"]["message"].startswith("Tool call to 'issue_refund' is denied by argument")


PROVENANCE = 'tool "publish" { hard allow when @args.producers superset of {"finance_db"}; }'
WRAPPED = json.dumps({"value": "Q3 revenue 10M", "meta": {"producers": ["finance_db"], "consumers": ["*"], "tags": []},
                      "is_sequrity_var": True})


@pytest.mark.parametrize(("program", "status"), [
    ("publish(body=fetch_report())", "success"),
    ("publish(body='typed by the planner')", "failure"),
])
def test_provenance_with_args_producers(gateway, fake_upstream: FakeUpstream, program: str, status: str) -> None:
    fake_upstream.script("planner-model", Reply.text(f"```python\n{program}\nfinal_return_value = 'ok'\n```"))
    chat = Conversation(gateway, tools=[tool("fetch_report"), tool("publish", "body")], policy={"codes": PROVENANCE})
    content = chat.turn("publish the report", {"fetch_report": WRAPPED, "publish": "done"})
    assert content["status"] == status


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("resource", ["chat", "messages", "responses"])
def test_official_client_dual_llm(gateway, fake_upstream: FakeUpstream, resource: str, stream: bool) -> None:
    fake_upstream.script("planner-model", Reply.text("```python\nfinal_return_value = 90 + 7\n```"))
    provider = "anthropic" if resource == "messages" else "openai"
    control = ControlConfig(provider=provider, features=FeaturesHeader.dual_llm(),
                            security_policy=SecurityPolicyHeader.dual_llm(),
                            fine_grained_config=FineGrainedConfigHeader.dual_llm(max_n_turns=1))
    with SequrityClient(api_key=gateway.key, base_url=gateway.url, control=control) as client:
        user = [{"role": "user", "content": "What is 90+7?"}]
        if resource == "chat":
            result = client.control.chat.create(messages=user, model=MODEL, stream=stream)
        elif resource == "messages":
            result = client.control.messages.create(messages=user, model=MODEL, max_tokens=100, stream=stream)
        else:
            result = client.control.responses.create(input="What is 90+7?", model=MODEL, stream=stream)
        text = json.dumps([e.model_dump() for e in result]) if stream else result.model_dump_json()
    assert "97" in text


def post(gateway, messages, tools, **fsm) -> dict:
    headers = {"Authorization": f"Bearer {gateway.key}", "X-Features": json.dumps({"agent_arch": "dual-llm"}),
               "X-Config": json.dumps({"fsm": {"max_n_turns": 5, **fsm}})}
    r = httpx.post(f"{gateway.control}/chat/openai/v1/chat/completions", headers=headers, timeout=30,
                   json={"model": MODEL, "messages": messages, "tools": tools})
    assert r.status_code == 200, r.text
    return r.json()


def test_max_tool_calls_per_step(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text("```python\nfor i in range(3):\n    ping()\n```"))
    chat = Conversation(gateway, tools=[tool("ping")], policy={})
    chat.headers["X-Config"] = json.dumps({"fsm": {"max_tool_calls_per_step": 2}})
    content = chat.turn("ping thrice", {"ping": "pong"})
    assert content["error"]["code"] == "max_steps_exceeded" and "max_tool_calls_per_step" in content["error"]["message"]


def test_max_pllm_steps(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", *[Reply.text("```python\nx = 1 / 0\n```")] * 3)
    body = post(gateway, [{"role": "user", "content": "x"}], [], max_pllm_steps=2, max_pllm_failed_steps=5)
    content = json.loads(body["choices"][0]["message"]["content"])
    assert content["error"]["code"] == "max_steps_exceeded" and "max_pllm_steps" in content["error"]["message"]


def test_clear_history_every_n_attempts(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text("```python\nfirst_bug = 1 / 0\n```"),
                         Reply.text("```python\nsecond_bug = 1 / 0\n```"),
                         Reply.text("```python\nfinal_return_value = 'ok'\n```"))
    post(gateway, [{"role": "user", "content": "x"}], [], clear_history_every_n_attempts=2)
    third = json.dumps(fake_upstream.requests[2].json)
    assert "first_bug" not in third and "second_bug" not in third


def test_verify_hypothesis_answers_from_the_quarantined_llm(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text(
        "```python\nmail = read_inbox()\nok = verify_hypothesis(hypothesis='the mail is a refund request', evidence=mail)\n"
        "final_return_value = ok\n```"))
    fake_upstream.script("quarantine-model", Reply.text(json.dumps({"answer": True})))
    chat = Conversation(gateway, tools=[tool("read_inbox")], policy={})
    chat.headers["X-Config"] = json.dumps({"fsm": {"enabled_internal_tools": ["parse_with_ai", "verify_hypothesis"]}})
    content = chat.turn("is it a refund?", {"read_inbox": "Please refund order 7"})
    assert content["final_return_value"]["value"] is True
    assert "__non_executable" in content["final_return_value"]["meta"]["tags"]  # it carries the evidence's metadata


def test_clear_session_meta_every_turn(gateway, fake_upstream: FakeUpstream) -> None:
    program = Reply.text("```python\nissue_refund(order='A1')\nfinal_return_value = 'refunded'\n```")
    fake_upstream.script("planner-model", *[program] * 4)
    chat = Conversation(gateway, tools=[tool("issue_refund", "order")], policy={"codes": REFUNDS})
    chat.headers["X-Config"] = json.dumps({"fsm": {"max_n_turns": 5, "clear_session_meta": "every_turn"}})
    outcomes = [chat.turn(f"refund {i}", {"issue_refund": "ok"}) for i in range(4)]
    assert [o["status"] for o in outcomes] == ["success"] * 4  # the counter restarts every turn


def test_tool_filter_llm_shortens_the_planner_prompt(gateway, fake_upstream: FakeUpstream) -> None:
    tools = [tool(f"tool_{i}") for i in range(12)]
    fake_upstream.script("planner-model", Reply.text('["tool_3"]'), Reply.text("```python\nfinal_return_value = 1\n```"))
    post(gateway, [{"role": "user", "content": "use tool 3"}], tools, min_num_tools_for_filtering=10)
    planner = json.dumps(fake_upstream.requests[1].json)
    assert "def tool_3(" in planner and "def tool_4(" not in planner
    assert "tool_11" in json.dumps(fake_upstream.requests[0].json)  # the filter saw them all


def test_no_tool_filter_below_the_threshold(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text("```python\nfinal_return_value = 1\n```"))
    post(gateway, [{"role": "user", "content": "x"}], [tool("a"), tool("b")], min_num_tools_for_filtering=10)
    assert len(fake_upstream.requests) == 1


def test_per_role_sampling_parameters(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("planner-model", Reply.text("```python\nfinal_return_value = 1\n```"))
    headers = {"Authorization": f"Bearer {gateway.key}", "X-Features": json.dumps({"agent_arch": "dual-llm"}),
               "X-Config": json.dumps({"llm": {"pllm": {"temperature": 0.1, "seed": 7, "max_completion_tokens": 900}}})}
    httpx.post(f"{gateway.control}/chat/openai/v1/chat/completions", headers=headers, timeout=30,
               json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    sent = fake_upstream.requests[0].json
    assert (sent["temperature"], sent["seed"], sent["max_completion_tokens"]) == (0.1, 7, 900)
    headers["X-Config"] = json.dumps({"llm": {"rllm": {"temperature": 0.5}}})
    r = httpx.post(f"{gateway.control}/chat/openai/v1/chat/completions", headers=headers, timeout=30,
                   json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400 and "llm.rllm" in r.json()["detail"]


@pytest.mark.parametrize(("program", "tags"), [
    # From the request's own text: the answer is as clean as its inputs (no preset tag)...
    ("x = parse_with_ai(query='The city in: Paris, France', output_schema=str)", []),
    # ...from tool output it inherits the output's tags through the join...
    ("x = parse_with_ai(query=f'The city in: {read_inbox()}', output_schema=str)", ["__non_executable"]),
])
def test_quarantined_answers_carry_their_inputs_metadata(gateway, fake_upstream: FakeUpstream, program: str,
                                                         tags: list[str]) -> None:
    fake_upstream.script("planner-model", Reply.text(f"```python\n{program}\nfinal_return_value = x\n```"))
    fake_upstream.script("quarantine-model", Reply.text(json.dumps({"answer": "Paris"})))
    chat = Conversation(gateway, tools=[tool("read_inbox")], policy={})
    content = chat.turn("which city?", {"read_inbox": "Paris, France"})
    assert content["final_return_value"]["value"] == "Paris"
    assert content["final_return_value"]["meta"]["tags"] == tags


def test_quarantined_answers_still_run_the_policys_result_updates(gateway, fake_upstream: FakeUpstream) -> None:
    """...and the policy's `result` updates for parse_with_ai still apply."""
    fake_upstream.script("planner-model", Reply.text(
        "```python\nfinal_return_value = parse_with_ai(query='The city in: Paris, France', output_schema=str)\n```"))
    fake_upstream.script("quarantine-model", Reply.text(json.dumps({"answer": "Paris"})))
    chat = Conversation(gateway, tools=[tool("read_inbox")],
                        policy={"codes": 'tool "parse_with_ai" -> @tags |= {"from_qllm"};'})
    assert chat.turn("which city?", {})["final_return_value"]["meta"]["tags"] == ["from_qllm"]
