"""Compiles SQRT predicates and set expressions into closures over a call environment (spec 6)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from server.policy.errors import PolicyLoadError
from server.policy.metadata import (
    EMPTY, UNIVERSAL, Labelled, MetaData, set_difference, set_intersection,
    set_symmetric_difference, set_union,
)
from server.policy.sqrt import ast as A
from server.policy.sqrt.checks import Context, LetInfo
from server.policy.sqrt.domains import DomainCompiler
from server.policy.sqrt.limits import Limits
from server.policy.sqrt.spans import load_error
from server.policy.sqrt.values import (
    SetValue, covers, matchers_of, overlaps, subset_of, superset_of, values_equal,
)

__all__ = ["Env", "Pred", "SetCode", "ExprCompiler", "SET_OPS"]

Pred = Callable[["Env"], bool]
SetFn = Callable[["Env"], SetValue]
ValFn = Callable[["Env"], Any]
SET_OPS: dict[str, Callable[[SetValue, SetValue], SetValue]] = {
    "|": set_union, "&": set_intersection, "-": set_difference, "^": set_symmetric_difference,
}
_DEFAULTS = {"producers": EMPTY, "consumers": UNIVERSAL, "tags": EMPTY}


class Env:
    """One call as the closures see it; `session` and `result` change as updates run."""

    __slots__ = ("args", "session", "result")

    def __init__(self, args: Mapping[str, Labelled], session: MetaData,
                 result: Labelled | None = None) -> None:
        self.args = args
        self.session = session
        self.result = result


@dataclass(frozen=True, slots=True)
class SetCode:
    """A compiled set expression; `const` is its value when it does not depend on the call."""

    fn: SetFn
    const: SetValue | None = None


def _true(env: Env) -> bool:
    return True


def _false(env: Env) -> bool:
    return False


def _const_set(value: SetValue) -> SetCode:
    value = UNIVERSAL if "*" in value else value
    return SetCode(lambda env: value, value)


def _fold(fns: list[Callable[[Env], Any]], combine: Callable[[Any, Any], Any]) -> SetFn:
    first, rest = fns[0], fns[1:]

    def run(env: Env) -> SetValue:
        out = first(env)
        for g in rest:
            out = combine(out, g(env))
        return out  # type: ignore[no-any-return]

    return run


class ExprCompiler:
    """Compiles expressions of one policy; `let` uses expand to the body compiled per context."""

    def __init__(self, *, source: str, lets: Mapping[str, LetInfo], limits: Limits) -> None:
        self.source = source
        self.lets = lets
        self.domains = DomainCompiler(source=source, limits=limits)
        self._expanded: dict[tuple[str, str], Any] = {}

    def fail(self, message: str, span: A.Span) -> PolicyLoadError:
        return load_error(self.source, message, span)

    def _let(self, name: str, ctx: Context, build: Callable[[Any], Any]) -> Any:
        key = (name, "result" if ctx == "result" else "session")  # all @FIELD depends on
        if key not in self._expanded:
            self._expanded[key] = build(self.lets[name].body)
        return self._expanded[key]

    # --- predicates -------------------------------------------------------------------------

    def pred(self, e: Any, ctx: Context) -> Pred:
        if isinstance(e, A.Paren):
            return self.pred(e.inner, ctx)
        if isinstance(e, A.Const):
            return _true if e.literal.value else _false  # type: ignore[union-attr]
        if isinstance(e, A.NameRef):
            if e.name in ("true", "false"):
                return _true if e.name == "true" else _false
            return self._let(e.name, ctx, lambda body: self.pred(body, ctx))  # type: ignore[no-any-return]
        if isinstance(e, A.Not):
            inner = self.pred(e.operand, ctx)
            return lambda env: not inner(env)
        if isinstance(e, A.And | A.Or):
            return self._junction(e, ctx)
        return self._compare(e, ctx)

    def _junction(self, e: A.And | A.Or, ctx: Context) -> Pred:
        fns = [self.pred(op, ctx) for op in e.operands]
        is_and = isinstance(e, A.And)
        if len(fns) == 2:
            a, b = fns
            return (lambda env: a(env) and b(env)) if is_and else (lambda env: a(env) or b(env))

        def run(env: Env) -> bool:
            for g in fns:
                if bool(g(env)) is not is_and:
                    return not is_and
            return is_and

        return run

    def _compare(self, c: A.Compare, ctx: Context) -> Pred:
        if c.op == "in":
            right = c.right
            while isinstance(right, A.Paren):
                right = right.inner
            if isinstance(right, A.MetaRef) and right.scope == "args" and right.agg == "union":
                return self._in_args(self.value(c.left, ctx), right)
            return self._in(self.value(c.left, ctx), self.set(c.right, ctx))
        if c.op == "==" and not isinstance(c.left, A.MetaRef):
            lf, rf = self.value(c.left, ctx), self.value(c.right, ctx)
            return lambda env: values_equal(lf(env), rf(env))
        left = self.meta(c.left, ctx)  # type: ignore[arg-type]
        if c.op == "is_empty":
            return lambda env: len(left(env)) == 0
        if c.op == "is_universal":
            return lambda env: "*" in left(env)
        code = self.set(c.right, ctx)
        rc, rf_ = code.const, code.fn
        rm = matchers_of(rc) if rc is not None else None
        if c.op == "overlaps":
            if rc is not None and not rm and "*" not in rc:
                return lambda env: (bool(rc) if "*" in (a := left(env))
                                    else not rc.isdisjoint(a))
            if rc is not None:
                return lambda env: overlaps(left(env), rc, rm)
            return lambda env: overlaps(left(env), rf_(env))
        if c.op == "subset":
            return lambda env: subset_of(left(env), rf_(env), rm)
        if c.op == "superset":
            return lambda env: superset_of(left(env), rf_(env))
        return lambda env: subset_of(a := left(env), b := rf_(env), rm) and superset_of(a, b)

    @staticmethod
    def _in(vf: ValFn, s: SetCode) -> Pred:
        cs = s.const
        if cs is None:
            sf = s.fn
            return lambda env: covers(sf(env), vf(env))
        cm = matchers_of(cs)
        if not cm and "*" not in cs:
            return lambda env: type(x := vf(env)) is str and x in cs
        if "*" in cs:
            return lambda env: covers(cs, vf(env), cm)

        def test(env: Env) -> bool:
            v = vf(env)
            if type(v) is str:  # inlined `covers` for the common case
                if v in cs:
                    return True
                for m in cm:
                    if m.matches(v):
                        return True
                return False
            return covers(cs, v, cm)

        return test

    def _in_args(self, vf: ValFn, ref: A.MetaRef) -> Pred:
        """`v in @args.F` (union): covered by the union iff covered by one argument's set."""
        field, default = ref.field, _DEFAULTS[ref.field]

        def test(env: Env) -> bool:
            v = vf(env)
            if not env.args:
                return covers(default, v, ())
            if type(v) is str:  # metadata sets hold strings only: no matchers to try
                for a in env.args.values():
                    s = getattr(a.meta, field)
                    if v in s or "*" in s:
                        return True
                return False
            return any(covers(getattr(a.meta, field), v, ()) for a in env.args.values())

        return test

    # --- values and metadata references -----------------------------------------------------

    def value(self, e: Any, ctx: Context) -> ValFn:
        if isinstance(e, A.Const):
            v = self.domains.constant(e.literal)
            return lambda env: v
        if e.scope == "arg":
            name = e.name

            def arg_value(env: Env) -> Any:
                a = env.args.get(name)
                return a.value if a is not None else None

            return arg_value
        if e.scope == "result":
            return lambda env: env.result.value  # type: ignore[union-attr]
        return lambda env: None  # @session.value is null (spec 4.4)

    def meta(self, e: A.MetaRef, ctx: Context) -> SetFn:
        field, scope = e.field, e.scope
        if scope == "ctx":
            scope = "result" if ctx == "result" else "session"
        if scope == "arg":
            name, default = e.name or "", _DEFAULTS[field]

            def arg_meta(env: Env) -> SetValue:
                a = env.args.get(name)
                return getattr(a.meta, field) if a is not None else default

            return arg_meta
        if scope == "result":
            return lambda env: getattr(env.result.meta, field)  # type: ignore[union-attr]
        if scope == "session":
            return lambda env: getattr(env.session, field)
        combine = set_union if e.agg == "union" else set_intersection
        default = _DEFAULTS[field]

        def aggregate(env: Env) -> SetValue:
            out: SetValue | None = None
            for a in env.args.values():
                s = getattr(a.meta, field)
                out = s if out is None else combine(out, s)
            return default if out is None else out

        return aggregate

    # --- set expressions --------------------------------------------------------------------

    def set(self, e: Any, ctx: Context) -> SetCode:
        if isinstance(e, A.Paren):
            return self.set(e.inner, ctx)
        if isinstance(e, A.SetLiteral):
            return _const_set(frozenset(self.domains.element(x) for x in e.elements))
        if isinstance(e, A.MetaRef):
            return SetCode(self.meta(e, ctx))
        if isinstance(e, A.NameRef):
            return self._let(e.name, ctx, lambda body: self._let_set(body, ctx))  # type: ignore[no-any-return]
        if isinstance(e, A.WithOp):
            return self._with(e, ctx)
        codes = [self.set(op, ctx) for op in e.operands]
        combine = SET_OPS[e.op]
        if all(c.const is not None for c in codes):
            out = codes[0].const
            for c in codes[1:]:
                out = combine(out, c.const)  # type: ignore[arg-type]
            return _const_set(out)  # type: ignore[arg-type]
        return SetCode(_fold([c.fn for c in codes], combine))

    def _let_set(self, body: Any, ctx: Context) -> SetCode:
        if isinstance(body, A.BoolDomain | A.IntDomain | A.FloatDomain | A.StrDomain
                      | A.DatetimeDomain):
            return _const_set(frozenset({self.domains.element(body)}))
        return self.set(body, ctx)

    def _with(self, e: A.WithOp, ctx: Context) -> SetCode:
        base = self.set(e.base, ctx)
        steps = [(op == "with", self.domains.element(x)) for op, x in e.steps]

        def apply(s: SetValue) -> SetValue:
            for add, item in steps:
                if "*" in s:
                    continue  # U with e = U; U without e = U (spec 6.2)
                s = (UNIVERSAL if item == "*" else s | {item}) if add else s - {item}
            return s

        if base.const is not None:
            return _const_set(apply(base.const))
        fn = base.fn
        return SetCode(lambda env: apply(fn(env)))

