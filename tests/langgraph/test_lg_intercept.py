"""Intercepted mode: the prebuilt ReAct agent, two changed lines, model and tools checked by the server."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from sequrity_langgraph import PolicyDenied, SequrityChatModel, secure_model, secure_tools
from server.fake_upstream import FakeUpstream, Reply, ToolCall

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

POLICY = 'tool "send_email" { hard deny when to.value in {str matching r".*@evil\\.com"}; }'
SENT: list[str] = []


@tool
def send_email(to: str, body: str) -> str:
    """Send an email."""
    SENT.append(to)
    return f"sent to {to}"


def run_agent(local_settings: dict[str, Any], fake: FakeUpstream, to: str) -> tuple[dict[str, Any], SequrityChatModel]:
    fake.script("react-model", Reply.tool_calls(ToolCall("send_email", {"to": to, "body": "hi"})), Reply.text("done"))
    model = ChatOpenAI(model="react-model", api_key="sk-user", temperature=0)
    model = secure_model(model, policy=POLICY, local_settings=local_settings)  # changed line 1
    agent = create_react_agent(model, secure_tools([send_email], model))  # changed line 2
    return agent.invoke({"messages": [("user", f"mail {to}")]}), model


def test_allowed_tool_call_runs(local_settings: dict[str, Any], fake_upstream: FakeUpstream) -> None:
    SENT.clear()
    result, model = run_agent(local_settings, fake_upstream, "boss@corp.com")
    assert SENT == ["boss@corp.com"] and result["messages"][-1].content == "done"
    assert model.session_id and len(model.approved_tool_calls) == 1
    assert fake_upstream.requests[0].headers.get("authorization") == "Bearer sk-user", "the user's key is BYOK"
    assert len({r.json["model"] for r in fake_upstream.requests}) == 1


def test_denied_tool_call_never_runs(local_settings: dict[str, Any], fake_upstream: FakeUpstream) -> None:
    SENT.clear()
    result, model = run_agent(local_settings, fake_upstream, "attacker@evil.com")
    assert SENT == []
    assert "Tool call to 'send_email' is denied by argument checking policies." in result["messages"][-1].content
    assert model.denials and model.denials[0].startswith("Tool call to 'send_email' is denied")


def test_a_tool_call_the_server_never_returned_is_refused(local_settings: dict[str, Any]) -> None:
    model = SequrityChatModel(model="react-model", local_settings=local_settings)
    [secured] = secure_tools([send_email], model)
    with pytest.raises(PolicyDenied, match="not approved"):
        secured.invoke({"type": "tool_call", "id": "forged", "name": "send_email", "args": {"to": "a@b.c", "body": ""}})


def test_chat_model_raises_on_denial_when_asked(local_settings: dict[str, Any], fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("react-model", Reply.tool_calls(ToolCall("send_email", {"to": "x@evil.com", "body": "b"})))
    model = SequrityChatModel(model="react-model", policy=POLICY, local_settings=local_settings, on_denial="raise")
    with pytest.raises(PolicyDenied, match="denied by argument checking policies"):
        model.bind_tools([send_email]).invoke("mail x@evil.com")


def test_hand_built_graph_with_a_tool_node(local_settings: dict[str, Any], fake_upstream: FakeUpstream) -> None:
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    SENT.clear()
    fake_upstream.script("react-model", Reply.tool_calls(ToolCall("send_email", {"to": "a@corp.com", "body": "x"})), Reply.text("ok"))
    model = secure_model("react-model", policy=POLICY, local_settings=local_settings)  # changed line 1
    tools = secure_tools([send_email], model)  # changed line 2
    bound = model.bind_tools(tools)
    g = StateGraph(MessagesState)
    g.add_node("agent", lambda state: {"messages": [bound.invoke(state["messages"])]})
    g.add_node("tools", ToolNode(tools))
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", tools_condition)
    g.add_edge("tools", "agent")
    result = g.compile().invoke({"messages": [("user", "mail a@corp.com")]})
    assert SENT == ["a@corp.com"] and result["messages"][-1].content == "ok"
    assert END == "__end__"


def test_react_agent_on_claude_through_the_messages_route(local_settings: dict[str, Any], fake_upstream: FakeUpstream) -> None:
    from langchain_anthropic import ChatAnthropic

    SENT.clear()
    fake_upstream.script("claude-test", Reply.tool_calls(ToolCall("send_email", {"to": "x@evil.com", "body": "b"})))
    model = secure_model(ChatAnthropic(model="claude-test", api_key="sk-ant-user"), policy=POLICY, local_settings=local_settings)
    agent = create_react_agent(model, secure_tools([send_email], model))
    last = agent.invoke({"messages": [("user", "mail x@evil.com")]})["messages"][-1]
    assert SENT == [] and "Tool call to 'send_email' is denied by argument checking policies." in last.text
    assert model.session_id and fake_upstream.requests[0].path.endswith("/v1/messages")
    fake_upstream.script("claude-test", Reply.tool_calls(ToolCall("send_email", {"to": "a@corp.com", "body": "b"})), Reply.text("ok"))
    model.reset_session()
    agent.invoke({"messages": [("user", "mail a@corp.com")]})
    assert SENT == ["a@corp.com"]
