"""Internal presets of spec sqrt 11: written as ordinary SQRT rules, plus the default and branch checks.

The LLM-blocked rule is SQRT source compiled by the SQRT compiler (so it appears in check
records like any user rule, with source "preset"); the default verdict and the branching meta
policy are not tool rules: the default is a function here, branching reuses `branching.py`
and adds the "Control flow violation" message of control-api 7.3. Both languages use this module:
SQRT merges `preset_declarations` into its own, Cedar calls `fired_presets`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.policy.branching import branch_violations
from server.policy.engine import CheckRecord, FiredRule, Level, Presets, Verdict
from server.policy.metadata import Labelled, MetaData
from server.policy.results import LLM_BLOCKED_TAG

if TYPE_CHECKING:
    from server.policy.sqrt.compiler import CompiledDecl

__all__ = [
    "LLM_BLOCKED_TOOL", "CONTROL_FLOW_MESSAGE", "BRANCH_TOOL", "preset_source",
    "preset_declarations", "PresetHit", "fired_presets", "default_rule", "default_verdict",
    "branch_check",
]

LLM_BLOCKED_TOOL = "parse_with_ai"
BRANCH_TOOL = "<branch>"
CONTROL_FLOW_MESSAGE = "Control flow violation detected during program execution."


def preset_source(presets: Presets) -> str:
    """The SQRT text of the internal tool rules these presets enable (maybe empty).

    >>> "hard deny" in preset_source(Presets())
    True
    """
    if not presets.enable_llm_blocked_tag:
        return ""
    level = presets.llm_blocked_tag_enforcement_level
    return (
        f'tool "{LLM_BLOCKED_TOOL}" {{\n'
        f"    /// preset enable_llm_blocked_tag ({level}): data tagged {LLM_BLOCKED_TAG} must not "
        "reach the quarantined parsing model\n"
        f'    {level} deny when "{LLM_BLOCKED_TAG}" in @args.tags;\n'
        "}\n"
    )


@functools.lru_cache(maxsize=64)
def preset_declarations(presets: Presets) -> tuple[CompiledDecl, ...]:
    """The internal rules compiled as SQRT declarations marked internal (cached per presets)."""
    from server.policy.sqrt.checks import check_program
    from server.policy.sqrt.compiler import compile_program
    from server.policy.sqrt.limits import DEFAULT_LIMITS
    from server.policy.sqrt.parser import parse

    program = parse(preset_source(presets))
    lets = check_program(program)
    return compile_program(program, lets, limits=DEFAULT_LIMITS, internal=True, first_order=-1)


@dataclass(frozen=True, slots=True)
class PresetHit:
    """An internal rule that fired for a call."""

    level: Level
    effect: str
    record: FiredRule


def fired_presets(
    presets: Presets, *, tool: str, args: Mapping[str, Labelled], session_meta: MetaData
) -> tuple[PresetHit, ...]:
    """The internal check rules that fire for this call (for engines other than SQRT)."""
    from server.policy.sqrt.expressions import Env

    env = Env(args, session_meta)
    hits: list[PresetHit] = []
    for decl in preset_declarations(presets):
        if decl.tool != tool:  # preset ids are exact names
            continue
        for rule in decl.rules:
            if rule.predicate is None or rule.predicate(env):
                hits.append(PresetHit(rule.level, rule.effect, rule.record))
    return tuple(hits)


def default_rule(presets: Presets) -> FiredRule:
    """The record naming the `default_allow` fallback when it decides (spec sqrt 9 step 5)."""
    value = "true" if presets.default_allow else "false"
    return FiredRule(
        rule=f"preset default_allow = {value} "
        f"(enforcement level {presets.default_allow_enforcement_level})",
        line=None,
        source="preset",
    )


def default_verdict(presets: Presets) -> Verdict:
    if presets.default_allow:
        return Verdict.ALLOWED
    if presets.default_allow_enforcement_level == "hard":
        return Verdict.HARD_DENIED
    return Verdict.SOFT_DENIED


def branch_check(presets: Presets, condition: MetaData) -> CheckRecord:
    """Apply `branching_meta_policy` to one branch condition's metadata (spec sqrt 11.4).

    >>> from server.policy.engine import BranchingMetaPolicy
    >>> p = Presets(branching_meta_policy=BranchingMetaPolicy(tags=frozenset({"web"})))
    >>> branch_check(p, MetaData(tags=frozenset({"web"}))).verdict.value
    'hard_denied'
    """
    policy = presets.branching_meta_policy
    fields = branch_violations(policy, condition)
    if not fields:
        return CheckRecord(tool=BRANCH_TOOL, verdict=Verdict.ALLOWED, session_meta=MetaData())
    rule = FiredRule(
        rule=f"preset branching_meta_policy (mode {policy.mode}): the condition's "
        f"{', '.join(fields)} violate the policy",
        line=None,
        source="preset",
    )
    return CheckRecord(
        tool=BRANCH_TOOL,
        verdict=Verdict.HARD_DENIED,
        fired=(rule,),
        denied_by=(rule,),
        message=f"{CONTROL_FLOW_MESSAGE} {rule.rule}",
    )
