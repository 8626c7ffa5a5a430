"""Allowlisted methods of str, list, dict, set, int, float: values and metadata."""

from __future__ import annotations

from typing import Any

import pytest

from server.agents.dual_llm.interpreter import ProgramRuntimeError
from server.policy.metadata import MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, evaluate, value_of

D = DEFAULT_META

STR: list[tuple[str, Any]] = [
    ("'Ab'.upper()", "AB"),
    ("'Ab'.lower()", "ab"),
    ("'  x '.strip()", "x"),
    ("'xxaxx'.strip('x')", "a"),
    ("'a,b,,c'.split(',')", ["a", "b", "", "c"]),
    ("'a b  c'.split()", ["a", "b", "c"]),
    ("'a,b,c'.rsplit(',', 1)", ["a,b", "c"]),
    ("'l1\\nl2'.splitlines()", ["l1", "l2"]),
    ("'-'.join(['a', 'b'])", "a-b"),
    ("'aXbX'.replace('X', '-')", "a-b-"),
    ("'abc'.startswith('ab')", True),
    ("'abc'.startswith(('x', 'a'))", True),
    ("'abc'.endswith('c')", True),
    ("'abcb'.find('b')", 1),
    ("'abcb'.rfind('b')", 3),
    ("'abcb'.count('b')", 2),
    ("'abc'.index('c')", 2),
    ("'123'.isdigit()", True),
    ("'ab'.isalpha()", True),
    ("'hello world'.title()", "Hello World"),
    ("'hello'.capitalize()", "Hello"),
    ("'7'.zfill(3)", "007"),
    ("'a'.center(5, '*')", "**a**"),
    ("'a'.ljust(3, '.')", "a.."),
    ("'k=v'.partition('=')", ["k", "=", "v"]),
    ("'prefix_x'.removeprefix('prefix_')", "x"),
    ("'{} {}'.format('a', 1)", "a 1"),
    ("'{0}-{0}'.format('r')", "r-r"),
    ("'{name}!'.format(name='bob')", "bob!"),
    ("'{:>4}|{:.2f}'.format('a', 1.234)", "   a|1.23"),
    ("'{!r}'.format('q')", "'q'"),
]
LIST: list[tuple[str, Any]] = [
    ("l = [1]\nl.append(2)\nfinal_return_value = l", [1, 2]),
    ("l = [1]\nl.extend((2, 3))\nfinal_return_value = l", [1, 2, 3]),
    ("l = [1, 3]\nl.insert(1, 2)\nfinal_return_value = l", [1, 2, 3]),
    ("l = [1, 2, 3]\nx = l.pop()\nfinal_return_value = [x, l]", [3, [1, 2]]),
    ("l = [1, 2, 3]\nx = l.pop(0)\nfinal_return_value = [x, l]", [1, [2, 3]]),
    ("l = [1, 2, 1]\nl.remove(1)\nfinal_return_value = l", [2, 1]),
    ("l = [3, 1, 2]\nl.sort()\nfinal_return_value = l", [1, 2, 3]),
    ("l = ['bb', 'a']\nl.sort(key=len)\nfinal_return_value = l", ["a", "bb"]),
    ("l = [1, 2]\nl.reverse()\nfinal_return_value = l", [2, 1]),
    ("l = [1, 2]\nl.clear()\nfinal_return_value = l", []),
    ("final_return_value = [1, 2, 2].count(2)", 2),
    ("final_return_value = [1, 2].index(2)", 1),
    ("l = [1]\nm = l.copy()\nm.append(2)\nfinal_return_value = l", [1]),
    ("final_return_value = (1, 2, 1).count(1)", 2),
]
DICT: list[tuple[str, Any]] = [
    ("final_return_value = {'a': 1}.get('a')", 1),
    ("final_return_value = {'a': 1}.get('b', 0)", 0),
    ("final_return_value = {'a': 1}.get('b')", None),
    ("final_return_value = {'a': 1, 'b': 2}.keys()", ["a", "b"]),
    ("final_return_value = {'a': 1}.values()", [1]),
    ("final_return_value = {'a': 1}.items()", [["a", 1]]),
    ("d = {'a': 1}\nx = d.pop('a')\nfinal_return_value = [x, d]", [1, {}]),
    ("d = {}\nx = d.pop('a', 5)\nfinal_return_value = x", 5),
    ("d = {}\nd.setdefault('k', []).append(1)\nfinal_return_value = d", {"k": [1]}),
    ("d = {}\nd.setdefault('k', {})['x'] = 1\nfinal_return_value = d", {"k": {"x": 1}}),
    ("g = {'a': {}}\ng['a'].setdefault('z', []).append(3)\nfinal_return_value = g", {"a": {"z": [3]}}),
    ("d = {}\nx = d.setdefault('k', 3)\nfinal_return_value = [x, d]", [3, {"k": 3}]),
    ("d = {'a': 1}\nd.update(b=2)\nfinal_return_value = d", {"a": 1, "b": 2}),
    ("d = {'a': 1}\nd.update({'a': 3})\nfinal_return_value = d", {"a": 3}),
    ("d = {'a': 1}\nd.clear()\nfinal_return_value = d", {}),
]
SET: list[tuple[str, Any]] = [
    ("s = {1}\ns.add(2)\nfinal_return_value = s", [1, 2]),
    ("s = {1, 2}\ns.remove(1)\nfinal_return_value = s", [2]),
    ("s = {1}\ns.discard(5)\nfinal_return_value = s", [1]),
    ("s = {1}\ns.update([2, 3])\nfinal_return_value = s", [1, 2, 3]),
    ("final_return_value = {1, 2}.union([3])", [1, 2, 3]),
    ("final_return_value = {1, 2}.intersection({2, 3})", [2]),
    ("final_return_value = {1, 2}.difference({2})", [1]),
    ("final_return_value = {1, 2}.symmetric_difference({2, 3})", [1, 3]),
    ("final_return_value = {1}.issubset({1, 2})", True),
    ("final_return_value = {1, 2}.issuperset({1})", True),
    ("final_return_value = {1}.isdisjoint({2})", True),
]
NUM: list[tuple[str, Any]] = [
    ("final_return_value = (255).bit_length()", 8),
    ("final_return_value = (2.0).is_integer()", True),
]


def _program(src: str) -> str:
    return src if "final_return_value" in src else f"final_return_value = {src}"


@pytest.mark.parametrize(("source", "value"), STR + LIST + DICT + SET + NUM)
def test_method(source: str, value: Any) -> None:
    assert value_of(_program(source)) == (value, D)


META: list[tuple[str, Any, MetaData]] = [
    ("get_email()['subject'].upper()", "HELLO", MAIL),
    ("'-'.join(get_email()['tags'])", "x-y", MAIL),
    ("'{}!'.format(get_number())", "7!", DB),
    ("'abc'.startswith(get_email()['tags'][0])", False, MAIL),
    ("{'a': get_number()}.get('a')", 7, DB),
    ("{'a': get_number(), 'b': 1}.get('b')", 1, D),
    ("[get_number(), 1].index(1)", 1, DB),
]


@pytest.mark.parametrize(("expr", "value", "expected_meta"), META)
def test_method_metadata(expr: str, value: Any, expected_meta: MetaData) -> None:
    assert evaluate(expr) == (value, expected_meta)


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        ("'a'.encode()", "AttributeError"),
        ("[1].nosuch()", "AttributeError"),
        ("'a'.upper", "TypeError"),
        ("[].pop()", "IndexError"),
        ("[1].remove(2)", "ValueError"),
        ("{1}.remove(2)", "KeyError"),
        ("{}.pop('x')", "KeyError"),
        ("'a'.index('z')", "ValueError"),
        ("'-'.join([1, 2])", "TypeError"),
        ("'{}'.format()", "IndexError"),
        ("(5).real", "AttributeError"),
    ],
)
def test_method_errors(expr: str, error: str) -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        evaluate(expr)
    assert info.value.type_name == error
