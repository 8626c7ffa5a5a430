"""The interpreter's public surface is pinned (habit 9)."""

from __future__ import annotations

import inspect

import server.agents.dual_llm.interpreter as interpreter
from server.agents.dual_llm.interpreter import ProgramRuntimeError, ToolError


def test_public_names() -> None:
    assert sorted(interpreter.__all__) == sorted([
        "check_program", "run_program", "Mode", "Limits", "Namespace", "RunResult", "export",
        "ToolGateway", "ToolSpec", "MemoryGateway", "SubsetError", "InterpreterError",
        "ProgramRejected", "ProgramRuntimeError", "ToolError", "NotEnoughInformationError",
        "InterpreterSignal", "Suspend", "PolicyDenied", "ControlFlowViolation", "EndTurn",
        "LimitExceeded", "WallTimeExceeded", "depends_on_untrusted",
    ])
    for name in interpreter.__all__:
        assert hasattr(interpreter, name)


def test_run_program_signature() -> None:
    params = inspect.signature(interpreter.run_program).parameters
    assert list(params) == ["source", "gateway", "context_vars", "mode", "branch_check", "limits", "namespace"]
    assert all(p.kind is p.KEYWORD_ONLY for name, p in params.items() if name != "source")


def test_exception_tree() -> None:
    assert issubclass(ToolError, ProgramRuntimeError)
    assert issubclass(interpreter.NotEnoughInformationError, ProgramRuntimeError)
    for signal in ("Suspend", "PolicyDenied", "ControlFlowViolation", "EndTurn", "LimitExceeded"):
        cls = getattr(interpreter, signal)
        assert issubclass(cls, interpreter.InterpreterSignal)
        assert not issubclass(cls, ProgramRuntimeError)
    assert issubclass(interpreter.WallTimeExceeded, interpreter.LimitExceeded)


def test_modules_are_small() -> None:
    import pathlib

    root = pathlib.Path(interpreter.__file__).parent
    for path in root.glob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path.name
