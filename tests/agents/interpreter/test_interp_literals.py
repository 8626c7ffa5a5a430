"""Literals: values and their (default) metadata."""

from __future__ import annotations

from typing import Any

import pytest

from tests.agents.interpreter.interp_helpers import DEFAULT_META, evaluate

D = DEFAULT_META

CASES: list[tuple[str, Any]] = [
    ("1", 1),
    ("-3", -3),
    ("1.5", 1.5),
    ("'text'", "text"),
    ('"double"', "double"),
    ("'''multi\nline'''", "multi\nline"),
    ("True", True),
    ("False", False),
    ("None", None),
    ("[1, 'a', None]", [1, "a", None]),
    ("(1, 2)", [1, 2]),
    ("(1,)", [1]),
    ("()", []),
    ("{'a': 1, 2: 'b'}", {"a": 1, "2": "b"}),
    ("{3, 1, 2}", [1, 2, 3]),
    ("[[1, [2]], {'k': (3,)}]", [[1, [2]], {"k": [3]}]),
    ("0x1f", 31),
    ("1_000", 1000),
    ("1e3", 1000.0),
]


@pytest.mark.parametrize(("expr", "expected"), CASES)
def test_literal(expr: str, expected: Any) -> None:
    assert evaluate(expr) == (expected, D)
