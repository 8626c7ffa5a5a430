"""Allowlisted builtins: values and metadata."""

from __future__ import annotations

from typing import Any

import pytest

from server.agents.dual_llm.interpreter import ProgramRuntimeError
from server.policy.metadata import MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, evaluate, run, value_of

D = DEFAULT_META

CASES: list[tuple[str, Any, MetaData]] = [
    ("len('abc')", 3, D),
    ("len({'a': 1})", 1, D),
    ("len(range(5))", 5, D),
    ("str(12)", "12", D),
    ("str([1, 'a'])", "[1, 'a']", D),
    ("str(None)", "None", D),
    ("repr('a')", "'a'", D),
    ("repr((1,))", "(1,)", D),
    ("repr(set())", "set()", D),
    ("int('42')", 42, D),
    ("int('ff', 16)", 255, D),
    ("int(3.9)", 3, D),
    ("float('1.5')", 1.5, D),
    ("bool([])", False, D),
    ("bool('x')", True, D),
    ("list('ab')", ["a", "b"], D),
    ("list(range(3))", [0, 1, 2], D),
    ("list({'a': 1})", ["a"], D),
    ("tuple([1, 2])", [1, 2], D),
    ("set([2, 1, 2])", [1, 2], D),
    ("dict([('a', 1)], b=2)", {"a": 1, "b": 2}, D),
    ("dict(a=1)", {"a": 1}, D),
    ("list(range(1, 10, 3))", [1, 4, 7], D),
    ("list(enumerate('ab'))", [[0, "a"], [1, "b"]], D),
    ("list(enumerate('ab', start=1))", [[1, "a"], [2, "b"]], D),
    ("list(zip([1, 2], 'ab'))", [[1, "a"], [2, "b"]], D),
    ("sorted([3, 1, 2])", [1, 2, 3], D),
    ("sorted(['b', 'A', 'c'], key=str)", ["A", "b", "c"], D),
    ("sorted(['bb', 'a'], key=len, reverse=True)", ["bb", "a"], D),
    ("list(reversed([1, 2, 3]))", [3, 2, 1], D),
    ("min([3, 1, 2])", 1, D),
    ("max(3, 7, 5)", 7, D),
    ("max([], default=0)", 0, D),
    ("max(['a', 'ccc', 'bb'], key=len)", "ccc", D),
    ("sum([1, 2, 3])", 6, D),
    ("sum([1, 2], 10)", 13, D),
    ("abs(-3)", 3, D),
    ("round(2.567, 2)", 2.57, D),
    ("round(2.5)", 2, D),
    ("any([0, 1])", True, D),
    ("all([1, 0])", False, D),
    ("all([])", True, D),
    ("isinstance('a', str)", True, D),
    ("isinstance(1, (str, float))", False, D),
    ("isinstance([1], list)", True, D),
    ("isinstance(True, int)", True, D),
    # Metadata
    ("len(get_email()['tags'])", 2, MAIL),
    ("str(get_number())", "7", DB),
    ("max([1, get_number(), 3])", 7, DB),
    ("min([1, get_number(), 3])", 1, DB),
    ("sorted([get_number(), 1])", [1, 7], DB),
    ("sum([1, get_number()])", 8, DB),
    ("int(get_email()['body'].split()[-1][:-1])", 4711, MAIL),
    ("isinstance(get_number(), int)", True, DB),
]


@pytest.mark.parametrize(("expr", "value", "expected_meta"), CASES)
def test_builtin(expr: str, value: Any, expected_meta: MetaData) -> None:
    assert evaluate(expr) == (value, expected_meta)


def test_sorted_keeps_element_metadata() -> None:
    assert value_of("l = sorted([get_number(), 1])\nfinal_return_value = l[0]") == (1, D)


def test_print_collects_lines_with_metadata() -> None:
    result = run("print('a', 1)\nprint(get_number(), sep='-', end='!')\nprint()")
    assert [(p.value, p.meta) for p in result.printed] == [("a 1", D), ("7!", DB), ("", D)]


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        ("len(5)", "TypeError"),
        ("int('x')", "ValueError"),
        ("int([1])", "TypeError"),
        ("min([])", "ValueError"),
        ("sum(['a'])", "TypeError"),
        ("sorted([1, 'a'])", "TypeError"),
        ("range('a')", "TypeError"),
        ("isinstance(1, 2)", "TypeError"),
        ("len()", "TypeError"),
        ("sorted([1], cmp=1)", "TypeError"),
        ("abs('a')", "TypeError"),
        ("dict([1])", "ValueError"),
    ],
)
def test_builtin_errors(expr: str, error: str) -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        evaluate(expr)
    assert info.value.type_name == error


@pytest.mark.parametrize("name", ["eval", "exec", "open", "compile", "getattr", "setattr", "globals", "vars", "type", "input", "help", "dir", "id", "hash", "iter", "next", "object", "memoryview", "breakpoint"])
def test_non_allowlisted_builtins_do_not_exist(name: str) -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run(f"x = {name}")
    assert info.value.type_name == "NameError"
