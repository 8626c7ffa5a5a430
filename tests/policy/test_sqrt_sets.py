"""Set algebra and precedence (spec sqrt 3.1, 4.2, 6.2), observed through updates and predicates."""

from __future__ import annotations

import pytest

from server.policy.metadata import UNIVERSAL, MetaData
from tests.policy.sqrt_helpers import arg, holds, run


def _eval(expr: str, lets: str = "") -> frozenset[str]:
    """The value of a string-only set expression, via `@tags = EXPR`."""
    _, result, _ = run(f'{lets}\ntool "t" -> @tags = {expr};', "t")
    assert result is not None
    return result.tags


CASES = [
    ('{"a"} | {"b"}', {"a", "b"}),
    ('{"a", "b"} & {"b", "c"}', {"b"}),
    ('{"a", "b"} - {"b"}', {"a"}),
    ('{"a", "b"} ^ {"b", "c"}', {"a", "c"}),
    ('{"a"} union {"b"}', {"a", "b"}),
    ('{"a", "b"} intersect {"b"}', {"b"}),
    ('{"a", "b"} minus {"b"}', {"a"}),
    ('{"a"} xor {"a"}', set()),
    ('{"a"} with "b"', {"a", "b"}),
    ('{"a", "b"} without "b"', {"a"}),
    ('{"a"} without "zz"', {"a"}),
    ("{}", set()),
    # precedence: with > | > & > - > ^
    ('{"a"} | {"b"} & {"c"}', set()),
    ('{"a", "b"} - {"b"} & {"c"}', {"a", "b"}),  # A - (B & C)
    ('{"a"} ^ {"a", "b"} - {"b"}', set()),  # A ^ (B - C)
    ('{"b"} | {"a"} without "b"', {"a", "b"}),  # {b} | ({a} without b)
    ('({"a"} | {"b"}) & {"b"}', {"b"}),
    ('{"a"} - {"b"} - {"a"}', set()),  # left associative
    ('{"a"} with "b" without "a"', {"b"}),
    # universal algebra (Decision 6.2)
    ('{"*"} | {"a"}', UNIVERSAL), ('{"*", "a"}', UNIVERSAL), ('{"a"} with "*"', UNIVERSAL),
    ('{"*"} & {"a"}', {"a"}), ('{"a"} & {"*"}', {"a"}),
    ('{"a"} - {"*"}', set()), ('{"*"} - {"a"}', UNIVERSAL), ('{"*"} without "a"', UNIVERSAL),
    ('{"*"} ^ {"a"}', UNIVERSAL), ('{"a"} ^ {"*"}', UNIVERSAL),
    ('{"*"} - {"*"}', set()), ('{"*"} ^ {"*"}', set()),
]


@pytest.mark.parametrize(("expr", "expected"), CASES, ids=[c[0] for c in CASES])
def test_set_algebra(expr: str, expected: set[str]) -> None:
    assert _eval(expr) == frozenset(expected)


def test_let_sets_expand() -> None:
    lets = 'let A = {"a"}; let B = A | {"b"};'
    assert _eval("B - A", lets) == {"b"}


def test_matcher_elements_are_ordinary_in_algebra() -> None:
    # a regex element equals only the identical regex
    assert holds('x.tags overlaps {r"p.*"} & {r"p.*"}', {"x": arg(t={"pii"})})
    assert not holds('x.tags overlaps {r"p.*"} & {r"q.*"}', {"x": arg(t={"pii"})})
    assert not holds('x.tags overlaps {r"p.*"} - {r"p.*"}', {"x": arg(t={"pii"})})
    assert holds('x.tags overlaps {"a"} with r"p.*"', {"x": arg(t={"pii"})})
    assert not holds('x.tags overlaps {r"p.*", "a"} without r"p.*"', {"x": arg(t={"pii"})})


COMPARISONS = [
    ('{"a"}', "overlaps", '{"a", "b"}', True), ('{"a"}', "overlaps", '{"b"}', False),
    ('{"a"}', "overlaps", "{}", False), ("{}", "overlaps", '{"*"}', False),
    ('{"*"}', "overlaps", '{"x"}', True), ('{"*"}', "overlaps", "{}", False),
    ('{"a"}', "overlaps", '{"*"}', True),
    ('{"pii_ssn"}', "overlaps", '{r"pii_.*"}', True),  # Decision 6.6
    ('{"a"}', "subset of", '{"a", "b"}', True), ('{"a", "c"}', "subset of", '{"a", "b"}', False),
    ("{}", "subset of", "{}", True), ('{"*"}', "subset of", '{"a"}', False),
    ('{"*"}', "subset of", '{"*"}', True), ('{"zz"}', "subset of", '{"*"}', True),
    ('{"ab"}', "subset of", '{w"a*"}', True),
    ('{"a", "b"}', "superset of", '{"a"}', True), ('{"a"}', "superset of", '{"a", "b"}', False),
    ('{"*"}', "superset of", '{"a"}', True), ('{"a"}', "superset of", '{"*"}', False),
    ('{"pii_x"}', "superset of", '{r"pii_.*"}', True),
    ('{"a"}', "superset of", '{r"b.*"}', False),
    ('{"a", "b"}', "==", '{"b", "a"}', True), ('{"a"}', "==", '{"a", "b"}', False),
    ('{"*"}', "==", '{"*"}', True), ('{"*"}', "==", '{"a"}', False),
    ('{"ax"}', "==", '{w"a*"}', True),
]


@pytest.mark.parametrize(("left", "op", "right", "expected"), COMPARISONS,
                         ids=[f"{a} {o} {b}" for a, o, b, _ in COMPARISONS])
def test_set_comparisons(left: str, op: str, right: str, expected: bool) -> None:
    tags = frozenset(eval(left.replace("{}", "set()")))  # noqa: S307 - test literals only
    session = MetaData(tags=tags)
    assert holds(f"@session.tags {op} {right}", session=session) is expected


@pytest.mark.parametrize(("tags", "test", "expected"), [
    (set(), "is empty", True), ({"a"}, "is empty", False), ({"*"}, "is empty", False),
    ({"*"}, "is universal", True), ({"a"}, "is universal", False),
])
def test_is_empty_and_universal(tags: set[str], test: str, expected: bool) -> None:
    assert holds(f"@session.tags {test}", session=MetaData(tags=frozenset(tags))) is expected
