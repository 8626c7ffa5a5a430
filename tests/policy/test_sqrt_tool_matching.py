"""Tool matching (spec sqrt 7): exact and regex ids, all matching declarations apply together."""

from __future__ import annotations

import pytest

from server.policy.sqrt import load_policy
from tests.policy.sqrt_helpers import verdict

CASES = [
    ('tool "send_email" { hard deny always; }', "send_email", "hard_denied"),
    ('tool "send_email" { hard deny always; }', "Send_Email", "allowed"),  # case-sensitive
    ('tool "send_email" { hard deny always; }', "send_email2", "allowed"),
    ('tool r"send_to_.*" { hard deny always; }', "send_to_vendor", "hard_denied"),
    ('tool r"email" { hard deny always; }', "send_email", "allowed"),  # full match
    ('tool r"send_(sms|fax)" { hard deny always; }', "send_fax", "hard_denied"),
    ('tool r"send_(sms|fax)" { hard deny always; }', "send_faxes", "allowed"),
    ('tool "a.b" { hard deny always; }', "aXb", "allowed"),  # string ids are not regexes
    ('tool r"a.b" { hard deny always; }', "aXb", "hard_denied"),
    ('tool "tab\\tname" { hard deny always; }', "tab\tname", "hard_denied"),
]


@pytest.mark.parametrize(("policy", "tool", "expected"), CASES,
                         ids=[f"{p[:24]}-{t}" for p, t, _ in CASES])
def test_matching(policy: str, tool: str, expected: str) -> None:
    assert verdict(policy, tool) == expected


def test_all_matching_declarations_apply_together() -> None:
    policy = """
    tool r".*" { hard allow when x.value == 1; }
    tool "t" { hard allow when x.value == 2; }
    """
    assert verdict(policy, "t", {"x": 1}) == "allowed"
    assert verdict(policy, "t", {"x": 2}) == "allowed"
    assert verdict(policy, "t", {"x": 3}) == "hard_denied"
    assert verdict(policy, "u", {"x": 2}) == "hard_denied"


def test_plans_are_memoised_and_bounded() -> None:
    from server.policy.engine import Presets
    from server.policy.sqrt import Limits

    policy = load_policy('tool r"t.*" { hard deny always; }', Presets(),
                         limits=Limits(max_plan_cache=4))
    for i in range(10):
        assert policy.plan(f"t{i}") is policy.plan(f"t{i}")
    assert len(policy._plans) <= 4
