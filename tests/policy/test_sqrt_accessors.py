"""Accessors and aggregations (spec sqrt 6.1): arguments, absent arguments, @args, @session, @result."""

from __future__ import annotations

import pytest

from server.policy.metadata import MetaData
from tests.policy.sqrt_helpers import arg, holds, meta, run

ARGS = {"a": arg(1, p={"db"}, c={"bob", "ann"}, t={"pii"}),
        "b": arg(2, p={"web"}, c={"bob"}, t={"x"})}

CASES = [
    ('a.producers == {"db"}', ARGS, True),
    ('a.consumers == {"bob", "ann"}', ARGS, True),
    ('a.tags == {"pii"}', ARGS, True),
    ("a.value == 1", ARGS, True),
    # absent arguments: null value, default metadata (Decision 6.1)
    ("zz.value == zz.value", ARGS, False),
    ('zz.value in {"*"}', ARGS, False),
    ("zz.tags is empty", ARGS, True),
    ("zz.producers is empty", ARGS, True),
    ("zz.consumers is universal", ARGS, True),
    # aggregations
    ('@args.producers == {"db", "web"}', ARGS, True),
    ('@args.producers.union == {"db", "web"}', ARGS, True),
    ('union of producers from args == {"db", "web"}', ARGS, True),
    ('@args.consumers.intersect == {"bob"}', ARGS, True),
    ('intersect of consumers from args == {"bob"}', ARGS, True),
    ('@args.consumers == {"bob", "ann"}', ARGS, True),
    ("@args.tags.intersect is empty", ARGS, True),
    # empty aggregation: the field's default for both union and intersect (Decision 6.1)
    ("@args.tags is empty", {}, True),
    ("@args.tags.intersect is empty", {}, True),
    ("@args.consumers is universal", {}, True),
    ("intersect of consumers from args is universal", {}, True),
    ("@args.producers.intersect is empty", {}, True),
    # the session has no value (Decision 4.4)
    ("@session.value == @session.value", {}, False),
    ('@session.value in {"*"}', {}, False),
]


@pytest.mark.parametrize(("pred", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_accessors(pred: str, args: dict, expected: bool) -> None:
    assert holds(pred, args) is expected


def test_session_fields() -> None:
    s = MetaData(producers=frozenset({"p"}), tags=frozenset({"t"}))
    assert holds('@session.tags == {"t"} and @session.producers == {"p"}', session=s)
    assert holds("@session.consumers is universal", session=s)


def test_result_accessors_in_result_phase() -> None:
    policy = """
    tool "t" { result {
        when @result.value == "secret" { @tags |= {"hit"}; }
        when @result.producers overlaps {"db"} and @tags overlaps {"pii"} { @tags |= {"both"}; }
    } }
    """
    _, result, _ = run(policy, "t", {"a": arg(p={"db"}, t={"pii"})}, result="secret")
    assert result == meta(p={"db"}, t={"pii", "hit", "both"})


def test_ctx_field_means_session_in_session_blocks() -> None:
    policy = 'tool "t" { session before { when @tags is empty { @tags |= {"seen"}; } } }'
    _, _, session = run(policy, "t")
    assert session == meta(t={"seen"})
    _, _, again = run(policy, "t", session=session)
    assert again == meta(t={"seen"})


def test_let_bodies_read_ctx_fields_in_the_context_of_their_use() -> None:
    policy = """
    let Ctx = @tags;
    tool "t" {
        session before { @session.tags |= {"s"}; }
        result { when "r" in Ctx { @tags |= {"result-ctx"}; } }
        session after { when "s" in Ctx { @tags |= {"session-ctx"}; } }
    }
    """
    _, result, session = run(policy, "t", {"a": arg(t={"r"})})
    assert result is not None and "result-ctx" in result.tags
    assert session.tags == {"s", "session-ctx"}
