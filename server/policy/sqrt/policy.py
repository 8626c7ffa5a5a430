"""`SqrtPolicy`: a loaded SQRT policy with its presets bound, implementing `engine.PolicySet`."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from server.policy.engine import CallResult, CheckRecord, FiredRule, Presets
from server.policy.errors import PolicyRuntimeError
from server.policy.metadata import Labelled, MetaData
from server.policy.presets import branch_check
from server.policy.results import complete_call
from server.policy.sqrt import ast as A
from server.policy.sqrt.compiler import CompiledDecl, CompiledStmt
from server.policy.sqrt.expressions import Env
from server.policy.sqrt.limits import Limits
from server.policy.sqrt.verdict import Plan, decide, failed

__all__ = ["SqrtPolicy"]


def _stmts(decls: list[CompiledDecl], phase: str) -> tuple[CompiledStmt, ...]:
    ordered = sorted(decls, key=lambda d: (-d.priority, d.order))  # spec 10: priority desc first
    return tuple(s for d in ordered for s in getattr(d, phase))


def _plan(decls: list[CompiledDecl]) -> Plan:
    rules = sorted((r for d in decls for r in d.rules), key=lambda r: r.key)
    allows = [r for r in rules if r.effect == "allow"]
    return Plan(
        hard_deny=tuple(r for r in rules if r.level == "hard" and r.effect == "deny"),
        hard_allow=tuple(r for r in allows if r.level == "hard"),
        soft=tuple(r for r in rules if r.level == "soft"),
        has_allow=bool(allows),
        has_hard_allow=any(r.level == "hard" for r in allows),
        before=_stmts(decls, "before"),
        result=_stmts(decls, "result"),
        after=_stmts(decls, "after"),
    )


def _run(stmts: Iterable[CompiledStmt], env: Env) -> None:
    for stmt in stmts:
        try:
            stmt.run(env)
        except PolicyRuntimeError as err:
            raise PolicyRuntimeError(
                f"statement '{stmt.record.rule}' could not be evaluated: {err}",
                rule=stmt.record.rule,
                line=stmt.record.line,
            ) from None


class SqrtPolicy:
    """A compiled SQRT policy. Thread-safe: evaluation state lives in a per-call `Env`.

    >>> from server.policy.sqrt import load_policy
    >>> p = load_policy('tool "rm" { hard deny always; }')
    >>> p.check(tool="rm", args={}, session_meta=MetaData()).verdict.value
    'hard_denied'
    """

    language = "sqrt"

    def __init__(self, *, program: A.Program, decls: tuple[CompiledDecl, ...],
                 presets: Presets, limits: Limits) -> None:
        self.program = program
        self.presets = presets
        self.limits = limits
        self._exact: dict[str, list[CompiledDecl]] = {}
        self._regex: list[CompiledDecl] = []
        for d in decls:
            if d.matcher is None:
                self._exact.setdefault(d.tool, []).append(d)
            else:
                self._regex.append(d)
        self._plans: dict[str, Plan] = {}
        self._lock = threading.Lock()

    @property
    def source(self) -> str:
        return self.program.source

    def plan(self, tool: str) -> Plan:
        """The rules and statements that apply to `tool` (spec 7), memoised per tool name."""
        plan = self._plans.get(tool)
        if plan is not None:
            return plan
        matching = list(self._exact.get(tool, ()))
        for d in self._regex:
            try:
                hit = d.matcher.matches(tool)  # type: ignore[union-attr]
            except PolicyRuntimeError as err:  # not memoised: the next call tries again
                record = FiredRule(rule=f'tool r"{d.tool}"', line=None, description=str(err))
                return Plan((), (), (), False, False, (), (), (), error=record)
            if hit:
                matching.append(d)
        plan = _plan(matching)
        with self._lock:  # misses only; hits above read the dict without locking
            while len(self._plans) >= self.limits.max_plan_cache:
                self._plans.pop(next(iter(self._plans)))
            self._plans[tool] = plan
        return plan

    def check(self, *, tool: str, args: Mapping[str, Labelled], session_meta: MetaData,
              fail_fast: bool = True) -> CheckRecord:
        plan = self.plan(tool)
        env = Env(args, session_meta)
        if plan.error is not None:
            reason = PolicyRuntimeError(f"matching the tool name failed: {plan.error.description}")
            return failed(tool, plan.error, reason, session_meta)
        if plan.before:
            for stmt in plan.before:
                try:
                    stmt.run(env)
                except PolicyRuntimeError as err:
                    return failed(tool, stmt.record, err, env.session)
        return decide(plan, env, tool=tool, presets=self.presets, fail_fast=fail_fast)

    def complete(self, *, tool: str, args: Mapping[str, Labelled], session_meta: MetaData,
                 result: Any, derived: bool = False) -> CallResult:
        """Result and session-after phases; raises `PolicyRuntimeError` if a condition fails."""
        plan = self.plan(tool)
        if plan.error is not None:
            raise PolicyRuntimeError(f"matching the tool name failed: {plan.error.description}",
                                     rule=plan.error.rule)
        if not plan.result and not plan.after:
            return complete_call(result, args=args, session_meta=session_meta,
                                 presets=self.presets, derived=derived)

        def phases(res: Labelled, session: MetaData) -> tuple[Labelled, MetaData]:
            env = Env(args, session, res)
            _run(plan.result, env)
            _run(plan.after, env)
            return env.result, env.session  # type: ignore[return-value]

        return complete_call(result, args=args, session_meta=session_meta,
                             presets=self.presets, phases=(phases,), derived=derived)

    def branch_check(self, condition: MetaData) -> CheckRecord:
        return branch_check(self.presets, condition)
