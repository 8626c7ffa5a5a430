"""Graph → program snapshots, the subset check, and validation messages that say what to add."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from sequrity_langgraph.builder import check_version, describe
from sequrity_langgraph.compiler import compile_graph
from sequrity_langgraph.graph import GraphError, UnsupportedGraph
from server.agents.dual_llm.interpreter import check_program
from tests.langgraph.graphs import GRAPHS, State, step

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_program_snapshot(name: str) -> None:
    source = compile_graph(describe(GRAPHS[name]())).source
    path = SNAPSHOTS / f"{name}.py.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
    assert source == path.read_text()
    assert check_program(source) == [], "the program stays inside the interpreter subset"


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_compiling_is_deterministic(name: str) -> None:
    assert compile_graph(describe(GRAPHS[name]())).source == compile_graph(describe(GRAPHS[name]())).source


def test_internal_node_mapping_calls_parse_with_ai() -> None:
    program = compile_graph(describe(GRAPHS["linear"]()), internal_node_mapping={"second": "parse_with_ai"})
    assert "update = parse_with_ai(query=" in program.source and program.node_tools == ("first", "third")
    assert check_program(program.source) == []


def test_tools_split_nodes_and_routers() -> None:
    program = compile_graph(describe(GRAPHS["branching"]()))
    assert program.node_tools == ("classify", "summarize", "echo") and program.router_tools == ("by_length",)


def graph_with(*edges: tuple[str, str], nodes: tuple[str, ...] = ("a",)) -> StateGraph:
    g = StateGraph(State)
    for n in nodes:
        g.add_node(n, step(n))
    for src, dst in edges:
        g.add_edge(src, dst)
    return g


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        (lambda: graph_with(("a", END)), "add at least one edge from START, e.g. graph.add_edge(START, 'first_node')"),
        (lambda: graph_with((START, "my-node"), nodes=("my-node",)), "rename it (e.g. 'my_node')"),
        (lambda: graph_with((START, "state"), nodes=("state",)), "shadows a name the program uses"),
    ],
)
def test_validation_says_what_to_add(graph, message: str) -> None:
    with pytest.raises(GraphError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        describe(graph())


def test_unknown_target_is_named() -> None:
    from sequrity_langgraph.graph import GraphSpec, Node, validate

    spec = GraphSpec(name="g", nodes=(Node("a", print),), edges=((START, "a"), ("a", "b")))
    with pytest.raises(GraphError, match=r"edge 'a' -> 'b' leads to an unknown node; add graph.add_node\('b', fn\)"):
        validate(spec)


def test_command_nodes_are_refused_with_the_alternative() -> None:
    def go(state: State) -> Command:
        return Command(goto="a")

    g = graph_with((START, "a"))
    g.add_node("jump", go, destinations=("a",))
    with pytest.raises(UnsupportedGraph, match="add_conditional_edges"):
        describe(g)


def test_dict_state_is_refused() -> None:
    g = StateGraph(dict)
    g.add_node("a", step("a"))
    g.add_edge(START, "a")
    with pytest.raises(UnsupportedGraph, match="TypedDict"):
        describe(g)


def test_version_pin() -> None:
    assert check_version("1.2.24") == "1.2.24"
    with pytest.raises(UnsupportedGraph, match=r"install langgraph>=1\.0,<1\.3"):
        check_version("2.0.0")


def test_recursion_limit_appears_in_the_loop() -> None:
    source = compile_graph(describe(GRAPHS["cyclic"]()), recursion_limit=7).source
    assert "for step in range(7):" in source and "Recursion limit of 7" in source


