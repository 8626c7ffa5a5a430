"""Comprehensions: list, set, dict and generator expressions (evaluated eagerly)."""

from __future__ import annotations

from typing import Any

import pytest

from server.policy.metadata import MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, meta, value_of

D = DEFAULT_META

CASES: list[tuple[str, Any, MetaData]] = [
    ("final_return_value = [i * i for i in range(4)]", [0, 1, 4, 9], D),
    ("final_return_value = [i for i in range(10) if i % 3 == 0 if i > 0]", [3, 6, 9], D),
    ("final_return_value = [(a, b) for a in 'ab' for b in [1, 2]]", [["a", 1], ["a", 2], ["b", 1], ["b", 2]], D),
    ("final_return_value = {c for c in 'abca'}", ["a", "b", "c"], D),
    ("final_return_value = {k: len(k) for k in ['a', 'bb']}", {"a": 1, "bb": 2}, D),
    ("final_return_value = sum(x for x in [1, 2, 3])", 6, D),
    ("final_return_value = [x for x in []]", [], D),
    ("final_return_value = [k for k, v in {'a': 1, 'b': 2}.items() if v > 1]", ["b"], D),
    # Metadata: the container joins iterables, conditions and elements.
    ("final_return_value = [x for x in get_email()['tags']]", ["x", "y"], MAIL),
    ("final_return_value = [i for i in range(3) if get_number() > i]", [0, 1, 2], DB),
    ("final_return_value = [get_number() for i in range(2)]", [7, 7], DB),
    # ... while an element keeps its own metadata (in standard mode).
    ("l = [i for i in [1, get_number()]]\nfinal_return_value = l[0]", 1, D),
    ("l = [i for i in range(3) if get_number() > i]\nfinal_return_value = l[0]", 0, D),
]


@pytest.mark.parametrize(("source", "value", "expected_meta"), CASES)
def test_comprehension(source: str, value: Any, expected_meta: MetaData) -> None:
    assert value_of(source) == (value, expected_meta)


def test_strict_mode_elements_carry_their_selection() -> None:
    source = "l = [i for i in range(3) if get_number() > i]\nfinal_return_value = l[0]"
    assert value_of(source, mode="strict") == (0, DB)


def test_loop_variable_does_not_leak() -> None:
    assert value_of("x = 'kept'\ny = [x for x in range(3)]\nfinal_return_value = x") == ("kept", D)
    assert value_of("y = [z for z in range(3)]\nfinal_return_value = 'z' in str(y)")[0] is False


def test_custom_mode_checks_comprehension_conditions() -> None:
    from server.agents.dual_llm.interpreter import ControlFlowViolation

    def deny_mail(m: MetaData) -> str | None:
        return "mail data steers control flow" if "mail" in m.producers else None

    with pytest.raises(ControlFlowViolation):
        value_of("y = [t for t in ['a'] if t in get_email()['body']]", mode="custom", branch_check=deny_mail)
    assert meta() == D
