"""Graph description → the deterministic program the server's lang-graph endpoint runs.

Decisions (see dual-llm spec 8 and control-api 4.5):

- The program simulates LangGraph's supersteps: `active` is the sorted list of nodes to run in the
  current step, inside a bounded `for step in range(recursion_limit)` loop, so cycles work and the
  limit matches LangGraph's `recursion_limit` (default 25). Nodes of one step run in name order,
  which is the order LangGraph applies their writes in.
- Each external node is a client tool called as `node(state=state)`; it returns the whole updated
  state, the client having applied the graph's reducers. When a step runs several nodes (fan-out),
  each gets the step's input as `state` and the state merged so far as `into`, so every node sees
  what LangGraph would show it and the merge equals LangGraph's.
- Routing functions are client tools too; their raw value is mapped through the path map *in the
  program*, so the server (not the client) decides which transitions are legal: a key outside the
  path map fails the run. A routing function sees the state merged so far in its step (for the
  common one-node step this is exactly LangGraph's view).
- Waiting edges (`add_edge([a, b], c)`) are lists of finished sources; the target joins `nxt`
  when all have finished, then the list resets — LangGraph's named-barrier semantics.
- `internal_node_mapping` nodes call an internal tool (`parse_with_ai`) on the server; their
  result dict is written last-value-wins (client reducers cannot run there).
- Only constructs of the interpreter subset are emitted (no def/lambda/while, no `_` names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sequrity_langgraph.graph import END, START, Branch, GraphError, GraphSpec

__all__ = ["CompiledProgram", "compile_graph", "INTERNAL_TOOLS", "DEFAULT_RECURSION_LIMIT"]

DEFAULT_RECURSION_LIMIT = 25
INTERNAL_TOOLS = frozenset({"parse_with_ai"})
IND = "    "


@dataclass(frozen=True)
class CompiledProgram:
    """The program text plus which names are client tools (nodes and routers) and which are internal."""

    source: str
    node_tools: tuple[str, ...]
    router_tools: tuple[str, ...]
    internal_nodes: Mapping[str, str]
    recursion_limit: int = DEFAULT_RECURSION_LIMIT

    @property
    def limit_line(self) -> int:
        """The line of the `raise` that reports the recursion limit (the server may redact its text)."""
        return 1 + next(i for i, line in enumerate(self.source.splitlines()) if "Recursion limit of" in line)

    @property
    def client_tools(self) -> tuple[str, ...]:
        return (*self.node_tools, *self.router_tools)


def _route_lines(branch: Branch, depth: int) -> list[str]:
    pad = IND * depth
    lines = [
        f"{pad}keys = {branch.name}(state=state)",
        f"{pad}if not isinstance(keys, list):",
        f"{pad}{IND}keys = [keys]",
    ]
    if branch.ends is None:
        lines.append(f"{pad}nxt.extend(keys)")
    else:
        ends = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in sorted(branch.ends.items())) + "}"
        lines += [f"{pad}for key in keys:", f"{pad}{IND}nxt.append({ends}[key])"]
    return lines


def _edge_lines(spec: GraphSpec, source: str, depth: int) -> list[str]:
    pad = IND * depth
    lines: list[str] = []
    if succ := spec.successors(source):
        lines.append(f"{pad}nxt.extend({list(succ)!r})")
    for branch in spec.branches_of(source):
        lines += _route_lines(branch, depth)
    for i, join in enumerate(spec.joins):
        if source in join.sources:
            lines += [f"{pad}if {source!r} not in join{i}:", f"{pad}{IND}join{i}.append({source!r})"]
    return lines


def _call_lines(name: str, internal: str | None, description: str) -> list[str]:
    pad = IND * 3
    if internal is None:
        return [
            f"{pad}if solo:",
            f"{pad}{IND}state = {name}(state=state)",
            f"{pad}else:",
            f"{pad}{IND}state = {name}(state=base, into=state)",
        ]
    task = (description or f"Compute the state updates of the graph node {name!r}.").replace("{", "(").replace("}", ")")
    return [
        f"{pad}update = {internal}(query={task!r} + \" Current state: \" + str(base), output_schema=dict)",
        f"{pad}state = dict(state)",
        f"{pad}state.update(update)",
    ]


def compile_graph(
    spec: GraphSpec,
    *,
    internal_node_mapping: Mapping[str, str] | None = None,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
) -> CompiledProgram:
    """Compile a validated `GraphSpec`; the same spec always gives the same text.

    >>> from sequrity_langgraph.graph import Node
    >>> p = compile_graph(GraphSpec(name="g", nodes=(Node("a", print),), edges=((START, "a"), ("a", END))))
    >>> p.node_tools, "state = a(state=state)" in p.source
    (('a',), True)
    """
    mapping = dict(internal_node_mapping or {})
    for mapped, tool in mapping.items():
        if mapped not in spec.node_names:
            raise GraphError(f"internal_node_mapping names {mapped!r}, which is not a node; nodes are {list(spec.node_names)}")
        if tool not in INTERNAL_TOOLS:
            raise GraphError(f"internal_node_mapping[{mapped!r}] = {tool!r}; allowed internal tools: {sorted(INTERNAL_TOOLS)}")
    if recursion_limit < 1:
        raise GraphError(f"recursion_limit must be >= 1 (got {recursion_limit})")
    n = len(spec.nodes)
    lines = [
        f"# sequrity_langgraph program for graph {spec.name!r}: {n} node(s), supersteps bounded by {recursion_limit}",
        "state = initial_state",
        "nxt = []",
    ]
    lines += [f"join{i} = []" for i in range(len(spec.joins))]
    lines += _edge_lines(spec, START, 0)
    lines += [
        f"active = sorted(set([target for target in nxt if target != {END!r}]))",
        f"for step in range({recursion_limit}):",
        f"{IND}if len(active) == 0:",
        f"{IND * 2}break",
        f"{IND}base = state",
        f"{IND}solo = len(active) == 1",
        f"{IND}nxt = []",
        f"{IND}for node in active:",
    ]
    for i, node in enumerate(spec.nodes):
        lines.append(f"{IND * 2}{'if' if i == 0 else 'elif'} node == {node.name!r}:")
        lines += _call_lines(node.name, mapping.get(node.name), node.description)
        lines += _edge_lines(spec, node.name, 3)
    lines += [f"{IND * 2}else:", f"{IND * 3}raise ValueError(\"no node named \" + str(node))"]
    for i, join in enumerate(spec.joins):
        lines += [
            f"{IND}if len(join{i}) == {len(set(join.sources))}:",
            f"{IND * 2}nxt.append({join.target!r})",
            f"{IND * 2}join{i} = []",
        ]
    lines += [
        f"{IND}active = sorted(set([target for target in nxt if target != {END!r}]))",
        "if len(active) > 0:",
        f"{IND}raise RuntimeError(\"Recursion limit of {recursion_limit} supersteps reached without hitting END; "
        "raise recursion_limit or fix the graph's cycle\")",
        "final_return_value = state",
    ]
    external = tuple(name for name in spec.node_names if name not in mapping)
    routers = tuple(sorted({b.name for b in spec.branches}))
    return CompiledProgram(
        source="\n".join(lines) + "\n", node_tools=external, router_tools=routers, internal_nodes=mapping,
        recursion_limit=recursion_limit,
    )
