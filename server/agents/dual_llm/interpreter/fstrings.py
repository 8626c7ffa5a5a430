"""f-strings and the one formatting routine shared with `str.format` (limits checked first).

A field is converted (`!s`, `!r`, `!a` use our own rendering, never an object's `__repr__`), then
formatted with its spec after `check_spec` has refused widths and precisions over the string
limit. The result's metadata is the join of every field's (and every nested spec's).
"""

from __future__ import annotations

import ast
import datetime as _dt
from collections.abc import Callable
from typing import Any, Final, cast

from server.agents.dual_llm.interpreter.convert import check_str, render
from server.agents.dual_llm.interpreter.errors import TRANSLATABLE, translate
from server.agents.dual_llm.interpreter.ops import check_spec
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import D, Val, join

__all__ = ["build", "format_value"]

ExprFn = Callable[[State], Val]
Compile = Callable[[ast.expr], ExprFn]

_SCALAR_FORMAT: Final = (str, int, float, bool, type(None))


def format_value(v: Any, conversion: int, spec: str, st: State) -> str:
    """One f-string field: conversion (`!s`, `!r`, `!a`), then the spec, within the limits."""
    lim = st.limits.max_string_length
    if conversion == 114:
        v = render(v, limit=lim)
    elif conversion == 97:
        v = render(v, limit=lim).encode("ascii", "backslashreplace").decode("ascii")
    elif conversion == 115:
        v = render(v, as_str=True, limit=lim)
    if not spec:
        t = type(v)
        if t is str:
            return v  # type: ignore[no-any-return]
        if t is int or t is float or t is bool or v is None:
            return str(v)
    else:
        check_spec(spec, st.limits)
    if not isinstance(v, _SCALAR_FORMAT) and not isinstance(v, _dt.date | _dt.time):
        v = render(v, as_str=True, limit=lim)
    return check_str(format(v, spec), lim)


def _simple(node: ast.JoinedStr, compile_expr: Compile) -> ExprFn | None:
    """f-strings whose fields have no conversion and no spec (the common case), specialised."""
    lead = ""
    fields: list[tuple[ExprFn, str]] = []
    for p in node.values:
        if isinstance(p, ast.Constant):
            text = str(p.value)
            if fields:
                fields[-1] = (fields[-1][0], fields[-1][1] + text)
            else:
                lead += text
        elif isinstance(p, ast.FormattedValue) and p.conversion == -1 and p.format_spec is None:
            fields.append((compile_expr(p.value), ""))
        else:
            return None

    def f(st: State) -> Val:
        m = D
        out = [lead]
        for g, tail in fields:
            v, vm = g(st)
            if vm is not D:
                m = join(m, vm)
            t = type(v)
            if t is str:
                out.append(v)
            elif t is int or t is float or t is bool or v is None:
                out.append(str(v))
            else:
                try:
                    out.append(format_value(v, -1, "", st))
                except TRANSLATABLE as exc:
                    raise translate(exc, join(m, st.ctx)) from None
            out.append(tail)
        text = check_str("".join(out), st.limits.max_string_length)
        st.charge_bytes(len(text))
        return (text, m)

    return f


def build(node: ast.JoinedStr, compile_expr: Compile) -> ExprFn:
    """The closure of an f-string."""
    simple = _simple(node, compile_expr)
    if simple is not None:
        return simple
    parts: list[tuple[str | None, ExprFn | None, int, ExprFn | None]] = []
    for p in node.values:
        if isinstance(p, ast.Constant):
            parts.append((str(p.value), None, -1, None))
        else:
            p = cast(ast.FormattedValue, p)  # the parser guarantees it
            spec = compile_expr(p.format_spec) if p.format_spec is not None else None
            parts.append((None, compile_expr(p.value), p.conversion, spec))

    def f(st: State) -> Val:
        out: list[str] = []
        m = D
        for text, g, conv, spec in parts:
            if g is None:
                out.append(text)  # type: ignore[arg-type]
                continue
            v, vm = g(st)
            s = ""
            if spec is not None:
                s, sm = spec(st)
                m = join(m, sm)
            if vm is not D:
                m = join(m, vm)
            if conv == -1 and not s and type(v) is str:
                out.append(v)
                continue
            try:
                out.append(format_value(v, conv, s, st))
            except TRANSLATABLE as exc:
                raise translate(exc, join(join(m, vm), st.ctx)) from None
        text = check_str("".join(out), st.limits.max_string_length)
        st.charge_bytes(len(text))
        return (text, m)

    return f
