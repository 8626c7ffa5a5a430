"""Per-node overhead of compiled mode (co-located server) against native LangGraph: a 10-node graph.

Run: `.venv/bin/python bench/langgraph.py`. Nodes are instant; each node in compiled mode is one
HTTP round trip to the in-process server, which replays the program (dual-llm spec 7) and checks
the policy. Target: < 3 ms per node. Prints both figures and the ratio.
"""

from __future__ import annotations

import os
import sys

# This file is named like the package it measures: drop its own folder from the import path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import operator  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Annotated, Any, TypedDict  # noqa: E402

from langgraph.graph import END, START, StateGraph  # noqa: E402

from sequrity_langgraph import LangGraphExecutor  # noqa: E402
from sequrity_langgraph.local import stop_shared_servers  # noqa: E402

NODES = 10
RUNS = 20
TARGET_MS_PER_NODE = 3.0


class State(TypedDict, total=False):
    count: int
    log: Annotated[list, operator.add]


def make_node(i: int) -> Any:
    def node(state: State) -> dict[str, Any]:
        return {"count": state.get("count", 0) + 1, "log": [i]}

    node.__name__ = f"node{i}"
    return node


def graph() -> StateGraph:
    g = StateGraph(State)
    names = [f"node{i}" for i in range(NODES)]
    for i, name in enumerate(names):
        g.add_node(name, make_node(i))
    g.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


def timed(fn: Any, runs: int) -> float:
    fn()  # warm-up (server start, first compile)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    g = graph()
    native = g.compile()
    executor = LangGraphExecutor(g, local_settings={"openai_api_key": "unused", "model_allowlist": ""})
    assert executor.run({}) == native.invoke({})
    t_native = timed(lambda: native.invoke({}), RUNS)
    t_ours = timed(lambda: executor.run({}), RUNS)
    per_node_native = t_native / NODES * 1000
    per_node_ours = t_ours / NODES * 1000
    overhead = per_node_ours - per_node_native
    print(f"graph: {NODES} nodes, median of {RUNS} runs")
    print(f"native LangGraph : {t_native * 1000:8.2f} ms/run  {per_node_native:6.3f} ms/node")
    print(f"compiled (local) : {t_ours * 1000:8.2f} ms/run  {per_node_ours:6.3f} ms/node")
    print(f"overhead per node: {overhead:6.3f} ms (target < {TARGET_MS_PER_NODE} ms)  ratio {t_ours / t_native:.1f}x")
    print("PASS" if overhead < TARGET_MS_PER_NODE else "MISS")
    executor.close()
    stop_shared_servers()


if __name__ == "__main__":
    main()
