"""Predicates (spec sqrt 6.5, 6.7, 3.1): value `in` and `==`, logic, precedence, let predicates."""

from __future__ import annotations

import pytest

from tests.policy.sqrt_helpers import arg, holds

VALUE_CASES = [
    # `in` covers strings, regexes, wildcards, numbers, domains; never lists/objects or null
    ('x.value in {"a", "b"}', "a", True), ('x.value in {"a"}', "A", False),
    ('x.value in {r"[0-9]+"}', "123", True), ('x.value in {r"email"}', "send_email", False),
    ('x.value in {w"*.pdf"}', "a.pdf", True), ("x.value in {5}", 5.0, True),
    ("x.value in {5}", True, False), ('x.value in {"5"}', 5, False),
    ('x.value in {"*"}', "anything", True), ('x.value in {"*"}', None, False),
    ('x.value in {"a"}', ["a"], False), ('x.value in {"*"}', ["a"], False),  # Decision 6.5
    ('x.value in {"a"}', {"a": 1}, False), ("x.value in {}", "a", False),
    ('"a" in {"a"}', None, True), ("3 in {int 1..5}", None, True), ("true in {bool true}", None, True),
    # `==`: no coercion, null equals nothing, structural for lists/objects
    ('x.value == "5"', 5, False), ("x.value == 5", 5, True), ("x.value == 5", 5.5, False),
    ("x.value == false", 0, False), ("x.value == false", False, True),
    ("x.value == y.value", None, False), ('x.value == "a"', "a", True),
    ("x.value == 1.0", 1, True),
]


@pytest.mark.parametrize(("pred", "value", "expected"), VALUE_CASES,
                         ids=[f"{p}-{v!r}" for p, v, _ in VALUE_CASES])
def test_value_tests(pred: str, value: object, expected: bool) -> None:
    assert holds(pred, {"x": value}) is expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    ([1, 2], [1, 2], True), ([1, 2], [2, 1], False), ({"k": [1]}, {"k": [1]}, True),
    ([True], [1], False), ([1], [1.0], True), ({"k": 1}, {"k": 1, "j": 2}, False),
    ([None], [None], True), ("a", ["a"], False), (None, None, False),
])
def test_structural_equality(a: object, b: object, expected: bool) -> None:
    assert holds("x.value == y.value", {"x": a, "y": b}) is expected


def test_deeply_nested_values_compare_without_recursion() -> None:
    deep: object = "leaf"
    for _ in range(5000):
        deep = [deep]
    assert holds("x.value == y.value", {"x": deep, "y": deep})


LOGIC = [
    ("true", True), ("false", False), ("not true", False), ("not not true", True),
    ("true and false", False), ("true or false", True),
    ("false or true and false", False),  # and binds tighter than or
    ("not false and false", False),  # not binds tighter than and
    ("(false or true) and true", True),
    ('not x.tags overlaps {"a"}', False),  # not applies to the whole comparison
    ('not x.tags overlaps {"b"}', True),
    ('x.tags overlaps {"a"} and x.tags overlaps {"b"} or x.tags is empty', False),
    ("true or true or false", True), ("true and true and false", False),
]


@pytest.mark.parametrize(("pred", "expected"), LOGIC, ids=[c[0] for c in LOGIC])
def test_logic(pred: str, expected: bool) -> None:
    assert holds(pred, {"x": arg(t={"a"})}) is expected


def test_let_predicates_and_macro_semantics() -> None:
    lets = 'let Tainted = x.tags overlaps {"pii"}; let Both = Tainted and y.value == 1;'
    assert holds("Both", {"x": arg(t={"pii"}), "y": 1}, lets=lets)
    assert not holds("Both", {"x": arg(t={"pii"}), "y": 2}, lets=lets)
    assert holds("not Tainted", {"x": arg()}, lets=lets)
    assert holds("T", lets="let T = true;")
    assert not holds("F", lets="let F = false;")
    assert holds("A", {"x": arg(t={"pii"})}, lets=lets + " let A = Tainted;")


def test_always_is_an_undefined_name_unless_defined() -> None:
    assert holds("always", lets="let always = true;")
