"""The CaMeL interpreter: a metadata-tracking evaluator of a Python subset (spec dual-llm 4, 5).

    >>> from server.agents.dual_llm.interpreter import MemoryGateway, run_program
    >>> run_program("final_return_value = len([1, 2, 3])", gateway=MemoryGateway({})).final_return_value.value
    3
"""

from server.agents.dual_llm.interpreter.errors import (
    ControlFlowViolation,
    EndTurn,
    InterpreterError,
    InterpreterSignal,
    LimitExceeded,
    NotEnoughInformationError,
    PolicyDenied,
    ProgramRejected,
    ProgramRuntimeError,
    SubsetError,
    Suspend,
    ToolError,
    WallTimeExceeded,
    depends_on_untrusted,
)
from server.agents.dual_llm.interpreter.gateway import MemoryGateway, ToolGateway, ToolSpec
from server.agents.dual_llm.interpreter.limits import Limits
from server.agents.dual_llm.interpreter.runner import Mode, Namespace, RunResult, export, run_program
from server.agents.dual_llm.interpreter.subset import check_program

__all__ = [
    "check_program",
    "run_program",
    "Mode",
    "Limits",
    "Namespace",
    "RunResult",
    "export",
    "ToolGateway",
    "ToolSpec",
    "MemoryGateway",
    "SubsetError",
    "InterpreterError",
    "ProgramRejected",
    "ProgramRuntimeError",
    "ToolError",
    "NotEnoughInformationError",
    "InterpreterSignal",
    "Suspend",
    "PolicyDenied",
    "ControlFlowViolation",
    "EndTurn",
    "LimitExceeded",
    "WallTimeExceeded",
    "depends_on_untrusted",
]
