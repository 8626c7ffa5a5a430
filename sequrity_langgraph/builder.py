"""The one module that reads LangGraph's `StateGraph` builder data (pinned to `SUPPORTED_LANGGRAPH`).

Read from the builder (public attributes of `StateGraph` in LangGraph 1.0–1.2): `nodes`
(`StateNodeSpec.runnable.func`), `edges`, `waiting_edges`, `branches` (`BranchSpec.path.func`,
`ends`), `channels` (`LastValue`, `BinaryOperatorAggregate.operator` and its initial `value`) and
`state_schema`. A compiled graph is read through its `.builder`. If LangGraph changes these, only
this module changes; the version check fails early with the range we read.
"""

from __future__ import annotations

import copy
import importlib.metadata
from collections.abc import Callable
from typing import Any

from sequrity_langgraph.graph import (
    END,
    START,
    Branch,
    Channel,
    GraphSpec,
    Join,
    Node,
    UnsupportedGraph,
    validate,
)

__all__ = ["SUPPORTED_LANGGRAPH", "describe", "check_version"]

SUPPORTED_LANGGRAPH = (1, 0), (1, 3)  # >=1.0,<1.3: the builder attributes below were read from these


def check_version(version: str | None = None) -> str:
    """Raise `UnsupportedGraph` unless the installed LangGraph is in `SUPPORTED_LANGGRAPH`."""
    found = version or importlib.metadata.version("langgraph")
    parts = tuple(int(p) for p in found.split(".")[:2] if p.isdigit())
    (lo, hi) = SUPPORTED_LANGGRAPH
    if not (lo <= parts < hi):
        raise UnsupportedGraph(
            f"langgraph {found} is not supported by sequrity_langgraph; install langgraph>={lo[0]}.{lo[1]},<{hi[0]}.{hi[1]}"
        )
    return found


def _func(runnable: Any) -> Callable[..., Any]:
    """The user's function behind a node or branch runnable (`RunnableCallable.func`)."""
    func = getattr(runnable, "func", None)
    if callable(func):
        return func  # type: ignore[no-any-return]
    if hasattr(runnable, "invoke"):
        return runnable.invoke  # type: ignore[no-any-return]
    if callable(runnable):
        return runnable  # type: ignore[no-any-return]
    raise UnsupportedGraph(f"cannot find the function of {runnable!r}; pass plain functions to add_node")


def _channel(key: str, chan: Any) -> Channel:
    kind = type(chan).__name__
    if kind in ("LastValue", "AnyValue", "UntrackedValue", "LastValueAfterFinish"):
        return Channel(key=key)
    if kind == "BinaryOperatorAggregate":
        initial = getattr(chan, "value", None)
        missing = type(initial).__name__ == "Missing" or initial is None
        factory = None if missing else (lambda v=initial: copy.deepcopy(v))
        return Channel(key=key, reducer=chan.operator, initial=factory)
    raise UnsupportedGraph(
        f"state key {key!r} uses a {kind} channel, which compiled mode does not support; "
        "use a plain key or Annotated[T, reducer], or run the graph in intercepted mode"
    )


def describe(graph: Any, *, name: str | None = None) -> GraphSpec:
    """The validated `GraphSpec` of a `StateGraph` (or a compiled graph, through `.builder`).

    >>> from langgraph.graph import StateGraph, START
    >>> g = StateGraph(dict); g.add_node("a", lambda s: {}); g.add_edge(START, "a")  # doctest: +ELLIPSIS
    <...>
    >>> describe(g).node_names
    ('a',)
    """
    check_version()
    builder = getattr(graph, "builder", graph)
    for attr in ("nodes", "edges", "branches", "channels"):
        if not hasattr(builder, attr):
            raise UnsupportedGraph(f"{type(graph).__name__} is not a LangGraph StateGraph (no .{attr})")
    nodes = []
    for node_name, spec in builder.nodes.items():
        if getattr(spec, "ends", None):
            raise UnsupportedGraph(
                f"node {node_name!r} returns Command(goto=...); compiled mode needs its routing as "
                "graph.add_conditional_edges(...), or run the graph in intercepted mode"
            )
        runnable = spec.runnable
        is_async = getattr(runnable, "func", None) is None and callable(getattr(runnable, "afunc", None))
        func = runnable.afunc if is_async else _func(runnable)
        accepts = getattr(runnable, "func_accepts", None) or {}
        nodes.append(
            Node(
                name=node_name, func=func, description=(func.__doc__ or "").strip(),
                accepts_config="config" in accepts, is_async=is_async,
            )
        )
    branches = []
    for source, by_name in builder.branches.items():
        for branch_name, bspec in by_name.items():
            ends = dict(bspec.ends) if bspec.ends else None
            branches.append(Branch(source=source, name=branch_name, router=_func(bspec.path), ends=ends))
    joins = tuple(Join(sources=tuple(srcs), target=dst) for srcs, dst in sorted(builder.waiting_edges))
    if "__root__" in builder.channels:
        raise UnsupportedGraph(
            "the state schema has no keys (StateGraph(dict)); compiled mode needs a TypedDict state, "
            "e.g. class State(TypedDict): ..."
        )
    channels = tuple(
        _channel(key, chan) for key, chan in builder.channels.items() if not key.startswith("branch:")
    )
    schema = getattr(builder, "state_schema", None)
    spec = GraphSpec(
        name=name or str(getattr(schema, "__name__", "graph")),
        nodes=tuple(nodes),
        edges=tuple(sorted(builder.edges)),
        branches=tuple(branches),
        joins=joins,
        channels=channels,
    )
    return validate(spec)


__all__ += ["START", "END"]
