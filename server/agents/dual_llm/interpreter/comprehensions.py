"""Comprehensions (list, set, dict; generator expressions are evaluated eagerly into a list).

Metadata: each element keeps its own metadata (in `strict` mode joined with the control context:
the iterables and the `if` conditions that selected it); the container's metadata is the join of
every iterable, every condition evaluated and every element, since its length and order depend on
all of them. Loop variables do not leak: their previous bindings are restored afterwards.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from server.agents.dual_llm.interpreter.convert import iter_vals
from server.agents.dual_llm.interpreter.errors import LimitExceeded, translate
from server.agents.dual_llm.interpreter.limits import ELEMENT_BYTES
from server.agents.dual_llm.interpreter.places import Place, compile_place
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import D, LDict, LList, LSet, Val, join

__all__ = ["build", "expr_weight"]

ExprFn = Callable[[State], Val]


def expr_weight(*nodes: ast.AST | None) -> int:
    """Static node count of expressions (the unit of `Limits.max_nodes`)."""
    return sum(1 for n in nodes if n is not None for x in ast.walk(n) if isinstance(x, ast.expr))


def build(node: Any, compile_expr: Callable[[ast.expr], ExprFn], *, kind: str) -> ExprFn:
    gens: list[tuple[Place, ExprFn, list[ExprFn]]] = []
    names: set[str] = set()
    for g in node.generators:
        place = compile_place(g.target, compile_expr)
        if place is None:  # the subset check only admits names and tuples of names
            raise ValueError("comprehension target must be a name or a tuple of names")
        gens.append((place, compile_expr(g.iter), [compile_expr(c) for c in g.ifs]))
        names.update(n.id for n in ast.walk(g.target) if isinstance(n, ast.Name))
    if kind == "dict":
        key_f, val_f = compile_expr(node.key), compile_expr(node.value)
        weight = expr_weight(node.key, node.value)
    else:
        elt_f = compile_expr(node.elt)
        weight = expr_weight(node.elt)
    weight += sum(expr_weight(c) for g in node.generators for c in g.ifs) + 1
    line = node.lineno
    last = len(gens) - 1

    def f(st: State) -> Val:
        saved = {n: st.ns.get(n) for n in names}
        saved_ctx = st.ctx
        out: list[Val] = []
        keyed: dict[Any, Val] = {}
        acc = [D]
        max_size = st.limits.max_container_size

        def emit() -> None:
            if kind == "dict":
                k, km = key_f(st)
                v, vm = val_f(st)
                m = join(join(vm, km), st.ctx) if st.strict else join(vm, km)
                try:
                    keyed[k] = (v, m)
                except TypeError as exc:
                    raise translate(exc, join(km, st.ctx)) from None
                size = len(keyed)
            else:
                v, m = elt_f(st)
                if st.strict and st.ctx is not D:
                    m = join(m, st.ctx)
                out.append((v, m))
                size = len(out)
            acc[0] = join(acc[0], m)
            if size > max_size:
                raise LimitExceeded(
                    "max_container_size", f"a comprehension of more than {max_size} elements"
                )

        def loop(i: int) -> None:
            place, it, conds = gens[i]
            itv = it(st)
            if st.custom:
                st.check_branch(itv[1], line)
            acc[0] = join(acc[0], itv[1])
            outer = st.ctx
            st.ctx = join(outer, itv[1])
            try:
                elems = iter_vals(itv)
            except TypeError as exc:
                raise translate(exc, join(itv[1], st.ctx)) from None
            for e in elems:
                st.nodes += weight
                if st.nodes > st.budget:
                    st.over(line)
                place.store(st, None, e)
                ok = True
                inner = st.ctx
                for c in conds:
                    cv, cm = c(st)
                    if st.custom:
                        st.check_branch(cm, line)
                    acc[0] = join(acc[0], cm)
                    st.ctx = join(st.ctx, cm)
                    if not cv:
                        ok = False
                        break
                if ok:
                    if i == last:
                        emit()
                    else:
                        loop(i + 1)
                st.ctx = inner
            st.ctx = outer

        try:
            loop(0)
        finally:
            for n, v in saved.items():
                if v is None:
                    st.ns.pop(n, None)
                else:
                    st.ns[n] = v
            st.ctx = saved_ctx if st.sticky is D else join(saved_ctx, st.sticky)
        st.charge_bytes((len(keyed) if kind == "dict" else len(out)) * ELEMENT_BYTES)
        if kind == "dict":
            return (LDict(keyed), acc[0])
        if kind == "set":
            members: dict[Any, Any] = {}
            for v, m in out:
                try:
                    members[v] = join(members[v], m) if v in members else m
                except TypeError as exc:
                    raise translate(exc, join(m, st.ctx)) from None
            return (LSet(members), acc[0])
        return (LList(tuple(out)), acc[0])

    return f
