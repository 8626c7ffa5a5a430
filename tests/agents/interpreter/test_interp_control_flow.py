"""Control flow (`if`, `for`, `break`/`continue`/`else`) and the three modes (spec dual-llm 5)."""

from __future__ import annotations

from typing import Any

import pytest

from server.agents.dual_llm.interpreter import ControlFlowViolation, Mode
from server.policy.branching import branch_violations
from server.policy.engine import BranchingMetaPolicy
from server.policy.metadata import MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, ScriptedGateway, run, value_of

D = DEFAULT_META
BOTH = MAIL.join(DB)

FLOW: list[tuple[str, Any]] = [
    ("x = 0\nif 1 > 2:\n    x = 1\nelif 2 > 1:\n    x = 2\nelse:\n    x = 3\nfinal_return_value = x", 2),
    ("t = 0\nfor i in range(5):\n    if i == 3:\n        break\n    t += i\nfinal_return_value = t", 3),
    ("t = 0\nfor i in range(5):\n    if i % 2:\n        continue\n    t += i\nfinal_return_value = t", 6),
    ("r = 'none'\nfor i in range(3):\n    pass\nelse:\n    r = 'done'\nfinal_return_value = r", "done"),
    ("r = 'none'\nfor i in range(3):\n    break\nelse:\n    r = 'done'\nfinal_return_value = r", "none"),
    ("t = 0\nfor i in range(3):\n    for j in range(3):\n        if j == 1:\n            break\n        t += 1\nfinal_return_value = t", 3),
    ("t = []\nfor k, v in {'a': 1}.items():\n    t.append(k + str(v))\nfinal_return_value = t", ["a1"]),
    ("t = 0\nfor c in 'abc':\n    t += 1\nfinal_return_value = t", 3),
]


@pytest.mark.parametrize(("source", "value"), FLOW)
def test_flow(source: str, value: Any) -> None:
    assert value_of(source) == (value, D)


BRANCHY = """
x = 'low'
n = get_number()
if n > 5:
    x = 'high'
final_return_value = x
"""
LOOPY = """
out = []
for t in get_email()['tags']:
    out.append('seen')
final_return_value = out[0]
"""
TOOL_IN_BRANCH = """
if get_number() > 5:
    send_email('bob@example.com', 'hi')
"""
BREAKY = """
flag = 'none'
for i in range(5):
    if i == get_number():
        break
flag = 'after'
final_return_value = flag
"""
CAUGHT = """
r = 'ok'
try:
    x = get_email()['missing']
except KeyError:
    r = 'missing'
final_return_value = r
"""
PARSED = """
a = parse_with_ai(get_email()['body'])
b = 'later'
final_return_value = b
"""

MODE_CASES: list[tuple[str, str, Mode, MetaData]] = [
    ("if in standard", BRANCHY, "standard", D),
    ("if in strict", BRANCHY, "strict", DB),
    ("for in standard", LOOPY, "standard", D),
    ("for in strict", LOOPY, "strict", MAIL),
    ("break in strict is sticky", BREAKY, "strict", DB),
    ("caught error in strict is sticky", CAUGHT, "strict", MAIL),
    ("caught error in standard", CAUGHT, "standard", D),
    ("parse_with_ai taints the rest in strict", PARSED, "strict", MAIL),
    ("parse_with_ai in standard", PARSED, "standard", D),
]


@pytest.mark.parametrize(("name", "source", "mode", "expected_meta"), MODE_CASES, ids=[c[0] for c in MODE_CASES])
def test_mode_metadata(name: str, source: str, mode: Mode, expected_meta: MetaData) -> None:
    assert value_of(source, mode=mode)[1] == expected_meta


@pytest.mark.parametrize(("mode", "expected"), [("standard", D), ("strict", DB)])
def test_tool_arguments_inside_a_block(mode: Mode, expected: MetaData) -> None:
    gateway = ScriptedGateway()
    run(TOOL_IN_BRANCH, gateway=gateway, mode=mode)
    name, args, context = gateway.calls[-1]
    assert name == "send_email"
    assert args["to"][1] == expected and args["body"][1] == expected
    assert context == expected


def _policy(**lists: frozenset[str]) -> Any:
    policy = BranchingMetaPolicy(mode="deny", **lists)

    def check(meta: MetaData) -> str | None:
        fields = branch_violations(policy, meta)
        return f"condition metadata violates branching_meta_policy ({', '.join(fields)})" if fields else None

    return check


CUSTOM_CASES: list[tuple[str, str, bool]] = [
    ("if on db data", BRANCHY, True),
    ("loop over mail data", LOOPY, False),
    ("conditional expression", "x = 1 if get_number() else 2", True),
    ("boolean short-circuit", "x = get_number() and 'y'", True),
    ("trusted condition", "x = 1\nif x > 0:\n    x = 2", False),
    ("comprehension over db", "x = [i for i in range(get_number())]", True),
]


@pytest.mark.parametrize(("name", "source", "violates"), CUSTOM_CASES, ids=[c[0] for c in CUSTOM_CASES])
def test_custom_mode_branch_check(name: str, source: str, violates: bool) -> None:
    check = _policy(producers=frozenset({"db"}))
    if violates:
        with pytest.raises(ControlFlowViolation) as info:
            run(source, mode="custom", branch_check=check)
        assert "Control flow violation" in str(info.value)
        assert "db" in info.value.meta.producers
    else:
        run(source, mode="custom", branch_check=check)


def test_custom_mode_stops_before_the_branch_runs() -> None:
    gateway = ScriptedGateway()
    with pytest.raises(ControlFlowViolation) as info:
        run(TOOL_IN_BRANCH, gateway=gateway, mode="custom", branch_check=_policy(producers=frozenset({"db"})))
    assert [c[0] for c in gateway.calls] == ["get_number"]
    assert info.value.line == 2


def test_control_flow_violation_is_not_catchable() -> None:
    source = "try:\n    if get_number():\n        x = 1\nexcept Exception:\n    x = 2"
    with pytest.raises(ControlFlowViolation):
        run(source, mode="custom", branch_check=_policy(producers=frozenset({"db"})))


def test_branch_check_unused_outside_custom_mode() -> None:
    assert value_of(BRANCHY, mode="strict", branch_check=_policy(producers=frozenset({"db"})))[0] == "high"
    assert BOTH.producers == {"mail", "db"}
