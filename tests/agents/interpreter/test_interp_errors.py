"""try/except/else/finally, raise, error values with the metadata of their causes, redaction."""

from __future__ import annotations

from typing import Any

import pytest

from server.agents.dual_llm.interpreter import (
    NotEnoughInformationError,
    PolicyDenied,
    ProgramRuntimeError,
    Suspend,
    ToolError,
)
from server.policy.metadata import MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, ScriptedGateway, meta, run, value_of

D = DEFAULT_META

CASES: list[tuple[str, Any, MetaData]] = [
    ("try:\n    x = 1 / 0\nexcept ZeroDivisionError:\n    x = 'caught'\nfinal_return_value = x", "caught", D),
    ("try:\n    x = 1 / 0\nexcept ArithmeticError:\n    x = 'parent'\nfinal_return_value = x", "parent", D),
    ("try:\n    x = {}['k']\nexcept (ValueError, LookupError):\n    x = 'tuple'\nfinal_return_value = x", "tuple", D),
    ("try:\n    x = [][1]\nexcept KeyError:\n    x = 'no'\nexcept IndexError as e:\n    x = str(e)\nfinal_return_value = x", "list index out of range", D),
    ("try:\n    x = 1\nexcept Exception:\n    x = 2\nelse:\n    x = 3\nfinal_return_value = x", 3, D),
    ("log = []\ntry:\n    log.append('body')\nfinally:\n    log.append('finally')\nfinal_return_value = log", ["body", "finally"], D),
    ("log = []\ntry:\n    try:\n        x = 1 / 0\n    finally:\n        log.append('inner')\nexcept Exception:\n    log.append('outer')\nfinal_return_value = log", ["inner", "outer"], D),
    ("try:\n    raise ValueError('bad input')\nexcept ValueError as e:\n    final_return_value = str(e)", "bad input", D),
    ("try:\n    raise KeyError\nexcept KeyError as e:\n    final_return_value = repr(e)", "KeyError('')", D),
    ("e = ValueError('x')\nfinal_return_value = isinstance(e, Exception)", True, D),
    ("try:\n    try:\n        x = 1 / 0\n    except ZeroDivisionError:\n        raise\nexcept Exception as e:\n    final_return_value = repr(e)", "ZeroDivisionError('division by zero')", D),
    ("for i in range(3):\n    try:\n        break\n    finally:\n        x = 'ran'\nfinal_return_value = x", "ran", D),
    # Error values carry the metadata of their causes.
    ("try:\n    x = get_email()['nope']\nexcept KeyError as e:\n    final_return_value = str(e)", "'nope'", MAIL),
    ("try:\n    x = get_number() / 0\nexcept Exception as e:\n    final_return_value = e", {"error": "ZeroDivisionError", "message": "division by zero"}, DB),
    ("try:\n    raise ValueError(get_email()['subject'])\nexcept ValueError as e:\n    final_return_value = str(e)", "Hello", MAIL),
    # Tool errors and NotEnoughInformationError are catchable; their cause includes the arguments.
    ("try:\n    fail_tool(get_number())\nexcept ToolError as e:\n    final_return_value = str(e)", "tool failed on 7", DB),
    ("try:\n    parse_with_ai('nothing here')\nexcept NotEnoughInformationError:\n    final_return_value = 'unknown'", "unknown", D),
    ("try:\n    fail_tool(1)\nexcept Exception:\n    final_return_value = 'generic'", "generic", D),
]


@pytest.mark.parametrize(("source", "value", "expected_meta"), CASES)
def test_try(source: str, value: Any, expected_meta: MetaData) -> None:
    assert value_of(source) == (value, expected_meta)


def test_uncaught_error_has_line_type_and_cause() -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run("x = 1\ne = get_email()\ny = e['body'] + 1")
    err = info.value
    assert (err.type_name, err.line) == ("TypeError", 3)
    assert err.meta == MAIL and err.depends_on_untrusted
    assert err.redacted() == "line 3: TypeError (message redacted: it depends on untrusted data)"
    assert err.for_planner() == err.redacted()


def test_error_of_trusted_data_is_shown_in_full() -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run("d = {'a': 1}\nx = d['b']")
    assert not info.value.depends_on_untrusted
    assert info.value.for_planner() == "line 2: KeyError: 'b'"


def test_error_inside_an_untrusted_branch_is_redacted() -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run("if get_number() > 3:\n    x = {}['k']")
    assert info.value.depends_on_untrusted


@pytest.mark.parametrize(
    ("m", "untrusted"),
    [(D, False), (meta(("db",)), True), (meta(tags=("pii",)), True), (meta(consumers=("alice",)), True)],
)
def test_depends_on_untrusted_rule(m: MetaData, untrusted: bool) -> None:
    assert ProgramRuntimeError("KeyError", "x", meta=m).depends_on_untrusted is untrusted


def test_uncaught_tool_error_is_a_program_error() -> None:
    with pytest.raises(ToolError) as info:
        run("fail_tool(get_number())")
    assert info.value.line == 1 and info.value.meta == DB


def test_tool_error_text_is_always_redacted() -> None:
    """The message is tool output even when the arguments were trusted."""
    with pytest.raises(ToolError) as info:
        run("fail_tool(1)")
    assert info.value.meta == D and info.value.depends_on_untrusted
    assert info.value.for_planner() == "line 1: ToolError (message redacted: it depends on untrusted data)"


def test_uncaught_not_enough_information() -> None:
    with pytest.raises(NotEnoughInformationError):
        run("x = parse_with_ai('nothing')")


@pytest.mark.parametrize("handler", ["except Exception", "except RuntimeError", "except ToolError"])
def test_signals_are_not_catchable_and_skip_finally(handler: str) -> None:
    gateway = ScriptedGateway()
    source = f"try:\n    deny_me(1)\n{handler}:\n    send_email('a', 'b')\nfinally:\n    send_email('c', 'd')"
    with pytest.raises(PolicyDenied):
        run(source, gateway=gateway)
    assert [c[0] for c in gateway.calls] == ["deny_me"]
    with pytest.raises(Suspend):
        run(source.replace("deny_me(1)", "ask_user('q')"), gateway=ScriptedGateway())


def test_bare_raise_without_active_exception() -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run("raise")
    assert info.value.type_name == "RuntimeError"


def test_raise_non_exception() -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run("raise 'text'")
    assert info.value.type_name == "TypeError"
