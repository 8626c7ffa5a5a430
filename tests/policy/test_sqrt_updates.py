"""Updates (spec sqrt 10): assignment operators, targets, phases, ordering, when groups."""

from __future__ import annotations

import pytest

from server.policy.metadata import MetaData
from server.policy.sqrt import load_policy
from tests.policy.sqrt_helpers import arg, meta, run

START = {"a": arg(p={"p0"}, t={"t0", "t1"})}

OPS = [
    ('@tags = {"x"}', {"x"}),
    ('@tags |= {"x"}', {"t0", "t1", "x"}),
    ('@tags &= {"t0", "x"}', {"t0"}),
    ('@tags -= {"t0"}', {"t1"}),
    ('@tags ^= {"t0", "x"}', {"t1", "x"}),
    ('@tags = @tags with "y" without "t0"', {"t1", "y"}),
    ("@tags = {}", set()),
    ('@tags |= {"*"}', {"*"}),
]


@pytest.mark.parametrize(("update", "tags"), OPS, ids=[o[0] for o in OPS])
def test_assignment_operators(update: str, tags: set[str]) -> None:
    _, result, _ = run(f'tool "t" -> {update};', "t", START)
    assert result is not None and result.tags == frozenset(tags)


@pytest.mark.parametrize(("policy", "result_meta", "session_meta"), [
    ('tool "t" -> @producers |= {"r"};', meta({"p0", "r"}, t={"t0", "t1"}), meta()),
    ('tool "t" -> result @consumers = {"bob"};', meta({"p0"}, {"bob"}, {"t0", "t1"}), meta()),
    ('tool "t" -> session @tags |= {"s"};', meta({"p0"}, t={"t0", "t1"}), meta(t={"s"})),
    ('tool "t" -> session after @tags |= @result.tags;', meta({"p0"}, t={"t0", "t1"}),
     meta(t={"t0", "t1"})),
    ('tool "t" -> session before @tags |= {"b"};', meta({"p0"}, t={"t0", "t1"}), meta(t={"b"})),
    ('tool "t" -> @tags = {} when a.tags overlaps {"t0"};', meta({"p0"}), meta()),
    ('tool "t" -> @tags = {} when a.tags overlaps {"zz"};', meta({"p0"}, t={"t0", "t1"}), meta()),
    ('tool "t" { result { @session.tags |= {"s"}; @result.tags -= {"t1"}; } }',
     meta({"p0"}, t={"t0"}), meta(t={"s"})),
    ('tool "t" { session after { @result.tags = {"late"}; @tags |= @result.tags; } }',
     meta({"p0"}, t={"late"}), meta(t={"late"})),
])
def test_targets_and_phases(policy: str, result_meta: MetaData, session_meta: MetaData) -> None:
    _, result, session = run(policy, "t", START)
    assert (result, session) == (result_meta, session_meta)


def test_statements_run_in_priority_then_source_order() -> None:
    policy = """
    tool "t" { result { @tags = {"low"}; } }
    tool "t" { priority 5; result { @tags = {"high"}; } }
    tool "t" { result { @tags |= {"second"}; } result { @tags |= {"third"}; } }
    """
    _, result, _ = run(policy, "t")
    assert result is not None and result.tags == {"low", "second", "third"}


def test_each_statement_sees_earlier_changes_and_when_evaluates_once() -> None:
    policy = """
    tool "t" { result {
        @tags |= {"a"};
        when "a" in @tags { @tags -= {"a"}; @tags |= {"b"}; }
    } }
    """
    _, result, _ = run(policy, "t")
    assert result is not None and result.tags == {"b"}


def test_before_updates_persist_when_denied() -> None:
    p = load_policy('tool "t" { session before { @tags |= {"tried"}; } hard deny always; }')
    rec = p.check(tool="t", args={}, session_meta=MetaData())
    assert rec.verdict.value == "hard_denied" and rec.session_meta.tags == {"tried"}


def test_preset_tag_comes_before_user_result_updates() -> None:
    from server.policy.engine import Presets

    policy = 'tool "t" { result { when "__non_executable" in @tags { @tags -= {"__non_executable"}; @tags |= {"seen"}; } } }'
    _, result, _ = run(policy, "t", presets=Presets())
    assert result is not None and result.tags == {"seen"}


@pytest.mark.parametrize("mode", ["merge", "replace", "ignore"])
def test_result_updates_run_in_every_combine_mode(mode: str) -> None:
    raw = {"value": 1, "meta": {"producers": ["v"], "consumers": ["*"], "tags": []},
           "is_sequrity_var": True, "combine_meta": mode}
    _, result, _ = run('tool "t" -> @tags |= {"u"};', "t", result=raw)
    assert result is not None and "u" in result.tags


@pytest.mark.parametrize("raw", [
    {"value": 1, "meta": {"producers": [], "consumers": ["*"]}, "is_sequrity_var": True},
    {"value": 1, "meta": {"producers": [], "consumers": ["*"], "tags": []}, "is_sequrity_var": 1},
    {"meta": {"producers": [], "consumers": ["*"], "tags": []}, "is_sequrity_var": True},
])
def test_malformed_wrappers_are_plain_values(raw: dict) -> None:
    p = load_policy("")
    done = p.complete(tool="t", args={}, session_meta=MetaData(), result=raw)
    assert done.result.value == raw
