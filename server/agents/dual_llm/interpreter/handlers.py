"""`try`/`except`/`else`/`finally` and `raise`: program errors as values with cause metadata.

Decisions: only `ProgramRuntimeError` (and its `ToolError`, `NotEnoughInformationError`) is caught;
interpreter signals pass through and `finally` does not run for them, since a replay must not see
effects the first run did not have. A caught error's metadata joins the handler's control context
(and, in `strict` mode, the rest of the program's: whether the handler ran depends on it). `e` is
bound to an error value carrying that metadata; a bare `raise` re-raises the error being handled.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from server.agents.dual_llm.interpreter.blocks import StmtFn, restore_ctx, run_block
from server.agents.dual_llm.interpreter.comprehensions import expr_weight
from server.agents.dual_llm.interpreter.errors import ProgramRuntimeError, is_subclass
from server.agents.dual_llm.interpreter.expr import compile_expr
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import ErrorType, ErrorValue, join
from server.policy.metadata import MetaData

__all__ = ["build_try", "build_raise"]

CompileBlock = Callable[[list[ast.stmt]], tuple[StmtFn, ...]]


def _handler_types(h: ast.ExceptHandler) -> tuple[str, ...] | None:
    if h.type is None:
        return None
    names = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
    return tuple(n.id for n in names if isinstance(n, ast.Name))


def build_try(node: ast.Try, compile_block: CompileBlock) -> tuple[StmtFn, int]:
    block, orelse, final = compile_block(node.body), compile_block(node.orelse), compile_block(node.finalbody)
    handlers = [(_handler_types(h), h.name, compile_block(h.body)) for h in node.handlers]

    def guarded(st: State, saved: MetaData) -> Any:
        try:
            r = run_block(st, block)
        except ProgramRuntimeError as exc:
            restore_ctx(st, saved)
            for types, name, hbody in handlers:
                if types is None or any(is_subclass(exc.type_name, t) for t in types):
                    break
            else:
                raise
            if st.strict:
                st.make_sticky(exc.meta)
            if name is not None:
                st.ns[name] = (ErrorValue(exc.type_name, exc.message), join(exc.meta, st.ctx) if st.strict else exc.meta)
            st.ctx = join(st.ctx, exc.meta)
            st.exc_stack.append(exc)
            try:
                r = run_block(st, hbody)
            finally:
                st.exc_stack.pop()
                restore_ctx(st, saved)
            return r
        if r is None and orelse:
            r = run_block(st, orelse)
        return r

    def body(st: State) -> Any:
        saved = st.ctx
        try:
            r = guarded(st, saved)
        except ProgramRuntimeError:
            if final:
                restore_ctx(st, saved)
                fr = run_block(st, final)
                if fr is not None:
                    return fr
            raise
        if final:
            fr = run_block(st, final)
            if fr is not None:
                return fr
        return r

    return body, 1


def build_raise(node: ast.Raise) -> tuple[StmtFn, int]:
    exc = compile_expr(node.exc) if node.exc is not None else None

    def body(st: State) -> None:
        if exc is None:
            if not st.exc_stack:
                raise st.error("RuntimeError", "No active exception to reraise")
            raise st.exc_stack[-1]
        v, m = exc(st)
        if type(v) is ErrorType:
            v = ErrorValue(v.name, "")
        if type(v) is not ErrorValue:
            raise st.error("TypeError", "exceptions must derive from Exception (e.g. raise ValueError('...'))", m)
        raise ProgramRuntimeError(v.type_name, v.message, meta=join(m, st.ctx))

    return body, 1 + expr_weight(node.exc)
