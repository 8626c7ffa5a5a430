"""`CedarPolicy`: a Cedar policy set behind the engine's `PolicySet` protocol (spec sqrt 13).

Verdicts (the same record as SQRT):

1. a `forbid` that matches -> `hard_denied`. **Decision:** a `forbid` whose condition raises an
   evaluation error (a type mismatch, a missing `value`) counts as matching: a check that cannot
   be evaluated fails closed, as SQRT's `hard deny when not (...)` does. An erroring `permit`
   grants nothing (Cedar's own rule).
2. else a `permit` that matches -> `allowed` (a permit is a hard allow; it overrides a soft
   llm-blocked preset, like a user hard allow in SQRT).
3. else the presets: the llm-blocked rule for `parse_with_ai` (spec sqrt 11.3) at its level,
   then `default_allow` at its enforcement level.

The preset rules, their records, the default and `branch_check` come from the shared
`server.policy.presets` (the same internal rules SQRT compiles), so both engines report them
identically. A hard preset deny (llm-blocked at level `hard`) denies whatever the policies
say. Cedar has no updates: `check` returns the session unchanged and `complete` is
`results.complete_call` with no update phases.

Records: `FiredRule.rule` is the policy's `@description` annotation, else its `@id`, else its
first source line; `line`/`column` are those of its `permit`/`forbid` keyword. With
`fail_fast=False` a denial also records the permits that matched (Cedar itself reports only
the deciding forbids).

Cedar evaluates every policy it is given, so policies are indexed by the tools their action
scope names: a check evaluates the tool's own policies plus the unscoped ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import cedarpy
from cedarpy import pst

from server.policy import presets as presets_mod
from server.policy.cedar import mapping
from server.policy.cedar.source import SourceText, locate_syntax_error, split_source
from server.policy.cedar.validation import validate
from server.policy.engine import (
    CallResult,
    CheckRecord,
    FiredRule,
    Presets,
    Verdict,
    denial_message,
)
from server.policy.errors import PolicyLoadError
from server.policy.metadata import Labelled, MetaData
from server.policy.results import complete_call

__all__ = ["CedarPolicy", "load_policy"]

LANGUAGE: Final = "cedar"
_DEFAULT_PRESETS: Final = Presets()
_ERROR_POLICY_RE = re.compile(r"while evaluating policy `([^`]+)`")


@dataclass(frozen=True, slots=True)
class _Rule:
    """What the record needs about one Cedar policy."""

    effect: str
    fired: FiredRule


def _fired_rule(src: SourceText, index: int, template: pst.Template) -> FiredRule:
    """`rule` is the `@description` annotation, else `@id`, else the policy's first source line."""
    stmt = src.statements[index]
    line, column = src.position(stmt.head.start)
    annotations = template.annotations
    description = annotations.get("description") or None
    first_line = src.text[stmt.head.start : stmt.span_end].strip().splitlines()[0]
    return FiredRule(
        rule=description or annotations.get("id") or first_line,
        line=line,
        column=column,
        description=description,
        source="cedar",
    )


@dataclass(frozen=True, slots=True)
class _Subset:
    """A parsed policy subset; `ids[K]` is the global id of the subset's `policyK`."""

    policies: cedarpy.PolicySet
    ids: tuple[str, ...]


def _index(policy_id: str) -> int:
    return int(policy_id.removeprefix("policy"))


def _scope(template: pst.Template) -> frozenset[str] | None:
    """The tool names a policy's action scope allows; None for any tool."""
    match template.action:
        case pst.ActionEq(entity=uid):
            uids: tuple[pst.EntityUid, ...] = (uid,)
        case pst.ActionIn(entities=entities):
            uids = entities
        case _:
            return None
    return frozenset(u.id for u in uids if u.type.basename == "Action" and not u.type.namespace)


class CedarPolicy:
    """A loaded Cedar policy with its presets bound. Build it with `load_policy`."""

    language: str = LANGUAGE

    def __init__(
        self,
        *,
        text: str,
        presets: Presets,
        src: SourceText,
        rules: Mapping[str, _Rule],
        scopes: Mapping[str, frozenset[str] | None],
        mentioned: frozenset[str],
    ) -> None:
        self.text = text
        self.presets = presets
        self.mentioned_args = mentioned
        self._src = src
        self._rules = dict(rules)
        self._scopes = dict(scopes)
        self._named = frozenset().union(*(s for s in scopes.values() if s is not None))
        self._subsets: dict[tuple[str | None, bool], _Subset | None] = {}

    def _subset(self, tool: str, *, permits_only: bool) -> _Subset | None:
        """The policies that can apply to `tool` (its scoped ones plus the unscoped ones).

        Cedar evaluates every policy it is given; indexing by action keeps a check proportional
        to the tool's own policies. Built on first use and kept (one per named tool, plus one
        shared by all other tools).
        """
        key = (tool if tool in self._named else None, permits_only)
        if key not in self._subsets:
            ids = tuple(
                pid
                for pid, scope in self._scopes.items()
                if (scope is None or (key[0] is not None and key[0] in scope))
                and (not permits_only or self._rules[pid].effect == "permit")
            )
            text = "\n".join(
                self._src.statement_text(self._src.statements[_index(pid)]) for pid in ids
            )
            self._subsets[key] = _Subset(cedarpy.PolicySet.from_str(text), ids) if ids else None
        return self._subsets[key]

    def _authorize(
        self, tool: str, context: dict[str, Any], *, permits_only: bool
    ) -> tuple[list[_Rule], list[_Rule]]:
        """(policies that matched, policies whose evaluation failed)."""
        subset = self._subset(tool, permits_only=permits_only)
        if subset is None:
            return [], []
        request = mapping.build_request(tool, context)
        result = cedarpy.is_authorized(request, subset.policies, mapping.tool_entities(tool))
        matched = [self._rules[subset.ids[_index(pid)]] for pid in result.diagnostics.reasons]
        errored = [
            self._rules[subset.ids[_index(m.group(1))]]
            for err in result.diagnostics.errors
            if (m := _ERROR_POLICY_RE.search(err))
        ]
        return matched, errored

    def _decide(
        self, tool: str, context: dict[str, Any], fail_fast: bool
    ) -> tuple[list[_Rule], list[_Rule]]:
        """(matching forbids, matching permits) — erroring forbids included, fail-closed."""
        matched, errored = self._authorize(tool, context, permits_only=False)
        forbids = [r for r in matched + errored if r.effect == "forbid"]
        permits = [r for r in matched if r.effect == "permit"]
        if forbids and not fail_fast:
            # Cedar reports only the deciding forbids; record the permits that also matched.
            permits, _ = self._authorize(tool, context, permits_only=True)
        return forbids, permits

    def check(
        self,
        *,
        tool: str,
        args: Mapping[str, Labelled],
        session_meta: MetaData,
        fail_fast: bool = True,
    ) -> CheckRecord:
        """Decide one call; the session is returned unchanged (Cedar has no updates)."""
        context = mapping.build_context(
            args=args, session_meta=session_meta, mentioned=self.mentioned_args
        )
        forbids, permits = self._decide(tool, context, fail_fast)
        hits = presets_mod.fired_presets(
            self.presets, tool=tool, args=args, session_meta=session_meta
        )
        fired = [h.record for h in hits] + [r.fired for r in forbids + permits]
        hard_denies = [h.record for h in hits if h.level == "hard" and h.effect == "deny"]
        hard_denies += [r.fired for r in forbids]
        soft = [h for h in hits if h.level == "soft"]
        denied_by: tuple[FiredRule, ...] = ()
        if hard_denies:
            verdict, denied_by = Verdict.HARD_DENIED, tuple(hard_denies)
        elif permits or any(h.level == "hard" and h.effect == "allow" for h in hits):
            verdict = Verdict.ALLOWED
        elif soft:  # internal soft rules all sit at priority 0: the first one decides
            verdict = Verdict.ALLOWED if soft[0].effect == "allow" else Verdict.SOFT_DENIED
            denied_by = (soft[0].record,)
        else:
            verdict = presets_mod.default_verdict(self.presets)
            denied_by = (presets_mod.default_rule(self.presets),)
        allowed = verdict is Verdict.ALLOWED
        return CheckRecord(
            tool=tool,
            verdict=verdict,
            fired=tuple(fired),
            denied_by=() if allowed else denied_by,
            message=None if allowed else denial_message(tool),
            session_meta=session_meta,
        )

    def complete(
        self,
        *,
        tool: str,
        args: Mapping[str, Labelled],
        session_meta: MetaData,
        result: Any,
        derived: bool = False,
    ) -> CallResult:
        """The result's initial metadata (spec sqrt 4.3, 11.2); Cedar has no updates, the session is unchanged."""
        return complete_call(result, args=args, session_meta=session_meta, presets=self.presets, derived=derived)

    def branch_check(self, condition: MetaData) -> CheckRecord:
        """The `branching_meta_policy` preset, shared with SQRT (`presets.branch_check`)."""
        return presets_mod.branch_check(self.presets, condition)


def load_policy(text: str, presets: Presets = _DEFAULT_PRESETS) -> CedarPolicy:
    """Parse and validate a Cedar policy text; raises PolicyLoadError with line and column.

    >>> p = load_policy('forbid(principal, action == Action::"rm", resource);')
    >>> p.check(tool="rm", args={}, session_meta=MetaData()).verdict.value
    'hard_denied'
    """
    src = split_source(text)
    try:
        policy_set = cedarpy.PolicySet.from_str(text)  # the subsets are parsed on first use
    except ValueError:
        raise locate_syntax_error(src) from None
    try:
        tree = policy_set.to_pst()
    except ValueError as err:
        raise _conversion_error(src, str(err)) from None
    if tree.templates:
        slot = next(t for s in src.statements for t in s.tokens if t.text == "?")
        raise src.error(
            "Cedar templates (?principal, ?resource) are not supported: write the entity,"
            ' e.g. principal == Agent::"session"',
            slot.start,
        )
    mentioned = validate(src, tree)
    policies = tree.static_policies
    return CedarPolicy(
        text=text,
        presets=presets,
        src=src,
        rules={
            pid: _Rule(t.effect, _fired_rule(src, _index(pid), t)) for pid, t in policies.items()
        },
        scopes={f"policy{i}": _scope(policies[f"policy{i}"]) for i in range(len(policies))},
        mentioned=mentioned,
    )


def _conversion_error(src: SourceText, message: str) -> PolicyLoadError:
    """cedarpy refuses to convert expressions nested deeper than its limit (100 levels)."""
    if "nesting" in message:
        message = "expression nested too deeply (Cedar allows 100 levels)"
    # The conversion error does not name the policy: find it by converting each one alone.
    for stmt in src.statements:
        try:
            cedarpy.PolicySet.from_str(src.statement_text(stmt)).to_pst()
        except ValueError:
            return src.error(f"Cedar policy rejected: {message}", stmt.head.start)
    return src.error(f"Cedar policy rejected: {message}", 0)
