"""Load-time checks of spec sqrt 5: let names and kinds, contexts of `@FIELD`/`@result`, update rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from server.policy.errors import PolicyLoadError
from server.policy.sqrt import ast as A
from server.policy.sqrt.spans import load_error

__all__ = ["Context", "LetInfo", "check_program"]

Context = Literal["check", "before", "result", "after"]
Kind = Literal["predicate", "set", "domain"]
_DOMAINS = (A.BoolDomain, A.IntDomain, A.FloatDomain, A.StrDomain, A.DatetimeDomain)
_CONTEXT_NAMES = {"check": "a check rule", "before": "a session before block",
                  "result": "a result block", "after": "a session after block"}


@dataclass(frozen=True, slots=True)
class Use:
    """Where an expression reads something context-dependent (`via`: the let it came through)."""

    what: str
    span: A.Span
    via: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    result: Use | None = None  # reads @result
    ctx: Use | None = None  # reads or is @FIELD
    non_string: bool = False  # may hold a regex, wildcard, number or domain element

    def __or__(self, other: Facts) -> Facts:
        return Facts(self.result or other.result, self.ctx or other.ctx,
                     self.non_string or other.non_string)

    def through(self, name: str, span: A.Span) -> Facts:
        """The facts of a let body as seen at a use of the let at `span`."""

        def via(u: Use | None) -> Use | None:
            return None if u is None else Use(u.what, span, name)

        return Facts(via(self.result), via(self.ctx), self.non_string)


@dataclass(frozen=True, slots=True)
class LetInfo:
    name: str
    kind: Kind
    body: A.Expr | A.Domain
    facts: Facts
    line: int


class _Checker:
    def __init__(self, program: A.Program) -> None:
        self.source = program.source
        self.lets: dict[str, LetInfo] = {}

    def fail(self, message: str, span: A.Span) -> PolicyLoadError:
        return load_error(self.source, message, span)

    # --- names ------------------------------------------------------------------------------

    def lookup(self, ref: A.NameRef, wanted: str) -> LetInfo:
        info = self.lets.get(ref.name)
        if info is None:
            hint = " (`always` is only a trigger: write `hard deny always;`)" if ref.name == "always" else ""
            raise self.fail(f"undefined name '{ref.name}' used as a {wanted}: define it with "
                            f"`let {ref.name} = ...;` before this line{hint}", ref.span)
        return info

    def define(self, let: A.Let) -> None:
        span = let.name_span or let.span
        if let.name in ("true", "false"):
            raise self.fail(f"'{let.name}' is a constant and cannot be defined", span)
        if let.name in self.lets:
            first = self.lets[let.name].line
            raise self.fail(f"'{let.name}' is already defined at line {first}; names cannot be "
                            "redefined", span)
        body = let.body
        if isinstance(body, _DOMAINS):
            kind: Kind = "domain"
            facts = Facts(non_string=True)
        else:
            kind = self.kind_of(body)
            facts = self.pred(body) if kind == "predicate" else self.set(body)
        self.lets[let.name] = LetInfo(let.name, kind, body, facts, let.span.line)

    def kind_of(self, e: Any) -> Kind:
        while isinstance(e, A.Paren):
            e = e.inner
        if isinstance(e, A.NameRef):
            if e.name in ("true", "false"):
                return "predicate"
            return self.lookup(e, "let body").kind
        if isinstance(e, A.Or | A.And | A.Not | A.Compare | A.Const):
            return "predicate"  # a Const here is `true`/`false` (syntax.py rejects the others)
        return "set"

    # --- expressions ------------------------------------------------------------------------

    def pred(self, e: Any) -> Facts:
        if isinstance(e, A.Or | A.And):
            out = Facts()
            for op in e.operands:
                out = out | self.pred(op)
            return out
        if isinstance(e, A.Not):
            return self.pred(e.operand)
        if isinstance(e, A.Paren):
            return self.pred(e.inner)
        if isinstance(e, A.Const):
            return Facts()
        if isinstance(e, A.NameRef):
            if e.name in ("true", "false"):
                return Facts()
            info = self.lookup(e, "predicate")
            if info.kind != "predicate":
                raise self.fail(f"'{e.name}' is a {info.kind} (let at line {info.line}) but is "
                                "used as a predicate; compare it, e.g. `x.tags overlaps "
                                f"{e.name}`", e.span)
            return info.facts.through(e.name, e.span)
        return self.compare(e)

    def compare(self, c: A.Compare) -> Facts:
        left = self.operand(c.left)
        if c.right is None:
            return left
        right = self.operand(c.right) if c.op == "==" and not isinstance(c.left, A.MetaRef) \
            else self.set(c.right)
        return Facts(left.result or right.result, left.ctx or right.ctx)

    def operand(self, e: Any) -> Facts:
        if isinstance(e, A.MetaRef):
            return self.meta(e)
        if isinstance(e, A.ValueRef) and e.scope == "result":
            return Facts(result=Use("@result.value", e.span))
        return Facts()

    def meta(self, e: A.MetaRef) -> Facts:
        if e.scope == "result":
            return Facts(result=Use(f"@result.{e.field}", e.span))
        if e.scope == "ctx":
            return Facts(ctx=Use(f"@{e.field}", e.span))
        return Facts()

    def set(self, e: Any) -> Facts:
        if isinstance(e, A.Paren):
            return self.set(e.inner)
        if isinstance(e, A.MetaRef):
            return self.meta(e)
        if isinstance(e, A.SetLiteral):
            return Facts(non_string=any(not isinstance(x, A.StringLit) for x in e.elements))
        if isinstance(e, A.NameRef):
            info = self.lookup(e, "set")
            if info.kind == "predicate":
                raise self.fail(f"'{e.name}' is a predicate (let at line {info.line}) but is "
                                "used as a set", e.span)
            return info.facts.through(e.name, e.span)
        if isinstance(e, A.WithOp):
            out = self.set(e.base)
            added = any(op == "with" and not isinstance(x, A.StringLit) for op, x in e.steps)
            return out | Facts(non_string=added)
        if not isinstance(e, A.SetOp):  # pragma: no cover - syntax.py admits no other shapes
            raise TypeError(f"not a set expression: {type(e).__name__}")
        parts = [self.set(op) for op in e.operands]
        out = Facts()
        for p in parts:
            out = out | Facts(p.result, p.ctx)
        if e.op in ("|", "^"):
            ns = any(p.non_string for p in parts)
        elif e.op == "&":
            ns = all(p.non_string for p in parts)
        else:
            ns = parts[0].non_string
        return Facts(out.result, out.ctx, ns)

    # --- contexts ---------------------------------------------------------------------------

    def in_context(self, facts: Facts, context: Context) -> None:
        where = _CONTEXT_NAMES[context]
        if context == "check" and facts.ctx is not None:
            u = facts.ctx
            raise self.fail(f"{u.what}{_via(u)} has no meaning in {where}: write "
                            f"`@session{u.what[1:]}`, `@args{u.what[1:]}` or an argument's "
                            f"`x{u.what[1:]}`", u.span)
        if context in ("check", "before") and facts.result is not None:
            u = facts.result
            raise self.fail(f"{u.what}{_via(u)} is not available in {where}: the tool has not "
                            "run yet (use it in a result or session after block)", u.span)

    def update(self, u: A.Update, context: Context) -> None:
        t = u.target
        if t.scope == "arg":
            raise self.fail(f"arguments are read-only: cannot update `{t.name}.{t.field}`; "
                            f"update `@{t.field}`, `@result.{t.field}` or `@session.{t.field}`",
                            t.span)
        if t.scope == "result" and context == "before":
            raise self.fail(f"@result.{t.field} is not available in {_CONTEXT_NAMES[context]}: "
                            "the tool has not run yet", t.span)
        facts = self.set(u.value)
        if facts.non_string:
            raise self.fail("the right-hand side of an update can contain a non-string element "
                            "(regex, wildcard, number or domain); metadata sets hold strings "
                            "only", u.value.span)
        self.in_context(facts, context)

    def stmts(self, stmts: tuple[A.Stmt, ...], context: Context) -> None:
        for s in stmts:
            if isinstance(s, A.WhenGroup):
                self.in_context(self.pred(s.condition), context)
                for u in s.updates:
                    self.update(u, context)
            else:
                self.update(s, context)

    def declaration(self, d: A.Declaration) -> None:
        if isinstance(d, A.Let):
            self.define(d)
        elif isinstance(d, A.ToolShorthand):
            context: Context = d.phase
            self.update(d.update, context)
            if d.condition is not None:
                self.in_context(self.pred(d.condition), context)
        else:
            self.block(d)

    def block(self, d: A.ToolBlock) -> None:
        seen: A.Priority | None = None
        for m in d.members:
            if isinstance(m, A.Priority):
                if seen is not None:
                    raise self.fail(f"a tool block has at most one priority (the first is at "
                                    f"line {seen.span.line})", m.span)
                seen = m
            elif isinstance(m, A.CheckRule):
                if m.trigger is not None:
                    self.in_context(self.pred(m.trigger), "check")
            elif isinstance(m, A.ResultBlock):
                self.stmts(m.stmts, "result")
            else:
                self.stmts(m.stmts, m.phase)


def _via(u: Use) -> str:
    return f" (through let '{u.via}')" if u.via else ""


def check_program(program: A.Program) -> dict[str, LetInfo]:
    """Run the static checks; returns the let table the compiler expands uses from."""
    checker = _Checker(program)
    for decl in program.declarations:
        checker.declaration(decl)
    return checker.lets
