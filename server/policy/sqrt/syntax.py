"""The spec's syntactic restrictions (sqrt 3.2) on top of the shared expression grammar, plus depth limits."""

from __future__ import annotations

from typing import Any

from server.policy.errors import PolicyLoadError
from server.policy.sqrt import ast as A
from server.policy.sqrt.limits import Limits
from server.policy.sqrt.spans import load_error

__all__ = ["check_syntax"]

_DOMAINS = (A.BoolDomain, A.IntDomain, A.FloatDomain, A.StrDomain, A.DatetimeDomain)
_OP_NAMES = {"overlaps": "overlaps", "subset": "subset of", "superset": "superset of",
             "is_empty": "is empty", "is_universal": "is universal", "==": "==", "in": "in"}


def _error(program: A.Program, message: str, span: A.Span) -> PolicyLoadError:
    return load_error(program.source, message, span)


def _shape(e: Any) -> str:
    while isinstance(e, A.Paren) and isinstance(e.inner, A.Paren):
        e = e.inner  # iterative: the depth check has not run yet
    if isinstance(e, A.Paren):
        inner = _shape(e.inner)
        return "paren_value" if inner == "value" else inner
    if isinstance(e, A.Or | A.And | A.Not | A.Compare):
        return "predicate"
    if isinstance(e, A.NameRef):
        return "name"
    if isinstance(e, A.Const):
        return "bool" if isinstance(e.literal, A.BoolLit) else "value"
    if isinstance(e, A.ValueRef):
        return "value"
    return "set"


class _Checker:
    """Checks expression shapes recursively, tracking depth so recursion stays bounded."""

    def __init__(self, program: A.Program, limits: Limits) -> None:
        self.program = program
        self.max_depth = limits.max_depth
        self.depth = 0

    def fail(self, message: str, span: A.Span) -> PolicyLoadError:
        return _error(self.program, message, span)

    def enter(self, e: Any) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.fail(f"expression nested too deeply: more than {self.max_depth} levels; "
                            "split it with `let` definitions", e.span)

    def pred(self, e: Any, where: str) -> None:
        self.enter(e)
        try:
            self._pred(e, where)
        finally:
            self.depth -= 1

    def _pred(self, e: Any, where: str) -> None:
        shape = _shape(e)
        if shape == "set":
            raise self.fail(f"expected a predicate {where}, found a set expression; compare it, "
                            "e.g. `x.tags overlaps {...}`", e.span)
        if shape in ("value", "paren_value"):
            raise self.fail(f"expected a predicate {where}, found a value; compare it, e.g. "
                            "`x.value in {...}` or `x.value == \"...\"`", e.span)
        if isinstance(e, A.Or | A.And):
            for op in e.operands:
                self.pred(op, where)
        elif isinstance(e, A.Not):
            self.pred(e.operand, "after 'not'")
        elif isinstance(e, A.Paren):
            self.pred(e.inner, where)
        elif isinstance(e, A.Compare):
            self.compare(e)

    def set(self, e: Any, where: str) -> None:
        self.enter(e)
        try:
            self._set(e, where)
        finally:
            self.depth -= 1

    def _set(self, e: Any, where: str) -> None:
        shape = _shape(e)
        if shape == "predicate":
            raise self.fail(f"expected a set expression {where}, found a predicate", e.span)
        if shape in ("value", "paren_value", "bool"):
            raise self.fail(f"expected a set expression {where}, found a value; write a set "
                            "literal such as `{\"a\"}`", e.span)
        if isinstance(e, A.SetOp):
            for op in e.operands:
                self.set(op, where)
        elif isinstance(e, A.WithOp):
            self.set(e.base, where)
        elif isinstance(e, A.Paren):
            self.set(e.inner, where)

    def value(self, e: Any, where: str) -> None:
        if _shape(e) not in ("value", "bool"):
            raise self.fail(f"expected a value {where}: `x.value`, `@result.value`, "
                            "`@session.value` or a string, number, boolean or datetime literal "
                            "(regex and wildcard literals belong inside a set)", e.span)

    def compare(self, c: A.Compare) -> None:
        name = _OP_NAMES[c.op]
        if c.op == "in":
            self.value(c.left, "on the left of 'in'")
            self.set(c.right, "on the right of 'in'")
            return
        if c.op == "==" and not isinstance(c.left, A.MetaRef):
            self.value(c.left, "on the left of '=='")
            self.value(c.right, "on the right of a value '==' (sets compare only with a "
                       "metadata reference on the left)")
            return
        if not isinstance(c.left, A.MetaRef):
            raise self.fail(f"the left operand of '{name}' must be a metadata reference such as "
                            "`x.tags`, `@result.tags`, `@session.tags` or `@args.tags`; put "
                            "literals, let names and computed sets on the right", c.left.span)
        if c.right is not None:
            self.set(c.right, f"on the right of '{name}'")

    def stmt(self, s: A.Stmt) -> None:
        if isinstance(s, A.WhenGroup):
            self.pred(s.condition, "after 'when'")
            for u in s.updates:
                self.set(u.value, "on the right of an update")
        else:
            self.set(s.value, "on the right of an update")

    def declaration(self, d: A.Declaration) -> None:
        if isinstance(d, A.Let):
            self.let_body(d)
        elif isinstance(d, A.ToolShorthand):
            self.set(d.update.value, "on the right of an update")
            if d.condition is not None:
                self.pred(d.condition, "after 'when'")
        else:
            for m in d.members:
                if isinstance(m, A.CheckRule) and m.trigger is not None:
                    self.pred(m.trigger, "after 'when'")
                elif isinstance(m, A.ResultBlock | A.SessionBlock):
                    for s in m.stmts:
                        self.stmt(s)

    def let_body(self, d: A.Let) -> None:
        body = d.body
        if isinstance(body, _DOMAINS):
            return
        shape = _shape(body)
        if shape in ("value", "paren_value"):
            raise self.fail(f"the body of let '{d.name}' cannot be a bare literal or value "
                            "accessor; use a set literal `{...}`, a domain or a predicate",
                            body.span)
        if shape == "predicate":
            self.pred(body, "in a let body")
        elif shape == "set":
            self.set(body, "in a let body")


def check_syntax(program: A.Program, *, limits: Limits) -> None:
    """Raise `PolicyLoadError` for the first construct the spec's grammar does not allow."""
    checker = _Checker(program, limits)
    for decl in program.declarations:
        checker.declaration(decl)
