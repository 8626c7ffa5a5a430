"""Namespaces: JSON export (spec dual-llm 4) and the lossless round trip kept between requests."""

from __future__ import annotations

import json

import pytest

from server.agents.dual_llm.interpreter import Namespace
from server.agents.dual_llm.interpreter.codec import NamespaceCodecError
from server.policy.metadata import Labelled
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, run

D = DEFAULT_META

PROGRAM = """
import json
import re
from datetime import date, datetime, timedelta, timezone
e = get_email()
n = get_number()
mixed = [1, n, 'a']
pair = (n, 'b')
tags = {'t2', 't1'}
doc = {'k': e['subject'], 3: [n], (1, 2): None}
when = date(2024, 1, 2)
stamp = datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc)
delta = timedelta(hours=1)
err = ValueError(e['subject'])
big = 2 ** 10000
nums = range(3)
pat = re.compile('a+')
inf = float('inf')
"""


def test_snapshot_is_json_as_the_spec_says() -> None:
    snap = run(PROGRAM).snapshot()
    assert snap["tags"] == Labelled(["t1", "t2"], D)
    assert snap["pair"] == Labelled([7, "b"], DB)
    assert snap["when"].value == "2024-01-02"
    assert snap["stamp"].value == "2024-01-02T03:04:00+00:00"
    assert snap["err"] == Labelled({"error": "ValueError", "message": "Hello"}, MAIL)
    assert snap["doc"].value == {"k": "Hello", "3": [7], "(1, 2)": None}
    assert "json" not in snap and "date" not in snap
    json.dumps({k: v.value for k, v in snap.items() if k not in ("big", "pat")})


def test_round_trip_keeps_types_and_per_element_metadata() -> None:
    ns = run(PROGRAM).namespace
    data = json.loads(json.dumps(ns.to_json()))
    back = Namespace.from_json(data)
    assert set(back) == set(ns)
    for name in ns:
        assert back.values[name][1] == ns.values[name][1], name
        if name not in ("pat", "json", "re"):
            assert back.values[name][0] == ns.values[name][0], name
    # Per-element metadata survives: the literal element is still clean.
    follow = run("final_return_value = [mixed[0], doc['k'], pair[1], delta.seconds, nums[2]]", namespace=back)
    assert follow.final_return_value == Labelled([1, "Hello", "b", 3600, 2], MAIL)
    assert run("final_return_value = mixed[0]", namespace=back).final_return_value == Labelled(1, D)
    assert run("final_return_value = json.dumps(pat.findall('aab'))", namespace=back).final_return_value == Labelled('["aa"]', D)


@pytest.mark.parametrize(
    "data",
    [
        {"version": 2, "values": {}},
        {"version": 1, "values": {"x": {"t": "object", "v": "os"}}},
        {"version": 1, "values": {"x": {"t": "builtin", "v": "eval"}}},
        {"version": 1, "values": {"x": {"t": "module", "v": "os"}}},
        {"version": 1, "values": {"_x": {"t": "int", "v": 1}}},
        {"version": 1, "values": {"x": {"t": "list", "v": [{"t": "int"}]}}},
        {"version": 1, "values": {"x": {"t": "int", "v": 1, "m": {"bad": []}}}},
    ],
)
def test_malformed_namespaces_are_rejected(data: dict[str, object]) -> None:
    with pytest.raises(NamespaceCodecError):
        Namespace.from_json(data)


def test_from_labelled_lifts_plain_data() -> None:
    ns = Namespace.from_labelled({"v": Labelled({"a": [1]}, MAIL)})
    assert ns.snapshot()["v"] == Labelled({"a": [1]}, MAIL)
    assert ns.get("missing") is None


def test_too_deep_stored_namespace_is_rejected() -> None:
    entry: dict[str, object] = {"t": "list", "v": []}
    for _ in range(500):
        entry = {"t": "list", "v": [entry]}
    with pytest.raises(NamespaceCodecError):
        Namespace.from_json({"version": 1, "values": {"x": entry}})


def test_a_run_never_leaves_an_unexportable_value() -> None:
    from server.agents.dual_llm.interpreter import LimitExceeded

    with pytest.raises(LimitExceeded) as info:
        run("a = []\nfor i in range(100):\n    a = [a]")
    assert info.value.limit == "max_depth"
    ok = run("a = []\nfor i in range(60):\n    a = [a]")
    json.dumps(ok.namespace.to_json())
