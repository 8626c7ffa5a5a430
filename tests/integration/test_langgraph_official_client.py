"""The official client's LangGraph runner against our lang-graph routes: no planner, nodes as client tools.

`node_functions` is passed explicitly: the client 0.4.2 finds node functions through an attribute
that LangGraph 1.x no longer has, and would send no tools at all.
"""

from __future__ import annotations

from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from sequrity import SequrityClient
from sequrity.control import ControlConfig, FeaturesHeader, FineGrainedConfigHeader, SecurityPolicyHeader

from server.fake_upstream import FakeUpstream


class State(TypedDict, total=False):
    query: str
    route: str
    rows: list
    answer: str
    sent: bool


def read_file(state: State) -> dict:
    return {"query": "SELECT 1"}


def send_email(state: State) -> dict:
    return {"sent": True}


def router(state: State) -> str:
    return "execute_query" if state.get("query") else "answer"


def execute_query(state: State) -> dict:
    return {"rows": [[1]]}


def answer(state: State) -> dict:
    return {"answer": f"rows={state.get('rows')}"}


def client(gateway, provider: str, policy: str = "") -> SequrityClient:
    return SequrityClient(
        api_key=gateway.key,
        base_url=gateway.url,
        control=ControlConfig(
            provider=provider,
            features=FeaturesHeader.dual_llm(),
            security_policy=SecurityPolicyHeader.dual_llm(codes=policy),
            fine_grained_config=FineGrainedConfigHeader.dual_llm(max_n_turns=1, disable_rllm=True),
        ),
    )


@pytest.mark.parametrize("provider", ["openai", "openrouter", "anthropic", "sequrity_azure"])
def test_minimal_graph(gateway, fake_upstream: FakeUpstream, provider: str) -> None:
    graph = StateGraph(State)
    graph.add_node("read_file", read_file)
    graph.add_node("send_email", send_email)
    graph.add_edge(START, "read_file")
    graph.add_edge("read_file", "send_email")
    graph.add_edge("send_email", END)
    with client(gateway, provider) as c:
        final = c.control.langgraph.run(
            graph=graph, initial_state={"query": ""}, model="no-llm-needed",
            node_functions={"read_file": read_file, "send_email": send_email},
        )
    assert final["sent"] is True and final["query"] == "SELECT 1"
    assert fake_upstream.requests == [], "a lang-graph run calls no LLM"


def test_conditional_routing_on_a_bare_string_result(gateway, fake_upstream: FakeUpstream) -> None:
    graph = StateGraph(State)
    graph.add_node("read_file", read_file)
    graph.add_node("execute_query", execute_query)
    graph.add_node("answer", answer)
    graph.add_edge(START, "read_file")
    graph.add_conditional_edges("read_file", router, {"execute_query": "execute_query", "answer": "answer"})
    graph.add_edge("execute_query", "answer")
    graph.add_edge("answer", END)
    with client(gateway, "openai") as c:
        final = c.control.langgraph.run(
            graph=graph, initial_state={}, model="no-llm-needed", max_exec_steps=30,
            node_functions={"read_file": read_file, "execute_query": execute_query, "answer": answer, "router": router},
        )
    assert final["answer"] == "rows=[[1]]"


def test_policy_denies_a_node(gateway, fake_upstream: FakeUpstream) -> None:
    graph = StateGraph(State)
    graph.add_node("read_file", read_file)
    graph.add_node("send_email", send_email)
    graph.add_edge(START, "read_file")
    graph.add_edge("read_file", "send_email")
    graph.add_edge("send_email", END)
    with client(gateway, "openai", policy='tool "send_email" { hard deny always; }') as c:
        final = c.control.langgraph.run(
            graph=graph, initial_state={}, model="no-llm-needed",
            node_functions={"read_file": read_file, "send_email": send_email},
        )
    assert "sent" not in final, "the denied node never ran"
