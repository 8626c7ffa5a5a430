"""Running a block of compiled statements, and the signals a statement may return to its loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import D, join
from server.policy.metadata import MetaData

__all__ = ["StmtFn", "BREAK", "CONTINUE", "run_block", "restore_ctx"]

StmtFn = Callable[[State], Any]
BREAK: Final = "break"
CONTINUE: Final = "continue"


def run_block(st: State, block: Sequence[StmtFn]) -> Any:
    for s in block:
        r = s(st)
        if r is not None:
            return r
    return None


def restore_ctx(st: State, saved: MetaData) -> None:
    """Leave a conditional region: back to `saved`, keeping whatever became sticky."""
    st.ctx = saved if st.sticky is D else join(saved, st.sticky)
