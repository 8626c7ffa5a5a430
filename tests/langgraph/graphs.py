"""Graphs shared by the sequrity_langgraph tests: linear, branching, cyclic, fan-in, reducers."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    count: int
    text: str
    route: str
    log: Annotated[list, operator.add]
    total: Annotated[int, operator.add]


def step(name: str, **extra: Any) -> Callable[[State], dict[str, Any]]:
    def node(state: State) -> dict[str, Any]:
        return {"log": [name], **extra}

    node.__name__ = name
    return node


def increment(state: State) -> dict[str, Any]:
    """Count one more round."""
    return {"count": state.get("count", 0) + 1, "log": ["increment"], "total": 2}


def classify(state: State) -> dict[str, Any]:
    return {"route": "long" if len(state.get("text", "")) > 5 else "short", "log": ["classify"]}


def by_length(state: State) -> str:
    return state["route"]


def again(state: State) -> str:
    return "more" if state.get("count", 0) < 3 else "done"


def linear() -> StateGraph:
    g = StateGraph(State)
    g.add_node("first", step("first", text="hello"))
    g.add_node("second", step("second"))
    g.add_node("third", step("third"))
    g.add_edge(START, "first")
    g.add_edge("first", "second")
    g.add_edge("second", "third")
    g.add_edge("third", END)
    return g


def branching() -> StateGraph:
    g = StateGraph(State)
    g.add_node("classify", classify)
    g.add_node("summarize", step("summarize"))
    g.add_node("echo", step("echo"))
    g.add_edge(START, "classify")
    g.add_conditional_edges("classify", by_length, {"long": "summarize", "short": "echo"})
    g.add_edge("summarize", END)
    g.add_edge("echo", END)
    return g


def cyclic() -> StateGraph:
    g = StateGraph(State)
    g.add_node("increment", increment)
    g.add_node("report", step("report"))
    g.add_edge(START, "increment")
    g.add_conditional_edges("increment", again, {"more": "increment", "done": "report"})
    g.add_edge("report", END)
    return g


def fan_in() -> StateGraph:
    g = StateGraph(State)
    g.add_node("split", step("split", total=1))
    g.add_node("left", step("left", total=10))
    g.add_node("right", step("right", total=100))
    g.add_node("slow", step("slow"))
    g.add_node("merge", step("merge"))
    g.add_edge(START, "split")
    g.add_edge("split", "left")
    g.add_edge("split", "right")
    g.add_edge("right", "slow")
    g.add_edge(["left", "slow"], "merge")
    g.add_edge("merge", END)
    return g


def reducers() -> StateGraph:
    g = StateGraph(State)
    g.add_node("a", step("a", total=1, text="a"))
    g.add_node("b", step("b", total=2))
    g.add_node("c", step("c", total=3))
    g.add_edge(START, "a")
    g.add_edge(START, "b")
    g.add_edge("a", "c")
    g.add_edge("b", "c")
    g.add_edge("c", END)
    return g


GRAPHS: dict[str, Callable[[], StateGraph]] = {
    "linear": linear,
    "branching": branching,
    "cyclic": cyclic,
    "fan_in": fan_in,
    "reducers": reducers,
}
INPUTS: dict[str, list[dict[str, Any]]] = {
    "linear": [{}, {"log": ["start"]}],
    "branching": [{"text": "hi"}, {"text": "a long text"}],
    "cyclic": [{}, {"count": 2, "total": 5}],
    "fan_in": [{}],
    "reducers": [{"log": ["x"], "total": 7}],
}
