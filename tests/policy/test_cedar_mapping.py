"""The call -> Cedar request mapping: values, metadata records, context and request."""

from __future__ import annotations

from typing import Any

import pytest

from server.policy.cedar.mapping import (
    MAX_VALUE_DEPTH,
    build_context,
    build_request,
    meta_record,
    to_cedar_value,
)
from server.policy.metadata import Labelled, MetaData


def _dec(text: str) -> dict[str, Any]:
    return {"__extn": {"fn": "decimal", "arg": text}}


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# (id, JSON value, representable, Cedar JSON)
VALUES: list[tuple[str, Any, bool, Any]] = [
    ("string", "x", True, "x"),
    ("bool", True, True, True),
    ("long", 42, True, 42),
    ("negative long", -7, True, -7),
    ("i64 max", 2**63 - 1, True, 2**63 - 1),
    ("beyond i64", 2**63, False, None),
    ("null", None, False, None),
    ("float, 4 digits", 1.2345, True, _dec("1.2345")),
    ("integral float", 5.0, True, _dec("5.0")),
    ("negative float", -0.5, True, _dec("-0.5")),
    ("float, 5 digits: never rounded", 1.23456, False, None),
    ("float noise", 0.1 + 0.2, False, None),
    ("float out of range", 1e20, False, None),
    ("nan", float("nan"), False, None),
    ("inf", float("inf"), False, None),
    ("list", [1, "a"], True, [1, "a"]),
    ("list with null", [1, None], False, None),
    ("object drops null attributes", {"a": None, "b": 1}, True, {"b": 1}),
    ("object with entity escape", {"__entity": {"type": "Agent", "id": "x"}}, False, None),
    ("object with extension escape", {"__extn": {"fn": "ip", "arg": "1.2.3.4"}}, False, None),
    ("nested escape", {"a": [{"__extn": 1}]}, False, None),
    ("deep nesting", _nest(MAX_VALUE_DEPTH + 1), False, None),
    ("allowed nesting", _nest(3), True, [[[1]]]),
]


@pytest.mark.parametrize(("name", "value", "ok", "cedar"), VALUES, ids=[v[0] for v in VALUES])
def test_value_mapping(name: str, value: Any, ok: bool, cedar: Any) -> None:
    assert to_cedar_value(value) == (ok, cedar)


def test_universal_sets_stay_star() -> None:
    assert meta_record(MetaData()) == {"producers": [], "consumers": ["*"], "tags": []}
    assert meta_record(MetaData(tags=frozenset({"b", "a"}))) == {
        "producers": [],
        "consumers": ["*"],
        "tags": ["a", "b"],
    }


def test_context_fills_mentioned_arguments_and_session() -> None:
    context = build_context(
        args={"a": Labelled(0.1 + 0.2, MetaData(tags=frozenset({"t"}))), "b": Labelled("x")},
        session_meta=MetaData(producers=frozenset({"p"})),
        mentioned={"c", "a"},
    )
    assert context == {
        "a": {"producers": [], "consumers": ["*"], "tags": ["t"]},  # value omitted
        "b": {"value": "x", "producers": [], "consumers": ["*"], "tags": []},
        "c": {"producers": [], "consumers": ["*"], "tags": []},
        "session": {"producers": ["p"], "consumers": ["*"], "tags": []},
    }


def test_argument_named_session_is_hidden_by_the_session_record() -> None:
    context = build_context(args={"session": Labelled("x")}, session_meta=MetaData())
    assert "value" not in context["session"]


def test_request_uses_entity_dicts_for_any_tool_name() -> None:
    request = build_request('we"ird\ntool', {})
    assert request["action"] == {"type": "Action", "id": 'we"ird\ntool'}
    assert request["resource"] == {"type": "Tool", "id": 'we"ird\ntool'}
    assert request["principal"] == {"type": "Agent", "id": "session"}
