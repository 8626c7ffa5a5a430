"""Type domains and ranges (spec sqrt 6.4): bool, int, float, str, datetime; every range form."""

from __future__ import annotations

import pytest

from tests.policy.sqrt_helpers import arg, holds

CASES = [
    # bool
    ("{bool true}", True, True), ("{bool true}", False, False), ("{bool true}", 1, False),
    ("{bool false}", False, True), ("{bool false}", 0, False),
    # int excludes floats and booleans (Decision 6.4)
    ("{int 1..9}", 5, True), ("{int 1..9}", 5.0, False), ("{int 1..9}", True, False),
    ("{int 1..9}", "5", False), ("{int 1..9}", 10, False), ("{int 1..9}", 1, True),
    ("{int 5}", 5, True), ("{int 5}", 6, False),
    # every range form
    ("{int 1<..9}", 1, False), ("{int 1<..9}", 9, True),
    ("{int 1..<9}", 9, False), ("{int 1..<9}", 1, True),
    ("{int 1<..<9}", 1, False), ("{int 1<..<9}", 9, False), ("{int 1<..<9}", 2, True),
    ("{int ..9}", -1000, True), ("{int ..9}", 10, False),
    ("{int ..<9}", 9, False), ("{int ..<9}", 8, True),
    ("{int 3..}", 3, True), ("{int 3..}", 2, False),
    ("{int 3<..}", 3, False), ("{int 3<..}", 4, True),
    ("{int -inf..+inf}", -99, True), ("{int 5..1}", 3, False),  # empty range
    ("{int 1 .. 9}", 5, True),  # spaces around the whole operator
    # float takes ints and floats, never booleans
    ("{float 0.0<..1000.0}", 250, True), ("{float 0.0<..1000.0}", 0.0, False),
    ("{float 0.0<..1000.0}", 1000.0, True), ("{float 0.5..1}", True, False),
    ("{float ..inf}", 1e300, True), ("{float 0..1}", float("nan"), False),
    # str
    ('{str "abc"}', "abc", True), ('{str "abc"}', "ABC", False),
    ('{str matching r"[a-z]+"}', "abc", True), ('{str matching r"[a-z]+"}', "abc1", False),
    ('{str matching r"a.c"}', "a\nc", True),  # dot-all (Decision 6.3)
    ('{str matching r"^ab$"}', "ab", True),  # anchors are harmless
    ('{str like w"a?c*"}', "abcdef", True), ('{str like w"a?c*"}', "ac", False),
    ('{str like w"*"}', "", True), ('{str like w"a*"}', "a\nb", True),
    ('{str like w"[ab]"}', "[ab]", True), ('{str like w"[ab]"}', "a", False),  # no classes
    ('{str like w"A*"}', "abc", False),  # case-sensitive
    ('{str matching r"[a-z]+" length 3..5}', "ab", False),
    ('{str matching r"[a-z]+" length 3..5}', "abcde", True),
    ('{str "é" length 1}', "é", True),  # code points, not bytes
    ('{str like w"*" length ..<3}', "abc", False),
    ('{str "x"}', 1, False),
    # datetime
    ('{datetime d"2025-01-06T09:00:00Z"..<d"2025-01-06T17:00:00Z"}', "2025-01-06T10:00:00Z", True),
    ('{datetime d"2025-01-06T09:00:00Z"..<d"2025-01-06T17:00:00Z"}', "2025-01-06", False),
    ('{datetime d"2025-01-06"..}', "2025-01-06T00:00:00", True),  # no offset means UTC
    ('{datetime d"2025-01-06"<..}', "2025-01-06T00:00:00Z", False),
    ('{datetime ..d"2025-01-06"}', 0, True),  # epoch seconds
    ('{datetime ..<d"1970-01-01T00:00:01Z"}', 1, False),
    ('{datetime "2025-01-01T01:30:00+02:00"}', "2024-12-31T23:30:00Z", True),
    ("{datetime 86400}", "1970-01-02T00:00:00Z", True),
    ("{datetime 86400}", 86400.0, True),
    ('{datetime d"2025-01-01"..}', "not a date", False),
    ('{datetime d"2025-01-01"..}', True, False),
    ('{datetime d"2025-01-01"..}', None, False),
]


@pytest.mark.parametrize(("domain", "value", "expected"), CASES,
                         ids=[f"{d}-{v!r}" for d, v, _ in CASES])
def test_domain_membership(domain: str, value: object, expected: bool) -> None:
    assert holds(f"x.value in {domain}", {"x": value}) is expected


def test_domain_let_in_set_position() -> None:
    lets = "let Port = int 1..1024;"
    assert holds("p.value in Port", {"p": 80}, lets=lets)
    assert not holds("p.value in Port", {"p": 8080}, lets=lets)
    assert holds('p.value in Port | {"http"}', {"p": "http"}, lets=lets)


def test_datetime_literal_on_left_is_covered_only_by_datetime_domains() -> None:
    assert holds('d"2025-01-01" in {datetime d"2024-01-01"..}')
    assert not holds('d"2025-01-01" in {"2025-01-01"}')
    assert holds('d"2025-01-01" in x.tags', {"x": arg(t={"*"})})
