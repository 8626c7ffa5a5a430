"""The policy engine seam: presets, verdict records and the `PolicySet` protocol (spec sqrt 11, 12, 14).

Two languages implement `PolicySet` — SQRT (`server.policy.sqrt`) and Cedar
(`server.policy.cedar`) — and both return the same `CheckRecord`, so agents, the audit log and
`policy_check_history` never know which language decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from server.policy.metadata import DEFAULT_META, Labelled, MetaData

__all__ = [
    "Verdict",
    "Level",
    "BranchingMetaPolicy",
    "Presets",
    "FiredRule",
    "CheckRecord",
    "CallResult",
    "PolicySet",
    "denial_message",
]


class Verdict(StrEnum):
    ALLOWED = "allowed"
    SOFT_DENIED = "soft_denied"
    HARD_DENIED = "hard_denied"


Level = Literal["hard", "soft"]


@dataclass(frozen=True, slots=True)
class BranchingMetaPolicy:
    mode: Literal["allow", "deny"] = "deny"
    producers: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    consumers: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Presets:
    """The internal presets of spec sqrt 11, with their defaults."""

    default_allow: bool = True
    default_allow_enforcement_level: Level = "soft"
    enable_non_executable_memory: bool = True
    enable_llm_blocked_tag: bool = True
    llm_blocked_tag_enforcement_level: Level = "hard"
    branching_meta_policy: BranchingMetaPolicy = field(default_factory=BranchingMetaPolicy)


@dataclass(frozen=True, slots=True)
class FiredRule:
    """A rule that fired. `rule` is its `///` description when it has one, else its source text."""

    rule: str
    line: int | None
    column: int | None = None
    description: str | None = None
    source: Literal["sqrt", "cedar", "preset"] = "sqrt"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "line": self.line, "description": self.description}


def denial_message(tool: str) -> str:
    """The sentence clients match on (spec sqrt 12, control-api 7.3)."""
    return f"Tool call to '{tool}' is denied by argument checking policies."


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """What a check decided, and why. `session_meta` is the session after the before-phase."""

    tool: str
    verdict: Verdict
    fired: tuple[FiredRule, ...] = ()
    denied_by: tuple[FiredRule, ...] = ()
    message: str | None = None
    session_meta: MetaData = DEFAULT_META

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED


@dataclass(frozen=True, slots=True)
class CallResult:
    """The tool result after the result and session-after phases."""

    result: Labelled
    session_meta: MetaData


class PolicySet(Protocol):
    """A loaded policy in some language, with its presets bound."""

    language: str

    def check(
        self,
        *,
        tool: str,
        args: Mapping[str, Labelled],
        session_meta: MetaData,
        fail_fast: bool = True,
    ) -> CheckRecord:
        """Session-before updates, then the verdict (spec sqrt 8 steps 1-4)."""
        ...

    def complete(
        self,
        *,
        tool: str,
        args: Mapping[str, Labelled],
        session_meta: MetaData,
        result: Any,
        derived: bool = False,
    ) -> CallResult:
        """Given the raw tool result (maybe an `is_sequrity_var` wrapper): result and after phases.

        `session_meta` is the session as `check` returned it. `derived` marks a value computed
        from the arguments alone (the quarantined LLM's answer): it gets no preset tag, only the
        arguments' join and the policy's updates.
        """
        ...

    def branch_check(self, condition: MetaData) -> CheckRecord:
        """The `branching_meta_policy` preset applied to one branch condition's metadata."""
        ...
