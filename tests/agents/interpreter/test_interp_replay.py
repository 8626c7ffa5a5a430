"""Suspend and replay: the same program and answers give the same calls and result (spec dual-llm 7)."""

from __future__ import annotations

import pytest

from server.agents.dual_llm.interpreter import Suspend
from tests.agents.interpreter.interp_helpers import ScriptedGateway, run

PROGRAM = """
e = get_email()
a = ask_user('first?')
seen = {a, 'x', 'y', e['subject']}
b = ask_user(f'second after {a}?')
for s in seen:
    echo(s)
final_return_value = [a, b, sorted(seen)]
"""


def test_suspend_then_replay_reaches_the_same_point() -> None:
    first = ScriptedGateway(ledger=[])
    with pytest.raises(Suspend) as info:
        run(PROGRAM, gateway=first)
    assert info.value.tool == "ask_user" and info.value.payload == "first?"

    second = ScriptedGateway(ledger=["yes"])
    with pytest.raises(Suspend) as info:
        run(PROGRAM, gateway=second)
    assert info.value.payload == "second after yes?"
    assert [c[0] for c in second.calls[: len(first.calls)]] == [c[0] for c in first.calls]

    third = ScriptedGateway(ledger=["yes", "no"])
    result = run(PROGRAM, gateway=third)
    assert result.final_return_value is not None
    assert result.final_return_value.value == ["yes", "no", ["Hello", "x", "y", "yes"]]


def test_runs_are_deterministic() -> None:
    runs = [ScriptedGateway(ledger=["b", "c"]) for _ in range(3)]
    results = [run(PROGRAM, gateway=g) for g in runs]
    assert all(g.calls == runs[0].calls for g in runs)
    assert len({(str(r.final_return_value), r.nodes, str(r.snapshot())) for r in results}) == 1


def test_set_iteration_follows_insertion_order() -> None:
    gateway = ScriptedGateway(ledger=["z", "q"])
    run(PROGRAM, gateway=gateway)
    assert [c[1]["x"][0] for c in gateway.calls if c[0] == "echo"] == ["z", "x", "y", "Hello"]


def test_suspend_inside_try_is_not_caught_and_skips_finally() -> None:
    gateway = ScriptedGateway()
    with pytest.raises(Suspend):
        run("try:\n    ask_user('q')\nexcept Exception:\n    echo(1)\nfinally:\n    echo(2)", gateway=gateway)
    assert [c[0] for c in gateway.calls] == ["ask_user"]


def test_node_limit_is_hit_at_the_same_point_every_time() -> None:
    from server.agents.dual_llm.interpreter import LimitExceeded, Limits

    source = "x = []\nfor i in range(10000):\n    x.append(echo(i))"
    seen = []
    for _ in range(2):
        gateway = ScriptedGateway()
        with pytest.raises(LimitExceeded) as info:
            run(source, gateway=gateway, limits=Limits(max_nodes=500))
        seen.append((len(gateway.calls), info.value.limit, info.value.line))
    assert seen[0] == seen[1] and seen[0][1] == "max_nodes"
