"""Names and assignment: plain, tuple unpacking, subscript targets, augmented, `del`, context vars."""

from __future__ import annotations

from typing import Any

import pytest

from server.agents.dual_llm.interpreter import Namespace, ProgramRuntimeError
from server.policy.metadata import Labelled, MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, meta, run, value_of

D = DEFAULT_META

CASES: list[tuple[str, Any, MetaData]] = [
    ("x = 1\nfinal_return_value = x", 1, D),
    ("a = b = 2\nfinal_return_value = a + b", 4, D),
    ("a, b = 1, 2\nfinal_return_value = [a, b]", [1, 2], D),
    ("a, b = 1, 2\na, b = b, a\nfinal_return_value = (a, b)", [2, 1], D),
    ("(a, (b, c)) = (1, (2, 3))\nfinal_return_value = c", 3, D),
    ("[a, b] = 'xy'\nfinal_return_value = b", "y", D),
    ("x = 1\nx += 2\nx *= 3\nfinal_return_value = x", 9, D),
    ("s = 'a'\ns += 'b'\nfinal_return_value = s", "ab", D),
    ("d = {}\nd['k'] = 1\nd['k'] += 1\nfinal_return_value = d", {"k": 2}, D),
    ("l = [0, 0]\nl[1] = 5\nfinal_return_value = l", [0, 5], D),
    ("l = [[0], [1]]\nl[1][0] = 9\nfinal_return_value = l", [[0], [9]], D),
    ("d = {'a': 1, 'b': 2}\ndel d['a']\nfinal_return_value = d", {"b": 2}, D),
    # Tool data flows through names with its metadata.
    ("e = get_email()\nx = e\nfinal_return_value = x['subject']", "Hello", MAIL),
    ("n = get_number()\nn += 1\nfinal_return_value = n", 8, DB),
    ("d = {}\nd['n'] = get_number()\nfinal_return_value = d", {"n": 7}, DB),
]


@pytest.mark.parametrize(("source", "value", "expected_meta"), CASES)
def test_assignment(source: str, value: Any, expected_meta: MetaData) -> None:
    assert value_of(source) == (value, expected_meta)


def test_copy_on_write_is_documented_behaviour() -> None:
    """Containers are values: an alias is not changed by mutating the other name."""
    assert value_of("a = [1]\nb = a\nb.append(2)\nfinal_return_value = [a, b]")[0] == [[1], [1, 2]]


def test_mutating_a_subscript_rebinds_the_root() -> None:
    assert value_of("d = {'a': {'b': []}}\nd['a']['b'].append(1)\nfinal_return_value = d")[0] == {"a": {"b": [1]}}


def test_key_evaluated_once_in_augmented_assignment() -> None:
    result = run("d = {'hello': 1}\nd[echo('hello')] += 1\nfinal_return_value = d")
    assert result.final_return_value and result.final_return_value.value == {"hello": 2}


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("x = undefined_name", "NameError"),
        ("a, b = [1, 2, 3]", "ValueError"),
        ("a, b, c = [1, 2]", "ValueError"),
        ("x = 'abc'\nx[0] = 'z'", "TypeError"),
        ("x = {}\ndel x['missing']", "KeyError"),
        ("x = 5\nx.attr = 1", "AttributeError"),
    ],
)
def test_assignment_errors(source: str, error: str) -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run(source)
    assert info.value.type_name == error


def test_context_vars_are_bound_with_per_element_metadata() -> None:
    ctx = {"doc": Labelled({"title": "T", "n": [1, 2]}, MAIL)}
    assert value_of("final_return_value = doc['n'][0]", context_vars=ctx) == (1, MAIL)


def test_namespace_carries_over_between_runs() -> None:
    first = run("booking = get_number()")
    second = run("final_return_value = booking * 2", namespace=first.namespace)
    assert second.final_return_value == Labelled(14, DB)


def test_namespace_is_not_mutated_by_a_run() -> None:
    ns = Namespace.from_labelled({"x": Labelled(1)})
    run("x = 2", namespace=ns)
    assert ns.snapshot()["x"].value == 1


def test_tool_name_can_be_shadowed_by_a_variable() -> None:
    assert value_of("echo = 3\nfinal_return_value = echo")[0] == 3
    assert meta() == DEFAULT_META


WRITE_BACK: list[tuple[str, Any]] = [
    ("items = [{'n': 1}, {'n': 2}]\nfor it in items:\n    it['d'] = it['n'] * 2\nfinal_return_value = items",
     [{"n": 1, "d": 2}, {"n": 2, "d": 4}]),
    ("rows = [[1], [2]]\nfor r in rows:\n    r.append(0)\nfinal_return_value = rows", [[1, 0], [2, 0]]),
    ("items = [{'n': 1}]\nfor it in items:\n    it = {'n': 5}\nfinal_return_value = items", [{"n": 1}]),
    ("items = [{'n': 1}, {'n': 2}]\nfor it in items:\n    it['d'] = 1\n    break\nfinal_return_value = items",
     [{"n": 1, "d": 1}, {"n": 2}]),
    ("items = [{'n': 1}]\nfor it in items:\n    items = []\n    it['x'] = 1\nfinal_return_value = items", []),
]


@pytest.mark.parametrize(("source", "value"), WRITE_BACK)
def test_loop_variable_updates_are_written_back(source: str, value: Any) -> None:
    """Python aliasing for the common `for item in items: item[k] = v` (values are copy-on-write)."""
    assert value_of(source) == (value, D)


def test_written_back_elements_keep_metadata() -> None:
    source = "items = [{'n': 1}, {'n': 2}]\nfor it in items:\n    it['s'] = get_number()\nfinal_return_value = items"
    assert value_of(source) == ([{"n": 1, "s": 7}, {"n": 2, "s": 7}], DB)
    source = "items = [{'n': 1}]\nfor it in items:\n    it['s'] = get_number()\nfinal_return_value = items[0]['n']"
    assert value_of(source) == (1, D)
