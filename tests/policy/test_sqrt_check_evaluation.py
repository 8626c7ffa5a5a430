"""Check evaluation (spec sqrt 9): hard/soft, priorities, allow-lists, default, fail_fast, records."""

from __future__ import annotations

import pytest

from server.policy.engine import Presets
from server.policy.metadata import MetaData
from server.policy.sqrt import load_policy
from tests.policy.sqrt_helpers import verdict

DENY_DEFAULT = Presets(default_allow=False)
HARD_DEFAULT = Presets(default_allow=False, default_allow_enforcement_level="hard")

CASES = [
    # step 1-2: hard deny beats hard allow; hard beats soft regardless of priority
    ("hard allow always; hard deny always;", Presets(), "hard_denied"),
    ("priority 100; should allow always; hard deny always;", Presets(), "hard_denied"),
    ("hard allow always; priority 100; should deny always;", Presets(), "allowed"),
    ("must allow always; must deny when false;", Presets(), "allowed"),
    # step 3: first firing soft rule by priority, then source order
    ("should allow always; should deny always;", Presets(), "allowed"),
    ("should deny always; should allow always;", Presets(), "soft_denied"),
    ("should allow when false; should deny always;", Presets(), "soft_denied"),
    ("soft deny when false; soft allow always;", Presets(), "allowed"),
    # step 4: an allow rule makes an allow-list, whatever default_allow says
    ("hard allow when false;", Presets(), "hard_denied"),
    ("should allow when false;", Presets(), "soft_denied"),
    ("should allow when false; hard allow when false;", Presets(), "hard_denied"),
    ("should allow when false; hard deny when false;", Presets(), "soft_denied"),
    # step 5: default as fallback only
    ("hard deny when false;", Presets(), "allowed"),
    ("hard deny when false;", DENY_DEFAULT, "soft_denied"),
    ("hard deny when false;", HARD_DEFAULT, "hard_denied"),
    ("", DENY_DEFAULT, "soft_denied"),
    ("should deny when false;", HARD_DEFAULT, "hard_denied"),
    ("should allow always;", HARD_DEFAULT, "allowed"),
]


@pytest.mark.parametrize(("body", "presets", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
@pytest.mark.parametrize("fail_fast", [True, False])
def test_verdicts(body: str, presets: Presets, expected: str, fail_fast: bool) -> None:
    policy = f'tool "t" {{ {body} }}'
    assert verdict(policy, "t", presets=presets, fail_fast=fail_fast) == expected


def test_soft_priority_across_declarations() -> None:
    policy = """
    tool r".*" { should deny always; }
    tool "t" { priority 1; should allow always; }
    tool "u" { priority -1; should allow always; }
    """
    assert verdict(policy, "t") == "allowed"
    assert verdict(policy, "u") == "soft_denied"


def test_priority_from_shorthand_does_not_apply_to_checks_of_other_blocks() -> None:
    policy = 'tool "t" [5] -> @tags |= {"x"};\ntool "t" { should deny always; }\n' \
             'tool r"t" { should allow always; }'
    assert verdict(policy, "t") == "soft_denied"


def test_record_fired_rules_descriptions_and_spans() -> None:
    policy = load_policy('tool "t" {\n    /// blocks everything\n    hard deny always;\n'
                         "    hard deny when true;\n    should allow always;\n}")
    rec = policy.check(tool="t", args={}, session_meta=MetaData(), fail_fast=False)
    assert rec.verdict.value == "hard_denied"
    assert [(f.rule, f.line, f.column) for f in rec.fired] == [
        ("blocks everything", 3, 5), ("hard deny when true", 4, 5), ("should allow always", 5, 5)]
    assert rec.fired[0].description == "blocks everything"
    assert rec.denied_by == rec.fired[:2]
    assert rec.message == "Tool call to 't' is denied by argument checking policies."
    fast = policy.check(tool="t", args={}, session_meta=MetaData())
    assert fast.verdict == rec.verdict and len(fast.fired) == 1


def test_allowed_record_has_no_message() -> None:
    rec = load_policy("").check(tool="t", args={}, session_meta=MetaData())
    assert rec.allowed and rec.message is None and rec.fired == ()


def test_default_denial_names_the_preset() -> None:
    rec = load_policy("", DENY_DEFAULT).check(tool="t", args={}, session_meta=MetaData())
    assert rec.denied_by[0].source == "preset"
    assert "default_allow = false" in rec.denied_by[0].rule
