"""The interpreter's one seam to the outside world: tools, reached through a `ToolGateway`.

Every effect of a program — client tools and internal tools (`parse_with_ai`,
`verify_hypothesis`, `set_policy`, `complete_turn`) alike — is a gateway call. The gateway (the
agent) checks the policy, answers from the ledger or raises `Suspend`, and translates outcomes:

- a result → `Labelled` with plain JSON-like data (nested `Labelled` values may give elements
  their own metadata); the interpreter lifts it so every element inherits the result's metadata;
- a failure the program may handle → `ToolError` / `NotEnoughInformationError`;
- a denial → `PolicyDenied(record)`; an unanswered call → `Suspend`;
- `complete_turn(value)` → `EndTurn(value)`.

Arguments arrive as JSON data keyed by parameter name (positional arguments are mapped with
`ToolSpec.params`); a type passed as a value (`output_schema=int`) arrives as the Python type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from server.policy.metadata import Labelled, MetaData

__all__ = ["ToolSpec", "ToolGateway", "MemoryGateway"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What the interpreter needs to know about a tool.

    `params`: parameter names in positional order. `joins_context`: in `strict` mode, the metadata
    of the call's inputs joins the control context of the rest of the program (spec dual-llm 5:
    set it for `parse_with_ai`).
    """

    name: str
    params: tuple[str, ...]
    joins_context: bool = False


class ToolGateway(Protocol):
    """How the interpreter reaches tools. Synchronous: the interpreter never waits."""

    def tool(self, name: str) -> ToolSpec | None:
        """The tool called `name`, or None when no such tool exists."""
        ...

    def call(
        self, name: str, args: Mapping[str, Labelled], *, context_meta: MetaData
    ) -> Labelled:
        """Run (or replay) one call. `context_meta` is the control context in `strict` mode and
        the default metadata otherwise."""
        ...


ToolFn = Callable[[Mapping[str, Labelled], MetaData], Labelled]


@dataclass
class MemoryGateway:
    """A gateway over Python callables, recording every call (tests, benchmarks, lang-graph stubs).

    >>> g = MemoryGateway({"echo": (ToolSpec("echo", ("x",)), lambda a, c: a["x"])})
    >>> g.call("echo", {"x": Labelled(1)}, context_meta=MetaData()).value
    1
    """

    tools: dict[str, tuple[ToolSpec, ToolFn]]
    calls: list[tuple[str, dict[str, Labelled], MetaData]] = field(default_factory=list)

    def tool(self, name: str) -> ToolSpec | None:
        entry = self.tools.get(name)
        return entry[0] if entry else None

    def call(
        self, name: str, args: Mapping[str, Labelled], *, context_meta: MetaData
    ) -> Labelled:
        self.calls.append((name, dict(args), context_meta))
        return self.tools[name][1](args, context_meta)
