"""Containers and metadata: per-element metadata, reads join the key, mutations join the container
(spec dual-llm 5)."""

from __future__ import annotations

from typing import Any

import pytest

from server.policy.metadata import MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, value_of

D = DEFAULT_META
BOTH = MAIL.join(DB)

CASES: list[tuple[str, str, Any, MetaData]] = [
    # name, program, value of final_return_value, its metadata
    ("display joins elements", "x = [1, get_number()]\nfinal_return_value = x", [1, 7], DB),
    ("element keeps its own", "x = [1, get_number()]\nfinal_return_value = x[0]", 1, D),
    ("element read", "x = [1, get_number()]\nfinal_return_value = x[1]", 7, DB),
    ("key joins element", "k = get_number() - 7\nx = [1, 2]\nfinal_return_value = x[k]", 1, DB),
    ("dict key metadata joins", "k = get_email()['subject']\nd = {k: 1}\nfinal_return_value = d", {"Hello": 1}, MAIL),
    ("dict element", "d = {'a': 1, 'b': get_number()}\nfinal_return_value = d['a']", 1, D),
    ("tool result elements inherit", "e = get_email()\nfinal_return_value = e['tags'][0]", "x", MAIL),
    ("append joins container", "l = []\nl.append(get_number())\nfinal_return_value = l", [7], DB),
    ("append keeps old elements clean", "l = [1]\nl.append(get_number())\nfinal_return_value = l[0]", 1, D),
    ("setitem joins container", "d = {}\nd['x'] = get_number()\nfinal_return_value = len(d)", 1, DB),
    ("extend joins", "l = [1]\nl.extend(get_email()['tags'])\nfinal_return_value = l", [1, "x", "y"], MAIL),
    ("update joins", "d = {'a': 1}\nd.update({'b': get_number()})\nfinal_return_value = d", {"a": 1, "b": 7}, DB),
    ("set add", "s = set()\ns.add(get_number())\nfinal_return_value = s", [7], DB),
    ("slice has container meta", "l = [1, get_number(), 3]\nfinal_return_value = l[2:]", [3], DB),
    ("len has container meta", "l = [get_number()]\nfinal_return_value = len(l)", 1, DB),
    ("string index", "s = get_email()['subject']\nfinal_return_value = s[0]", "H", MAIL),
    ("iteration gives element meta", "t = 0\nfor x in [1, 2, get_number()]:\n    if x < 5:\n        t += x\nfinal_return_value = t", 3, D),
    ("iteration over tool result", "t = ''\nfor x in get_email()['tags']:\n    t += x\nfinal_return_value = t", "xy", MAIL),
    ("dict items", "d = {'a': get_number()}\nfinal_return_value = d.items()[0][1]", 7, DB),
    ("get of present key", "d = {'a': 1, 'b': get_number()}\nfinal_return_value = d.get('a')", 1, D),
    ("get of absent key depends on container", "d = {'b': get_number()}\nfinal_return_value = d.get('a', 0)", 0, DB),
    ("nested", "d = {'a': {'b': [get_number()]}}\nfinal_return_value = d['a']['b'][0]", 7, DB),
    ("tuple in dict key", "d = {(1, 2): 'x'}\nfinal_return_value = d[(1, 2)]", "x", D),
    ("two sources", "final_return_value = [get_number(), get_email()]", [7, None], BOTH),
]


@pytest.mark.parametrize(("name", "source", "value", "expected_meta"), CASES, ids=[c[0] for c in CASES])
def test_container_metadata(name: str, source: str, value: Any, expected_meta: MetaData) -> None:
    got_value, got_meta = value_of(source)
    if value is not None and not (isinstance(value, list) and None in value):
        assert got_value == value
    assert got_meta == expected_meta


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("x = [1][5]", "IndexError"),
        ("x = {'a': 1}['b']", "KeyError"),
        ("x = {[1]: 2}", "TypeError"),
        ("x = {1}\ny = {[1]}", "TypeError"),
        ("x = 5[0]", "TypeError"),
        ("x = [1]['a']", "TypeError"),
    ],
)
def test_container_errors(source: str, error: str) -> None:
    from server.agents.dual_llm.interpreter import ProgramRuntimeError
    from tests.agents.interpreter.interp_helpers import run

    with pytest.raises(ProgramRuntimeError) as info:
        run(source)
    assert info.value.type_name == error


def test_key_error_message_is_the_key_repr() -> None:
    from server.agents.dual_llm.interpreter import ProgramRuntimeError
    from tests.agents.interpreter.interp_helpers import run

    with pytest.raises(ProgramRuntimeError) as info:
        run("e = get_email()\nx = e['missing']")
    assert info.value.message == "'missing'" and info.value.meta == MAIL
