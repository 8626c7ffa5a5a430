"""The interpreter's exception tree and the one table translating host exceptions into program errors.

    InterpreterError
    ├── ProgramRejected              `check_program` found errors (`.errors`); nothing ran
    ├── ProgramRuntimeError          raised by the running program; caught by its `try/except`
    │   ├── ToolError                a tool reported a failure (raised by the gateway)
    │   └── NotEnoughInformationError  `parse_with_ai` had no answer (raised by the gateway)
    └── InterpreterSignal            ends the run; program code can never catch it and
        │                            `finally` blocks do not run (replay must not reorder effects)
        ├── Suspend                  the gateway needs an answer that is not recorded yet
        ├── PolicyDenied             a tool call was denied (`.record`: the CheckRecord)
        ├── ControlFlowViolation     `custom` mode: a branch condition violates the branching policy
        ├── EndTurn                  `complete_turn(value)` (`.value`)
        └── LimitExceeded            a named limit of `Limits` (`.limit`)
            └── WallTimeExceeded     the wall-time safety net (not deterministic: never resume)

Redaction (spec dual-llm 1.4): a runtime error *depends on untrusted data* when the metadata of the
values that caused it (operands, the enclosing conditions, the raised value) has any producer, any
tag, or a restricted consumer set — and always for `ToolError` and `NotEnoughInformationError`,
whose messages come from outside the program. Consumers are included on purpose, beyond producers and tags:
data readable only by some principals must not reach the planner either. Then only `redacted()`
(line and error type) may be shown to the planner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import regex

from server.policy.engine import CheckRecord
from server.policy.metadata import DEFAULT_META, Labelled, MetaData, is_universal

__all__ = [
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
    "EXCEPTION_PARENTS",
    "is_subclass",
    "translate",
    "depends_on_untrusted",
]


@dataclass(frozen=True, slots=True)
class SubsetError:
    """A syntax or subset error at `line`:`column`, naming the construct and the alternative."""

    line: int
    column: int
    construct: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class InterpreterError(Exception):
    """Base of every error the interpreter raises."""


class ProgramRejected(InterpreterError):
    """The program failed `check_program`; `errors` lists every finding."""

    def __init__(self, errors: list[SubsetError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in errors))


def depends_on_untrusted(meta: MetaData) -> bool:
    """True when `meta` marks data the planner must not see (see the module docstring)."""
    return bool(meta.producers) or bool(meta.tags) or not is_universal(meta.consumers)


class ProgramRuntimeError(InterpreterError):
    """An error of the running program, with the metadata of its causes.

    `type_name` is the Python-level name the program sees (`KeyError`, `ToolError`, ...).

    >>> e = ProgramRuntimeError("KeyError", "'x'", line=3)
    >>> str(e), e.redacted()
    ("line 3: KeyError: 'x'", 'line 3: KeyError (message redacted: it depends on untrusted data)')
    """

    type_name: str = "Exception"
    # Errors whose message comes from outside the program (a tool's output, the quarantined
    # model's verdict) are untrusted whatever their metadata says.
    always_untrusted: bool = False

    def __init__(
        self,
        type_name: str | None = None,
        message: str = "",
        *,
        line: int | None = None,
        column: int | None = None,
        meta: MetaData = DEFAULT_META,
    ) -> None:
        if type_name is not None:
            self.type_name = type_name
        self.message = message
        self.line = line
        self.column = column
        self.meta = meta
        super().__init__(message)

    @property
    def depends_on_untrusted(self) -> bool:
        return self.always_untrusted or depends_on_untrusted(self.meta)

    def __str__(self) -> str:
        head = f"line {self.line}: " if self.line is not None else ""
        return f"{head}{self.type_name}: {self.message}" if self.message else f"{head}{self.type_name}"

    def redacted(self) -> str:
        """The form shown to the planner when the message depends on untrusted data."""
        head = f"line {self.line}: " if self.line is not None else ""
        return f"{head}{self.type_name} (message redacted: it depends on untrusted data)"

    def for_planner(self) -> str:
        """`str(self)`, or `redacted()` when the error depends on untrusted data."""
        return self.redacted() if self.depends_on_untrusted else str(self)


class ToolError(ProgramRuntimeError):
    """A tool reported an error. Its message is tool output: `meta` should be what the call's
    result would have carried (argument join, preset tag, producers); uncaught, it is always
    redacted for the planner."""

    type_name = "ToolError"
    always_untrusted = True

    def __init__(self, message: str = "", *, meta: MetaData = DEFAULT_META) -> None:
        super().__init__(None, message, meta=meta)


class NotEnoughInformationError(ProgramRuntimeError):
    """`parse_with_ai` found no answer in its input (error code `not_enough_information`)."""

    type_name = "NotEnoughInformationError"
    always_untrusted = True

    def __init__(self, message: str = "", *, meta: MetaData = DEFAULT_META) -> None:
        super().__init__(None, message, meta=meta)


class InterpreterSignal(InterpreterError):
    """Ends the run; never visible to program code."""


class Suspend(InterpreterSignal):
    """Raised by the gateway when an answer is not recorded yet; the agent replays later."""

    def __init__(self, tool: str, payload: Any = None) -> None:
        self.tool = tool
        self.payload = payload
        super().__init__(f"suspended at a call to '{tool}'")


class PolicyDenied(InterpreterSignal):
    """Raised by the gateway when the policy denies a call; `record` says why."""

    def __init__(self, record: CheckRecord) -> None:
        self.record = record
        super().__init__(record.message or f"Tool call to '{record.tool}' is denied")


class ControlFlowViolation(InterpreterSignal):
    """`custom` mode: a branch condition's metadata violates the branching meta policy."""

    def __init__(self, reason: str, *, line: int, meta: MetaData) -> None:
        self.reason = reason
        self.line = line
        self.meta = meta
        super().__init__(f"Control flow violation at line {line}: {reason}")


class EndTurn(InterpreterSignal):
    """Raised by the gateway for `complete_turn(value)`; the run ends with `value` as its result."""

    def __init__(self, value: Labelled) -> None:
        self.value = value
        super().__init__("turn completed")


class LimitExceeded(InterpreterSignal):
    """A named limit was hit; `limit` is the field name of `Limits`."""

    def __init__(self, limit: str, message: str, *, line: int | None = None) -> None:
        self.limit = limit
        self.line = line
        super().__init__(f"limit {limit} exceeded: {message}")


class WallTimeExceeded(LimitExceeded):
    """The wall-time safety net tripped (an `execution_error`; the turn is not resumed)."""


# Program-visible exception types and their parents (for `except` matching and `isinstance`).
EXCEPTION_PARENTS: Final[dict[str, str | None]] = {
    "Exception": None,
    "ArithmeticError": "Exception",
    "ZeroDivisionError": "ArithmeticError",
    "OverflowError": "ArithmeticError",
    "LookupError": "Exception",
    "KeyError": "LookupError",
    "IndexError": "LookupError",
    "ValueError": "Exception",
    "TypeError": "Exception",
    "AttributeError": "Exception",
    "NameError": "Exception",
    "RuntimeError": "Exception",
    "NotImplementedError": "RuntimeError",
    "ToolError": "Exception",
    "NotEnoughInformationError": "Exception",
}


def is_subclass(name: str, ancestor: str) -> bool:
    """Whether program exception type `name` is `ancestor` or derives from it."""
    cur: str | None = name
    while cur is not None:
        if cur == ancestor:
            return True
        cur = EXCEPTION_PARENTS.get(cur)
    return False


# Host exceptions raised inside allowlisted operations → the program-visible type (habit: one table).
_TRANSLATION: Final[tuple[tuple[type[BaseException], str], ...]] = (
    (json.JSONDecodeError, "ValueError"),
    (UnicodeError, "ValueError"),
    (regex.error, "ValueError"),
    (KeyError, "KeyError"),
    (IndexError, "IndexError"),
    (ZeroDivisionError, "ZeroDivisionError"),
    (OverflowError, "OverflowError"),
    (ValueError, "ValueError"),
    (TypeError, "TypeError"),
    (AttributeError, "AttributeError"),
)
TRANSLATABLE: Final = tuple(t for t, _ in _TRANSLATION)
__all__.append("TRANSLATABLE")


def translate(exc: BaseException, meta: MetaData) -> ProgramRuntimeError:
    """The program error for a host exception raised by an allowlisted operation on values `meta`."""
    for host, name in _TRANSLATION:
        if isinstance(exc, host):
            text = repr(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            return ProgramRuntimeError(name, text, meta=meta)
    raise exc
