"""Literals and escapes (spec sqrt 2.3): strings, raw literals, numbers, infinities, booleans."""

from __future__ import annotations

import math

import pytest

from server.policy.errors import PolicyLoadError
from server.policy.sqrt import ast as A
from server.policy.sqrt import parse
from tests.policy.sqrt_helpers import holds


def _first_element(text: str) -> object:
    let = parse(f"let S = {{{text}}};").declarations[0]
    assert isinstance(let, A.Let) and isinstance(let.body, A.SetLiteral)
    return let.body.elements[0]


@pytest.mark.parametrize(("source", "value"), [
    (r'"plain"', "plain"),
    (r'"a\\b"', "a\\b"),
    (r'"say \"hi\""', 'say "hi"'),
    (r'"line\nbreak"', "line\nbreak"),
    (r'"tab\there"', "tab\there"),
    (r'"cr\r"', "cr\r"),
    (r'"keep \q both"', "keep \\q both"),
    ('"raw\nnewline"', "raw\nnewline"),
    (r'"// not a comment"', "// not a comment"),
    (r'"/* nor this */"', "/* nor this */"),
    ('""', ""),
])
def test_string_escapes(source: str, value: str) -> None:
    elem = _first_element(source)
    assert isinstance(elem, A.StringLit) and elem.value == value


@pytest.mark.parametrize(("source", "pattern"), [
    (r'r"a\.b"', r"a\.b"),
    (r'r"a\\.b"', r"a\.b"),  # Decision 2.3: both denote a\.b
    (r'r"\\\\"', "\\\\"),  # one literal backslash
    (r'r"say \"x\""', 'say "x"'),
    (r'r"\d+\n"', r"\d+\n"),
])
def test_regex_escapes(source: str, pattern: str) -> None:
    elem = _first_element(source)
    assert isinstance(elem, A.RegexLit) and elem.pattern == pattern


@pytest.mark.parametrize(("source", "value"), [
    ("0", 0), ("42", 42), ("-7", -7), ("0.5", 0.5), ("-3.25", -3.25),
    ("inf", math.inf), ("+inf", math.inf), ("-inf", -math.inf),
])
def test_numbers(source: str, value: float) -> None:
    elem = _first_element(source)
    assert isinstance(elem, A.NumberLit) and elem.value == value and type(elem.value) is type(value)


@pytest.mark.parametrize("source", [
    "let S = {.5};", "let S = {5.};", "let S = {1e3};", "let S = {+5};", "let S = {+ inf};",
    'let S = {r "x"};', "let S = {true};", 'tool "t" { hard deny when x.value == 1.; }',
])
def test_invalid_literals(source: str) -> None:
    with pytest.raises(PolicyLoadError):
        parse(source)


@pytest.mark.parametrize(("pred", "value", "expected"), [
    ('x.value == "a\\"b"', 'a"b', True),
    ('x.value in {"a\\nb"}', "a\nb", True),
    ('x.value in {r"a\\.b"}', "a.b", True),
    ('x.value in {r"a\\.b"}', "axb", False),
    ('x.value in {r"a\\\\.b"}', "a.b", True),
    ('x.value in {r"\\\\\\\\"}', "\\", True),
    ('x.value in {w"a\\*"}', "a*", True),
    ('x.value in {w"a\\*"}', "ab", False),
    ("x.value == true", True, True),
    ("x.value == true", 1, False),
    ("x.value == 2", 2.0, True),
    ("x.value == -inf", float("-inf"), True),
    ('x.value == d"2025-01-01T01:30:00+02:00"', "2024-12-31T23:30:00Z", True),
    ('x.value == d"2025-01-01"', "2025-01-01T00:00:00Z", True),
    ('x.value == d"1970-01-01T00:00:10Z"', 10, True),
])
def test_literal_semantics(pred: str, value: object, expected: bool) -> None:
    assert holds(pred, {"x": value}) is expected


def test_comments_are_ignored_and_doc_comments_describe() -> None:
    program = parse("""
    // a comment
    /* a block
       comment */ /// the tool
    // between doc and item
    //// four slashes are still doc
    tool "t" { hard deny always; }
    """)
    decl = program.declarations[0]
    assert isinstance(decl, A.ToolBlock)
    assert decl.doc == ("the tool", "four slashes are still doc")


def test_block_comments_do_not_nest() -> None:
    with pytest.raises(PolicyLoadError):
        parse("/* outer /* inner */ still comment */ let S = {};")


def test_keywords_are_names_elsewhere() -> None:
    program = parse('let tool = {"a"}; tool "t" { hard deny when when.value in tool and '
                    'from.tags overlaps tool; }')
    assert [type(d).__name__ for d in program.declarations] == ["Let", "ToolBlock"]
    assert holds('when.value in tool', {"when": "a"}, lets='let tool = {"a"};')


def test_keyword_reading_wins() -> None:
    with pytest.raises(PolicyLoadError):
        parse('tool "t" { hard deny when not.value in {"a"}; }')
