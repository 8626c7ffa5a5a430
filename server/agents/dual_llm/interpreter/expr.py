"""Expressions: a dispatch table keyed by `ast` node type, each entry turning a node into a closure.

Decision: the walk over the AST happens once per program — every node is turned into a Python
closure `f(state) -> (value, meta)` by the builder registered for its type; running a program is
calling closures. This is still a tree-walking evaluator (no `eval`/`exec`/`compile` of program
text), with the dispatch precomputed instead of repeated for every node visit; constant displays
are built once (values are immutable). Internal signatures of the dispatch tables are positional
(uniform and on the hot path), unlike the public API, which takes keywords.
"""

from __future__ import annotations

import ast
import operator
from types import MappingProxyType
from collections.abc import Callable, Mapping
from typing import Any, Final

from server.agents.dual_llm.interpreter import calls, comprehensions, fstrings
from server.agents.dual_llm.interpreter.errors import TRANSLATABLE, translate
from server.agents.dual_llm.interpreter.ops import BINOPS, CMPOPS, UNARYOPS
from server.agents.dual_llm.interpreter.places import NamePlace, compile_place, getitem
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import (
    D,
    LDict,
    LList,
    LSet,
    LTuple,
    Val,
    join,
    join_vals,
)

__all__ = ["compile_expr", "EXPR", "restore_ctx"]

ExprFn = Callable[[State], Val]
Builder = Callable[[Any], ExprFn]


def compile_expr(node: ast.expr) -> ExprFn:
    """The closure evaluating `node` (the subset check has already accepted it)."""
    return EXPR[type(node)](node)


def restore_ctx(st: State, saved: Any) -> None:
    """Leave a conditional region: back to `saved`, keeping whatever became sticky."""
    st.ctx = saved if st.sticky is D else join(saved, st.sticky)


def _constant(node: ast.Constant) -> ExprFn:
    pair = (node.value, D)
    return lambda st: pair


def _name(node: ast.Name) -> ExprFn:
    name = node.id

    def f(st: State) -> Val:
        v = st.ns.get(name)
        return v if v is not None else st.resolve(st, name)

    return f


# Operators that cannot build anything large from two ints: applied directly (the hot path).
_INT_FAST: Final = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mod: operator.mod,
    ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv,
}


def _binop(node: ast.BinOp) -> ExprFn:
    left, right, op = compile_expr(node.left), compile_expr(node.right), BINOPS[type(node.op)]
    fast = _INT_FAST.get(type(node.op))

    def f(st: State) -> Val:
        a, am = left(st)
        b, bm = right(st)
        m = am if bm is D else join(am, bm)
        try:
            if fast is not None and type(a) is int and type(b) is int:
                return (fast(a, b), m)
            r = op(a, b, st.limits)
        except TRANSLATABLE as exc:
            raise translate(exc, join(m, st.ctx)) from None
        st.charge(r)
        return (r, m)

    return f


def _unaryop(node: ast.UnaryOp) -> ExprFn:
    operand, op = compile_expr(node.operand), UNARYOPS[type(node.op)]

    def f(st: State) -> Val:
        a, am = operand(st)
        try:
            return (op(a), am)
        except TRANSLATABLE as exc:
            raise translate(exc, join(am, st.ctx)) from None

    return f


def _boolop(node: ast.BoolOp) -> ExprFn:
    """Short-circuit: later operands run under the control of earlier ones; the result carries the
    join of every operand evaluated. `custom` mode checks each operand that decides whether the
    next one runs (a short-circuit is a branch point)."""
    parts = [compile_expr(v) for v in node.values]
    last = len(parts) - 1
    is_and = isinstance(node.op, ast.And)
    line = node.lineno

    def f(st: State) -> Val:
        saved = st.ctx
        m = D
        v: Any = None
        for i, g in enumerate(parts):
            v, vm = g(st)
            m = join(m, vm)
            if i == last:
                break
            if st.custom:
                st.check_branch(vm, line)
            if (not v) if is_and else v:
                break
            st.ctx = join(st.ctx, vm)
        restore_ctx(st, saved)
        return (v, m)

    return f


def _compare(node: ast.Compare) -> ExprFn:
    left = compile_expr(node.left)
    pairs = [(CMPOPS[type(o)], compile_expr(c)) for o, c in zip(node.ops, node.comparators)]
    if len(pairs) == 1:
        op, right = pairs[0]

        def single(st: State) -> Val:
            a, am = left(st)
            b, bm = right(st)
            m = am if bm is D else join(am, bm)
            try:
                return (op(a, b), m)
            except TRANSLATABLE as exc:
                raise translate(exc, join(m, st.ctx)) from None

        return single

    def chain(st: State) -> Val:
        a, m = left(st)
        r = True
        for op, g in pairs:
            b, bm = g(st)
            m = join(m, bm)
            try:
                r = op(a, b)
            except TRANSLATABLE as exc:
                raise translate(exc, join(m, st.ctx)) from None
            if not r:
                return (False, m)
            a = b
        return (r, m)

    return chain


def _ifexp(node: ast.IfExp) -> ExprFn:
    """The chosen branch runs under the test's control; the result carries the test's metadata in
    `strict` mode only (spec dual-llm 5: in `standard` only explicit data flow is tracked)."""
    test, body, orelse = compile_expr(node.test), compile_expr(node.body), compile_expr(node.orelse)
    line = node.lineno

    def f(st: State) -> Val:
        t, tm = test(st)
        if st.custom:
            st.check_branch(tm, line)
        saved = st.ctx
        st.ctx = join(saved, tm)
        v, vm = body(st) if t else orelse(st)
        restore_ctx(st, saved)
        return (v, join(vm, tm)) if st.strict else (v, vm)

    return f


def _subscript(node: ast.Subscript) -> ExprFn:
    value = compile_expr(node.value)
    if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str | int):
        key = node.slice.value
        kpair = (key, D)

        def const_key(st: State) -> Val:
            cv = value(st)
            c = cv[0]
            if type(c) is LDict:
                e = c.items.get(key)
                if e is not None:
                    return e
            return getitem(cv, kpair, st)

        return const_key
    index = compile_expr(node.slice)
    return lambda st: getitem(value(st), index(st), st)


def _slice(node: ast.Slice) -> ExprFn:
    parts = [compile_expr(p) if p is not None else None for p in (node.lower, node.upper, node.step)]

    def f(st: State) -> Val:
        vals = [p(st) if p is not None else (None, D) for p in parts]
        for v, vm in vals:
            if v is not None and type(v) is not int and type(v) is not bool:
                raise st.error("TypeError", "slice indices must be integers or None", vm)
        return (slice(*(v for v, _ in vals)), join_vals(vals))

    return f


def _all_constant(nodes: list[ast.expr]) -> bool:
    return all(isinstance(n, ast.Constant) for n in nodes)


def _sequence(kind: type[LList] | type[LTuple]) -> Builder:
    def build(node: ast.List | ast.Tuple) -> ExprFn:
        if _all_constant(node.elts):
            pair = (kind(tuple((e.value, D) for e in node.elts)), D)  # type: ignore[attr-defined]
            return lambda st: pair
        fs = [compile_expr(e) for e in node.elts]

        def f(st: State) -> Val:
            items = tuple([g(st) for g in fs])
            return (kind(items), join_vals(items))

        return f

    return build


def _set(node: ast.Set) -> ExprFn:
    fs = [compile_expr(e) for e in node.elts]

    def f(st: State) -> Val:
        items: dict[Any, Any] = {}
        m = D
        for g in fs:
            v, vm = g(st)
            try:
                items[v] = join(items[v], vm) if v in items else vm
            except TypeError as exc:
                raise translate(exc, join(vm, st.ctx)) from None
            m = join(m, vm)
        return (LSet(items), m)

    return f


def _dict(node: ast.Dict) -> ExprFn:
    if all(isinstance(k, ast.Constant) for k in node.keys):
        keys = [k.value for k in node.keys]  # type: ignore[union-attr]
        if _all_constant(node.values):
            pair = (LDict({k: (v.value, D) for k, v in zip(keys, node.values)}), D)  # type: ignore[attr-defined]
            return lambda st: pair
        entries = list(zip(keys, [compile_expr(v) for v in node.values]))

        def const_keys(st: State) -> Val:
            items = {k: g(st) for k, g in entries}
            return (LDict(items), join_vals(items.values()))

        return const_keys
    pairs = [(compile_expr(k), compile_expr(v)) for k, v in zip(node.keys, node.values)]  # type: ignore[arg-type]

    def f(st: State) -> Val:
        items: dict[Any, Val] = {}
        m = D
        for kf, vf in pairs:
            k, km = kf(st)
            v, vm = vf(st)
            em = join(vm, km)
            try:
                items[k] = (v, em)
            except TypeError as exc:
                raise translate(exc, join(km, st.ctx)) from None
            m = join(m, em)
        return (LDict(items), m)

    return f


def _attribute(node: ast.Attribute) -> ExprFn:
    value, attr = compile_expr(node.value), node.attr
    return lambda st: calls.get_attribute(st, value(st), attr)


_NO_KW: Final[Mapping[str, Val]] = MappingProxyType({})


def _arguments(node: ast.Call) -> Callable[[State], tuple[list[Val], Mapping[str, Val]]]:
    args = [compile_expr(a) for a in node.args]
    kws = [(k.arg, compile_expr(k.value)) for k in node.keywords]
    if not kws and len(args) == 1:
        only = args[0]
        return lambda st: ([only(st)], _NO_KW)
    if not kws:
        return lambda st: ([g(st) for g in args], _NO_KW)
    return lambda st: ([g(st) for g in args], {k: g(st) for k, g in kws})  # type: ignore[misc]


def _call(node: ast.Call) -> ExprFn:
    arguments = _arguments(node)
    func = node.func
    if isinstance(func, ast.Attribute):
        place = compile_place(func.value, compile_expr) if isinstance(
            func.value, ast.Name | ast.Subscript | ast.Call
        ) else None
        recv = compile_expr(func.value)
        by_name = isinstance(place, NamePlace)
        name = func.attr

        def method(st: State) -> Val:
            token = None
            if place is not None and not by_name:
                rv, token = place.load(st)
            else:
                rv = recv(st)
            a, kw = arguments(st)
            if st.strict and st.ctx is not D:  # values stored by a mutation are "assigned" here
                a = [(v, join(m, st.ctx)) for v, m in a]
            result, new_recv = calls.invoke_method(st, rv, name, a, kw)
            if new_recv is not None and place is not None:
                if st.strict and st.ctx is not D:
                    new_recv = (new_recv[0], join(new_recv[1], st.ctx))
                place.store(st, token, new_recv)
            return result

        return method
    fn = compile_expr(func)

    def call(st: State) -> Val:
        fv = fn(st)
        a, kw = arguments(st)
        return calls.call_value(st, fv, a, kw)

    return call


EXPR: Final[dict[type[ast.AST], Builder]] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.BinOp: _binop,
    ast.UnaryOp: _unaryop,
    ast.BoolOp: _boolop,
    ast.Compare: _compare,
    ast.IfExp: _ifexp,
    ast.Subscript: _subscript,
    ast.Slice: _slice,
    ast.List: _sequence(LList),
    ast.Tuple: _sequence(LTuple),
    ast.Set: _set,
    ast.Dict: _dict,
    ast.JoinedStr: lambda n: fstrings.build(n, compile_expr),
    ast.Attribute: _attribute,
    ast.Call: _call,
    ast.ListComp: lambda n: comprehensions.build(n, compile_expr, kind="list"),
    ast.SetComp: lambda n: comprehensions.build(n, compile_expr, kind="set"),
    ast.GeneratorExp: lambda n: comprehensions.build(n, compile_expr, kind="list"),
    ast.DictComp: lambda n: comprehensions.build(n, compile_expr, kind="dict"),
}
