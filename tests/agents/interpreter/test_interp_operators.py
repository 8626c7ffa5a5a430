"""Operators: arithmetic, comparison, boolean, membership, identity, conditional; result metadata is
the join of the operands'."""

from __future__ import annotations

from typing import Any

import pytest

from server.agents.dual_llm.interpreter import ProgramRuntimeError
from server.policy.metadata import MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, evaluate, value_of

D = DEFAULT_META
BOTH = MAIL.join(DB)

CASES: list[tuple[str, Any, MetaData]] = [
    ("1 + 2 * 3", 7, D),
    ("7 // 2", 3),
    ("7 / 2", 3.5),
    ("7 % 3", 1),
    ("-7 % 3", 2),
    ("2 ** 10", 1024),
    ("2 ** -1", 0.5),
    ("1 << 4", 16),
    ("256 >> 4", 16),
    ("6 & 3", 2),
    ("6 | 3", 7),
    ("6 ^ 3", 5),
    ("~5", -6),
    ("-(3)", -3),
    ("+True", 1),
    ("'ab' + 'cd'", "abcd"),
    ("'ab' * 3", "ababab"),
    ("3 * 'ab'", "ababab"),
    ("[1] + [2]", [1, 2]),
    ("[0] * 3", [0, 0, 0]),
    ("(1,) + (2,)", [1, 2]),
    ("'%s-%d' % ('a', 3)", "a-3"),
    ("'%.2f' % 3.14159", "3.14"),
    ("{1, 2} | {3}", [1, 2, 3]),
    ("{1, 2} & {2, 3}", [2]),
    ("{1, 2} - {2}", [1]),
    ("{1, 2} ^ {2, 3}", [1, 3]),
    ("{'a': 1} | {'b': 2}", {"a": 1, "b": 2}),
    ("1 < 2 < 3", True),
    ("1 < 3 < 2", False),
    ("1 == 1.0", True),
    ("'a' != 'b'", True),
    ("[1, 2] == [1, 2]", True),
    ("[1, 2] < [1, 3]", True),
    ("(1, 2) == (1, 2)", True),
    ("{'a': [1]} == {'a': [1]}", True),
    ("2 in [1, 2]", True),
    ("'b' in 'abc'", True),
    ("'k' in {'k': 1}", True),
    ("3 not in {1, 2}", True),
    ("[1] in [[1], [2]]", True),
    ("None is None", True),
    ("1 is not None", True),
    ("not 0", True),
    ("0 or 'x'", "x"),
    ("1 and 2", 2),
    ("0 and 2", 0),
    ("'a' if 1 > 2 else 'b'", "b"),
]
CASES = [(c[0], c[1], c[2] if len(c) > 2 else D) for c in CASES]  # type: ignore[misc]

META_CASES: list[tuple[str, Any, MetaData]] = [
    ("get_number() + 1", 8, DB),
    ("get_number() * get_email()['subject'].count('l')", 14, BOTH),
    ("get_number() > 3", True, DB),
    ("'Hello' == get_email()['subject']", True, MAIL),
    ("'Hello' in get_email()['subject']", True, MAIL),
    ("-get_number()", -7, DB),
    ("not get_number()", False, DB),
    # Boolean operators: the join of every operand evaluated.
    ("get_number() and 'x'", "x", DB),
    ("0 and get_number()", 0, D),
    ("get_number() or get_email()", 7, DB),
    # A conditional expression in `standard` mode: explicit data flow only (spec dual-llm 5).
    ("'a' if get_number() > 3 else 'b'", "a", D),
    ("get_number() if True else 0", 7, DB),
]


@pytest.mark.parametrize(("expr", "value", "expected_meta"), CASES + META_CASES)
def test_operator(expr: str, value: Any, expected_meta: MetaData) -> None:
    assert evaluate(expr) == (value, expected_meta)


def test_conditional_expression_carries_the_test_in_strict_mode() -> None:
    assert evaluate("'a' if get_number() > 3 else 'b'", mode="strict") == ("a", DB)


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        ("1 / 0", "ZeroDivisionError"),
        ("1 % 0", "ZeroDivisionError"),
        ("'a' + 1", "TypeError"),
        ("[1] + (1,)", "TypeError"),
        ("1 < 'a'", "TypeError"),
        ("'a' - 'b'", "TypeError"),
        ("1 in 5", "TypeError"),
        ("-'a'", "TypeError"),
        ("{} | []", "TypeError"),
        ("'%s %s' % ('a',)", "TypeError"),
    ],
)
def test_operator_errors(expr: str, error: str) -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        evaluate(expr)
    assert info.value.type_name == error
    assert info.value.line == 1


def test_error_caused_by_tool_data_carries_its_metadata() -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        value_of("n = get_number()\nx = n / 0")
    assert info.value.meta == DB and info.value.line == 2
