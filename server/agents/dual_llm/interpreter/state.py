"""The mutable state of one run: namespace, counters, control context, printed output."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from server.agents.dual_llm.interpreter.errors import (
    ControlFlowViolation,
    LimitExceeded,
    ProgramRuntimeError,
    WallTimeExceeded,
)
from server.agents.dual_llm.interpreter.gateway import ToolGateway
from server.agents.dual_llm.interpreter.limits import ELEMENT_BYTES, Limits
from server.agents.dual_llm.interpreter.values import CONTAINERS, D, Val, join
from server.policy.metadata import MetaData

__all__ = ["State", "BranchCheck", "TIME_CHECK_EVERY"]

BranchCheck = Callable[[MetaData], "str | None"]
TIME_CHECK_EVERY = 2048  # nodes between two looks at the clock (safety net only)
SIZED = frozenset({str, *CONTAINERS})


class State:
    """One run's state. `ctx` is the control context: the join of the enclosing conditions (and,
    in `strict` mode, of everything made `sticky`). It is tracked in every mode because it is part
    of a runtime error's cause; it is joined into values only in `strict` mode."""

    __slots__ = (
        "ns", "gateway", "limits", "strict", "custom", "branch_check", "ctx", "sticky",
        "nodes", "budget", "deadline", "printed", "printed_chars", "exc_stack", "resolve",
        "allocated",
    )

    def __init__(
        self,
        *,
        ns: dict[str, Val],
        gateway: ToolGateway,
        limits: Limits,
        mode: str,
        branch_check: BranchCheck | None,
        resolve: Callable[[State, str], Val],
    ) -> None:
        self.ns = ns
        self.gateway = gateway
        self.limits = limits
        self.strict = mode == "strict"
        self.custom = mode == "custom"
        self.branch_check = branch_check
        self.ctx: MetaData = D
        self.sticky: MetaData = D
        self.nodes = 0
        self.allocated = 0
        self.budget = min(limits.max_nodes, TIME_CHECK_EVERY)
        self.deadline = time.monotonic() + limits.wall_time_seconds
        self.printed: list[tuple[str, MetaData]] = []
        self.printed_chars = 0
        self.exc_stack: list[ProgramRuntimeError] = []
        self.resolve = resolve

    def over(self, line: int) -> None:
        """Called when `nodes` passed `budget`: the node limit, or time for a clock check."""
        if self.nodes > self.limits.max_nodes:
            raise LimitExceeded(
                "max_nodes", f"more than {self.limits.max_nodes} nodes executed", line=line
            )
        if time.monotonic() > self.deadline:
            raise WallTimeExceeded(
                "wall_time_seconds",
                f"the run took longer than {self.limits.wall_time_seconds} s",
                line=line,
            )
        self.budget = min(self.limits.max_nodes, self.nodes + TIME_CHECK_EVERY)

    def charge(self, v: Any) -> None:
        """Count a newly built string or container against `Limits.max_allocated_bytes`."""
        t = type(v)
        if t is str:
            self.charge_bytes(len(v))
        elif t in SIZED:
            self.charge_bytes(len(v) * ELEMENT_BYTES)

    def charge_bytes(self, n: int) -> None:
        self.allocated += n
        if self.allocated > self.limits.max_allocated_bytes:
            raise LimitExceeded(
                "max_allocated_bytes",
                f"the run built more than {self.limits.max_allocated_bytes} bytes of strings and containers",
            )

    def check_branch(self, meta: MetaData, line: int) -> None:
        """`custom` mode: the branching meta policy at one branch point."""
        if self.branch_check is not None:
            reason = self.branch_check(meta)
            if reason is not None:
                raise ControlFlowViolation(reason, line=line, meta=meta)

    def make_sticky(self, meta: MetaData) -> None:
        """`strict` mode: `meta` joins the control context of the rest of the program."""
        self.sticky = join(self.sticky, meta)
        self.ctx = join(self.ctx, meta)

    def error(self, type_name: str, message: str, meta: MetaData = D) -> ProgramRuntimeError:
        """A program error whose cause includes the current control context."""
        return ProgramRuntimeError(type_name, message, meta=join(meta, self.ctx))

    def emit(self, text: str, meta: MetaData) -> None:
        self.printed_chars += len(text) + 1
        if self.printed_chars > self.limits.max_output_chars:
            raise LimitExceeded(
                "max_output_chars", f"printed output over {self.limits.max_output_chars} characters"
            )
        self.printed.append((text, join(meta, self.ctx) if self.strict else meta))

    def lookup(self, name: str) -> Any:
        v = self.ns.get(name)
        return v if v is not None else self.resolve(self, name)
