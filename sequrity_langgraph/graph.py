"""The frozen description of a LangGraph graph that the compiler and executor work from, and its validation.

Only `builder.py` reads LangGraph's builder; everything else sees these dataclasses. Node and
routing functions are kept as references (they run on the client); everything else is data.

Exception tree (one per package, drawn here and in `errors.py`'s re-export)::

    SequrityLangGraphError
    ├── GraphError            the graph cannot be compiled (says what to add or rename)
    ├── UnsupportedGraph      a LangGraph feature compiled mode does not support (says the alternative)
    └── RunError              a run failed on the server (`code`, `message`)
        └── PolicyDenied      a policy denied a node or tool call (the server's message)
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "START",
    "END",
    "SequrityLangGraphError",
    "GraphError",
    "UnsupportedGraph",
    "RunError",
    "PolicyDenied",
    "Node",
    "Branch",
    "Join",
    "Channel",
    "GraphSpec",
    "validate",
    "RESERVED_NAMES",
]

START = "__start__"
END = "__end__"

# Names the generated program uses itself, internal tools and builtins of the interpreter subset:
# a node or routing function with one of these names would shadow them inside the program.
RESERVED_NAMES = frozenset(
    {
        "state", "base", "active", "nxt", "node", "step", "solo", "key", "keys", "k", "initial_state",
        "final_return_value", "update", "target", "parse_with_ai", "verify_hypothesis", "set_policy",
        "complete_turn", "len", "str", "int", "float", "bool", "list", "dict", "set", "tuple", "range",
        "enumerate", "zip", "sorted", "reversed", "min", "max", "sum", "abs", "round", "any", "all",
        "isinstance", "print", "repr", "json", "re", "math", "datetime", "string",
    }
)


class SequrityLangGraphError(Exception):
    """Base of every error this package raises."""


class GraphError(SequrityLangGraphError, ValueError):
    """The graph is not valid for compiled mode; the message says what to add or change."""


class UnsupportedGraph(SequrityLangGraphError, ValueError):
    """The graph uses a LangGraph feature compiled mode cannot express; the message names an alternative."""


class RunError(SequrityLangGraphError, RuntimeError):
    """The server ended the run with a failure (`code` as in control-api 7.3, `message` verbatim)."""

    def __init__(self, message: str, *, code: str = "execution_error", session_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.session_id = session_id


class PolicyDenied(RunError):
    """A security policy denied a call: `message` is the server's, e.g.
    `Tool call to 'send_email' is denied by argument checking policies.`"""


@dataclass(frozen=True)
class Node:
    """A graph node: its name (also its tool name on the server) and the local function."""

    name: str
    func: Callable[..., Any]
    description: str = ""
    accepts_config: bool = False  # `def node(state, config)`: gets the run's config
    is_async: bool = False  # `async def node(state)`: run to completion on a private loop


@dataclass(frozen=True)
class Branch:
    """Conditional edges out of `source`: `router` is the routing function (a client tool named `name`);
    `ends` is the path map (router value → node), None when the router returns node names."""

    source: str
    name: str
    router: Callable[..., Any]
    ends: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Join:
    """A waiting edge: `target` runs once every node in `sources` has finished since it last ran."""

    sources: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class Channel:
    """A state key: `reducer(old, new)` (None = last value wins) and the value before any write."""

    key: str
    reducer: Callable[[Any, Any], Any] | None = None
    initial: Callable[[], Any] | None = None


@dataclass(frozen=True)
class GraphSpec:
    """Everything compiled mode needs from a graph. Build it with `builder.describe(graph)`."""

    name: str
    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...] = ()
    branches: tuple[Branch, ...] = ()
    joins: tuple[Join, ...] = ()
    channels: tuple[Channel, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def successors(self, source: str) -> tuple[str, ...]:
        """Static successors of `source` (plain edges), sorted."""
        return tuple(sorted(dst for src, dst in self.edges if src == source))

    def branches_of(self, source: str) -> tuple[Branch, ...]:
        return tuple(b for b in self.branches if b.source == source)

    def routers(self) -> dict[str, Callable[..., Any]]:
        """Routing functions by tool name (one function may serve several sources)."""
        return {b.name: b.router for b in self.branches}


def _check_name(name: str, what: str) -> str | None:
    fix = "".join(c if c.isalnum() else "_" for c in name).lstrip("_") or "node"
    if not name.isidentifier() or keyword.iskeyword(name):
        return f"{what} {name!r} is not a Python identifier, so it cannot be a tool name in the program; rename it (e.g. {fix!r})"
    if name.startswith("_"):
        return f"{what} {name!r} starts with '_', which the interpreter rejects; rename it (e.g. {fix!r})"
    if name in RESERVED_NAMES:
        return f"{what} {name!r} shadows a name the program uses; rename it (e.g. {name + '_node'!r})"
    return None


def validate(spec: GraphSpec) -> GraphSpec:
    """Raise `GraphError` listing every problem (each says what to add or rename); return `spec`.

    >>> validate(GraphSpec(name="g", nodes=()))
    Traceback (most recent call last):
    ...
    sequrity_langgraph.graph.GraphError: graph 'g': add at least one node with graph.add_node(name, fn); add at least one edge from START, e.g. graph.add_edge(START, 'first_node')
    """
    problems: list[str] = []
    names = set(spec.node_names)
    if not names:
        problems.append("add at least one node with graph.add_node(name, fn)")
    for n in spec.nodes:
        if (p := _check_name(n.name, "node")) is not None:
            problems.append(p)
    routers: dict[str, Callable[..., Any]] = {}
    for b in spec.branches:
        if (p := _check_name(b.name, "routing function")) is not None:
            problems.append(p)
        elif b.name in names:
            problems.append(f"routing function {b.name!r} has the name of a node; rename the function")
        elif routers.setdefault(b.name, b.router) is not b.router:
            problems.append(f"two different routing functions are named {b.name!r}; rename one of them")
    if not any(src == START for src, _ in spec.edges) and not any(b.source == START for b in spec.branches):
        problems.append("add at least one edge from START, e.g. graph.add_edge(START, 'first_node')")
    known = names | {END}
    for src, dst in spec.edges:
        if src not in names | {START}:
            problems.append(f"edge {src!r} -> {dst!r} starts at an unknown node; add graph.add_node({src!r}, fn)")
        if dst not in known:
            problems.append(f"edge {src!r} -> {dst!r} leads to an unknown node; add graph.add_node({dst!r}, fn) or fix the edge")
    for b in spec.branches:
        for key, dst in (b.ends or {}).items():
            if dst not in known:
                problems.append(
                    f"conditional edge from {b.source!r} maps {key!r} to unknown node {dst!r}; add graph.add_node({dst!r}, fn)"
                )
    for j in spec.joins:
        for src in (*j.sources, j.target):
            if src not in known:
                problems.append(f"waiting edge {list(j.sources)} -> {j.target!r} names unknown node {src!r}; add graph.add_node({src!r}, fn)")
    if problems:
        raise GraphError(f"graph {spec.name!r}: " + "; ".join(problems))
    return spec
