"""The verdict algorithm of spec sqrt 9 over one tool's compiled rules, producing a `CheckRecord`."""

from __future__ import annotations

from dataclasses import dataclass

from server.policy.engine import CheckRecord, FiredRule, Presets, Verdict, denial_message
from server.policy.errors import PolicyRuntimeError
from server.policy.metadata import MetaData
from server.policy.presets import default_rule, default_verdict
from server.policy.sqrt.compiler import CompiledRule, CompiledStmt
from server.policy.sqrt.expressions import Env

__all__ = ["Plan", "decide", "failed"]


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything that applies to one tool name, in evaluation order."""

    hard_deny: tuple[CompiledRule, ...]
    hard_allow: tuple[CompiledRule, ...]
    soft: tuple[CompiledRule, ...]  # sorted: priority desc, internal first, source position
    has_allow: bool
    has_hard_allow: bool
    before: tuple[CompiledStmt, ...]
    result: tuple[CompiledStmt, ...]
    after: tuple[CompiledStmt, ...]
    error: FiredRule | None = None  # set when matching the tool name itself failed


def failed(tool: str, rule: FiredRule, err: Exception, session: MetaData,
           fired: tuple[FiredRule, ...] = ()) -> CheckRecord:
    """Fail closed: a rule that could not be evaluated makes the call `hard_denied`."""
    where = f" (line {rule.line})" if rule.line is not None else ""
    message = f"{denial_message(tool)} Rule '{rule.rule}'{where} could not be evaluated: {err}"
    return CheckRecord(tool=tool, verdict=Verdict.HARD_DENIED, fired=(*fired, rule),
                       denied_by=(rule,), message=message, session_meta=session)


def _denied(tool: str, verdict: Verdict, fired: list[FiredRule], by: tuple[FiredRule, ...],
            session: MetaData) -> CheckRecord:
    return CheckRecord(tool=tool, verdict=verdict, fired=tuple(fired), denied_by=by,
                       message=denial_message(tool), session_meta=session)


def decide(plan: Plan, env: Env, *, tool: str, presets: Presets, fail_fast: bool) -> CheckRecord:
    """Evaluate the rules and apply spec 9 steps 1-5; `fail_fast` never changes the verdict."""
    fired: list[FiredRule] = []
    deny_hits: list[FiredRule] = []
    current: FiredRule | None = None
    try:
        for rule in plan.hard_deny:
            current = rule.record
            if rule.predicate is None or rule.predicate(env):
                fired.append(rule.record)
                deny_hits.append(rule.record)
                if fail_fast:
                    break
        if deny_hits and fail_fast:
            return _denied(tool, Verdict.HARD_DENIED, fired, tuple(deny_hits), env.session)
        allow_hit = False
        for rule in plan.hard_allow:
            current = rule.record
            if rule.predicate is None or rule.predicate(env):
                fired.append(rule.record)
                allow_hit = True
        first_soft: CompiledRule | None = None
        for rule in plan.soft:
            current = rule.record
            if rule.predicate is None or rule.predicate(env):
                fired.append(rule.record)
                if first_soft is None:
                    first_soft = rule
    except PolicyRuntimeError as err:
        if current is None:  # pragma: no cover - only rule predicates raise
            raise
        return failed(tool, current, err, env.session, tuple(fired))
    if deny_hits:
        return _denied(tool, Verdict.HARD_DENIED, fired, tuple(deny_hits), env.session)
    if allow_hit:
        return CheckRecord(tool=tool, verdict=Verdict.ALLOWED, fired=tuple(fired),
                           session_meta=env.session)
    if first_soft is not None:
        if first_soft.effect == "allow":
            return CheckRecord(tool=tool, verdict=Verdict.ALLOWED, fired=tuple(fired),
                               session_meta=env.session)
        return _denied(tool, Verdict.SOFT_DENIED, fired, (first_soft.record,), env.session)
    if plan.has_allow:  # an allow rule makes the tool an allow-list (spec 9 step 4)
        verdict = Verdict.HARD_DENIED if plan.has_hard_allow else Verdict.SOFT_DENIED
        return _denied(tool, verdict, fired, (), env.session)
    verdict = default_verdict(presets)
    if verdict is Verdict.ALLOWED:
        return CheckRecord(tool=tool, verdict=verdict, fired=tuple(fired),
                           session_meta=env.session)
    return _denied(tool, verdict, fired, (default_rule(presets),), env.session)
