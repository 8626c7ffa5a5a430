"""State merging through the server equals what LangGraph computes for the same graph and input."""

from __future__ import annotations

import asyncio
import operator
from typing import Any

import pytest

from sequrity_langgraph import LangGraphExecutor
from sequrity_langgraph.graph import Channel
from sequrity_langgraph.reducers import apply_update, initial_state
from tests.langgraph.graphs import GRAPHS, INPUTS

CASES = [(name, i) for name in sorted(GRAPHS) for i in range(len(INPUTS[name]))]


@pytest.mark.parametrize(("name", "index"), CASES)
def test_final_state_matches_langgraph(name: str, index: int, local_settings: dict[str, Any]) -> None:
    graph, start = GRAPHS[name](), INPUTS[name][index]
    native = graph.compile().invoke(dict(start))
    with LangGraphExecutor(graph, local_settings=local_settings) as executor:
        ours = executor.run(dict(start))
    assert ours == native


def test_reducers_start_from_the_channel_initial_value() -> None:
    channels = [Channel("log", operator.add, list), Channel("n", operator.add, int), Channel("last")]
    assert initial_state(channels, {"last": 1}) == {"log": [], "n": 0, "last": 1}
    assert apply_update(channels, {"log": ["a"]}, {"log": ["b"], "unknown": 1}) == {"log": ["a", "b"]}


def test_async_nodes_and_nodes_taking_config(local_settings: dict[str, Any]) -> None:
    from langchain_core.runnables import RunnableConfig
    from langgraph.graph import END, START, StateGraph

    from tests.langgraph.graphs import State

    async def fetch(state: State) -> dict[str, Any]:
        return {"log": ["fetched"]}

    def tagged(state: State, config: RunnableConfig) -> dict[str, Any]:
        return {"text": config["configurable"].get("user", "nobody")}

    g = StateGraph(State)
    g.add_node("fetch", fetch)
    g.add_node("tagged", tagged)
    g.add_edge(START, "fetch")
    g.add_edge("fetch", "tagged")
    g.add_edge("tagged", END)
    config = {"configurable": {"user": "ann"}}
    native = asyncio.run(g.compile().ainvoke({}, config))  # LangGraph itself needs ainvoke for async nodes
    with LangGraphExecutor(g, local_settings=local_settings) as executor:
        assert executor.run({}, config=config) == native == {"log": ["fetched"], "total": 0, "text": "ann"}
