"""Statements: builders keyed by `ast` node type, producing closures run by `run_block`.

A statement closure returns None, or `BREAK`/`CONTINUE` for the enclosing loop. Every statement
adds its static weight to the node counter (see `Limits.max_nodes`) and stamps its line on program
errors raised below it.

Control flow and metadata (spec dual-llm 5):
- `if`, `for` and the handlers of `try` run their bodies with the condition / iterable / caught
  error's metadata joined into the control context (`state.ctx`); `strict` mode joins that context
  into assigned values and tool arguments;
- `strict` mode also makes the context *sticky* (joined into the rest of the program) when a
  conditional block may `break`/`continue`, or an error is caught (see `handlers`), since what
  runs afterwards depends on it;
- `custom` mode calls the branch check on each `if` test and `for` iterable; `except` clauses are
  not branch points for it (the spec lists conditions, loops and conditional expressions only);
- `try`/`raise` are in `handlers`: `finally` never runs for interpreter signals.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any, Final

from server.agents.dual_llm.interpreter import handlers
from server.agents.dual_llm.interpreter.blocks import BREAK, CONTINUE, StmtFn, restore_ctx, run_block
from server.agents.dual_llm.interpreter.comprehensions import expr_weight
from server.agents.dual_llm.interpreter.convert import iter_vals
from server.agents.dual_llm.interpreter.errors import TRANSLATABLE, ProgramRuntimeError, translate
from server.agents.dual_llm.interpreter.expr import compile_expr
from server.agents.dual_llm.interpreter.modules import MODULES
from server.agents.dual_llm.interpreter.ops import BINOPS, relabel
from server.agents.dual_llm.interpreter.places import NamePlace, Place, compile_place, setitem
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import D, LList, Val, join
from server.policy.metadata import MetaData

__all__ = ["compile_block", "run_block", "BREAK", "CONTINUE", "UNKNOWN_CAUSE", "StmtFn"]

# Cause of a host error that escaped every operation-level translation: treat it as untrusted.
UNKNOWN_CAUSE: Final = MetaData(tags=frozenset({"__error_cause_unknown"}))


def compile_block(stmts: list[ast.stmt]) -> tuple[StmtFn, ...]:
    return tuple(_statement(s) for s in stmts)


def _place(node: ast.expr) -> Place:
    place = compile_place(node, compile_expr)
    if place is None:
        raise ValueError(f"line {node.lineno}: unsupported assignment target")
    return place


def _statement(node: ast.stmt) -> StmtFn:
    body, weight = STMT[type(node)](node)
    line, col = node.lineno, node.col_offset + 1

    def s(st: State) -> Any:
        st.nodes += weight
        if st.nodes > st.budget:
            st.over(line)
        try:
            return body(st)
        except ProgramRuntimeError as exc:
            if exc.line is None:
                exc.line, exc.column = line, col
            raise
        except TRANSLATABLE as exc:
            err = translate(exc, join(UNKNOWN_CAUSE, st.ctx))
            err.line, err.column = line, col
            raise err from None

    return s


def _expr(node: ast.Expr) -> tuple[StmtFn, int]:
    f = compile_expr(node.value)

    def body(st: State) -> None:
        f(st)

    return body, 1 + expr_weight(node.value)


def _assign(node: ast.Assign) -> tuple[StmtFn, int]:
    value = compile_expr(node.value)
    places = [_place(t) for t in node.targets]
    weight = 1 + expr_weight(node.value, *node.targets)
    if len(places) == 1 and isinstance(places[0], NamePlace):
        name = places[0].name

        def to_name(st: State) -> None:
            v = value(st)
            if st.strict and st.ctx is not D:
                v = relabel(v, st.ctx)
            st.ns[name] = v

        return to_name, weight

    def body(st: State) -> None:
        v = value(st)
        for p in places:
            p.assign(st, v)

    return body, weight


def _augassign(node: ast.AugAssign) -> tuple[StmtFn, int]:
    place, value, op = _place(node.target), compile_expr(node.value), BINOPS[type(node.op)]

    def body(st: State) -> None:
        (a, am), token = place.load(st)
        b, bm = value(st)
        m = join(am, bm)
        try:
            new: Val = (op(a, b, st.limits), m)
        except TRANSLATABLE as exc:
            raise translate(exc, join(m, st.ctx)) from None
        st.charge(new[0])
        if st.strict and st.ctx is not D:
            new = relabel(new, st.ctx)
        place.store(st, token, new)

    return body, 1 + expr_weight(node.target, node.value)


def _jumps(stmts: list[ast.stmt]) -> bool:
    """Whether `break`/`continue` of an enclosing loop occurs in `stmts` (not in nested loops)."""
    for s in stmts:
        if isinstance(s, ast.Break | ast.Continue):
            return True
        if isinstance(s, ast.If) and (_jumps(s.body) or _jumps(s.orelse)):
            return True
        if isinstance(s, ast.Try) and any(
            _jumps(b) for b in (s.body, s.orelse, s.finalbody, *(h.body for h in s.handlers))
        ):
            return True
        if isinstance(s, ast.For) and _jumps(s.orelse):
            return True
    return False


def _if(node: ast.If) -> tuple[StmtFn, int]:
    """In `strict` mode an `if` that may `break`/`continue` makes its test sticky whichever branch
    runs: the rest of the loop, and what follows it, depends on whether the jump happened."""
    test, then, orelse = compile_expr(node.test), compile_block(node.body), compile_block(node.orelse)
    line = node.lineno
    jumps = _jumps(node.body) or _jumps(node.orelse)

    def body(st: State) -> Any:
        t, tm = test(st)
        if st.custom:
            st.check_branch(tm, line)
        saved = st.ctx
        if tm is not D:
            st.ctx = join(saved, tm)
        if jumps and st.strict:
            st.make_sticky(st.ctx)
        r = run_block(st, then if t else orelse)
        st.ctx = saved if st.sticky is D else join(saved, st.sticky)
        return r

    return body, 1 + expr_weight(node.test)


def _rooted_at(node: ast.AST, name: str) -> bool:
    while isinstance(node, ast.Subscript | ast.Attribute | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return isinstance(node, ast.Name) and node.id == name


def _mutates_loop_variable(body: list[ast.stmt], name: str) -> bool:
    """Whether the body updates the loop variable in place (`item[k] = v`, `item.append(v)`)
    without rebinding it (`item = ...`)."""
    mutates = False
    for n in (x for s in body for x in ast.walk(s)):
        if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store):
            return False  # rebound: Python would not write back either
        if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store | ast.Del) and _rooted_at(n, name):
            mutates = True
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and _rooted_at(n.func.value, name):
            mutates = True
    return mutates


def _for(node: ast.For) -> tuple[StmtFn, int]:
    """Loops over a list variable whose body updates the loop variable in place write each
    updated element back into the list after its iteration, as Python's aliasing would (values are
    copy-on-write here); skipped when the body rebinds the list variable itself."""
    it, loop, orelse = compile_expr(node.iter), compile_block(node.body), compile_block(node.orelse)
    target = _place(node.target)
    name = target.name if isinstance(target, NamePlace) else None
    line = node.lineno
    write_back = (
        node.iter.id
        if isinstance(node.iter, ast.Name) and name is not None and _mutates_loop_variable(node.body, name)
        else None
    )

    def body(st: State) -> Any:
        itv = it(st)
        if st.custom:
            st.check_branch(itv[1], line)
        try:
            elems = iter_vals(itv)
        except TypeError as exc:
            raise translate(exc, join(itv[1], st.ctx)) from None
        saved = st.ctx
        st.ctx = join(saved, itv[1])
        ns = st.ns
        if write_back is not None and type(itv[0]) is LList:
            return _loop_writing_back(st, itv, write_back, name, target, loop, orelse, saved)  # type: ignore[arg-type]
        plain = name is not None and not st.strict
        for e in elems:
            if plain:
                ns[name] = e  # type: ignore[index]
            else:
                target.assign(st, e)
            r = run_block(st, loop)
            if r is BREAK:
                restore_ctx(st, saved)
                return None
        restore_ctx(st, saved)
        return run_block(st, orelse) if orelse else None

    return body, 1 + expr_weight(node.iter, node.target)


def _loop_writing_back(
    st: State, itv: Val, list_name: str, name: str, target: Place, loop: Sequence[StmtFn],
    orelse: Sequence[StmtFn], saved: MetaData,
) -> Any:
    current = itv
    broke = False
    for i, e in enumerate(itv[0].items):
        target.assign(st, e)
        assigned = st.ns[name]
        r = run_block(st, loop)
        after = st.ns.get(name)
        if after is not None and after is not assigned:
            current = setitem(current, (i, D), after, st)
        if r is BREAK:
            broke = True
            break
    restore_ctx(st, saved)
    if current is not itv and st.ns.get(list_name) is itv:
        st.ns[list_name] = current
    if broke or not orelse:
        return None
    return run_block(st, orelse)


def _jump(signal: str) -> Callable[[ast.stmt], tuple[StmtFn, int]]:
    return lambda node: ((lambda st: signal), 1)


def _import(node: ast.Import) -> tuple[StmtFn, int]:
    binds = [(a.asname or a.name, MODULES[a.name]) for a in node.names]

    def body(st: State) -> None:
        for name, mod in binds:
            st.ns[name] = (mod, D)

    return body, 1


def _import_from(node: ast.ImportFrom) -> tuple[StmtFn, int]:
    mod = MODULES[node.module or ""]
    binds = [(a.asname or a.name, mod.attrs[a.name]) for a in node.names]

    def body(st: State) -> None:
        for name, value in binds:
            st.ns[name] = (value, D)

    return body, 1


def _delete(node: ast.Delete) -> tuple[StmtFn, int]:
    places = [_place(t) for t in node.targets]

    def body(st: State) -> None:
        for p in places:
            p.delete(st)

    return body, 1 + expr_weight(*node.targets)


STMT: Final[dict[type[ast.AST], Callable[[Any], tuple[StmtFn, int]]]] = {
    ast.Expr: _expr,
    ast.Assign: _assign,
    ast.AugAssign: _augassign,
    ast.If: _if,
    ast.For: _for,
    ast.Break: _jump(BREAK),
    ast.Continue: _jump(CONTINUE),
    ast.Pass: lambda node: ((lambda st: None), 1),
    ast.Try: lambda node: handlers.build_try(node, compile_block),
    ast.Raise: handlers.build_raise,
    ast.Import: _import,
    ast.ImportFrom: _import_from,
    ast.Delete: _delete,
}
