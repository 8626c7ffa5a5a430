"""Internal presets (spec sqrt 11) as compiled rules: LLM-blocked tag, non-executable tag, branching."""

from __future__ import annotations

import pytest

from server.policy.engine import BranchingMetaPolicy, Presets
from server.policy.metadata import MetaData
from server.policy.presets import (
    CONTROL_FLOW_MESSAGE, branch_check, fired_presets, preset_source,
)
from server.policy.sqrt import load_policy
from tests.policy.sqrt_helpers import arg, meta, run, verdict

BLOCKED = {"q": arg(t={"__llm_blocked"})}
SOFT = Presets(llm_blocked_tag_enforcement_level="soft")

LLM_CASES = [
    ("", Presets(), BLOCKED, "hard_denied"),
    ("", Presets(), {"q": arg(t={"other"})}, "allowed"),
    ("", Presets(enable_llm_blocked_tag=False), BLOCKED, "allowed"),
    ('tool "parse_with_ai" { hard allow always; }', Presets(), BLOCKED, "hard_denied"),
    ("", SOFT, BLOCKED, "soft_denied"),
    ('tool "parse_with_ai" { hard allow always; }', SOFT, BLOCKED, "allowed"),
    ('tool "parse_with_ai" { priority 1; should allow always; }', SOFT, BLOCKED, "allowed"),
    # same priority: the internal rule sits ahead of user rules (Decision 11.3)
    ('tool "parse_with_ai" { should allow always; }', SOFT, BLOCKED, "soft_denied"),
    ('tool "parse_with_ai" { priority -1; should allow always; }', SOFT, BLOCKED, "soft_denied"),
]


@pytest.mark.parametrize(("policy", "presets", "args", "expected"), LLM_CASES)
def test_llm_blocked_tag(policy: str, presets: Presets, args: dict, expected: str) -> None:
    assert verdict(policy, "parse_with_ai", args, presets=presets) == expected


def test_preset_rule_shows_in_the_record() -> None:
    rec = load_policy("").check(tool="parse_with_ai", args=BLOCKED, session_meta=MetaData())
    (fired,) = rec.fired
    assert fired.source == "preset" and fired.line is None
    assert "enable_llm_blocked_tag" in fired.rule
    assert preset_source(Presets(enable_llm_blocked_tag=False)) == ""


def test_fired_presets_for_other_engines() -> None:
    hits = fired_presets(Presets(), tool="parse_with_ai", args=BLOCKED, session_meta=MetaData())
    assert [(h.level, h.effect) for h in hits] == [("hard", "deny")]
    assert fired_presets(Presets(), tool="other", args=BLOCKED, session_meta=MetaData()) == ()


@pytest.mark.parametrize(("enabled", "tags"), [(True, {"__non_executable"}), (False, set())])
def test_non_executable_memory(enabled: bool, tags: set[str]) -> None:
    _, result, _ = run("", "t", presets=Presets(enable_non_executable_memory=enabled))
    assert result == meta(t=tags)


def _bmp(mode: str = "deny", **lists: set[str]) -> Presets:
    return Presets(branching_meta_policy=BranchingMetaPolicy(
        mode=mode, **{k: frozenset(v) for k, v in lists.items()}))  # type: ignore[arg-type]


BRANCH = [
    (_bmp(), meta(t={"anything"}), "allowed"),  # empty lists never constrain
    (_bmp(tags={"web"}), meta(t={"web", "x"}), "hard_denied"),
    (_bmp(tags={"web"}), meta(t={"x"}), "allowed"),
    (_bmp(producers={"web"}), meta(p={"db"}), "allowed"),
    (_bmp("allow", tags={"ok"}), meta(t={"ok", "__non_executable"}), "allowed"),  # __ exempt
    (_bmp("allow", tags={"ok"}), meta(t={"ok", "bad"}), "hard_denied"),
    (_bmp("allow", producers={"db"}), meta(p={"db", "web"}), "hard_denied"),
    (_bmp("allow", producers={"db"}), meta(), "allowed"),
    (_bmp("allow"), meta(t={"x"}), "allowed"),
]


@pytest.mark.parametrize(("presets", "condition", "expected"), BRANCH)
def test_branching_meta_policy(presets: Presets, condition: MetaData, expected: str) -> None:
    rec = load_policy("", presets).branch_check(condition)
    assert rec.verdict.value == expected
    if expected != "allowed":
        assert rec.message is not None and rec.message.startswith(CONTROL_FLOW_MESSAGE)
        assert rec.denied_by[0].source == "preset"
    assert branch_check(presets, condition).verdict == rec.verdict
