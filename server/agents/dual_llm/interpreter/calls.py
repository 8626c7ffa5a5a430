"""Calls: of builtins, types and exception types, of tools through the gateway, and of methods.

Tool calls (spec dual-llm 5): positional arguments are mapped to `ToolSpec.params`; each argument
leaves as JSON with its metadata (in `strict` mode joined with the control context); the result's
metadata comes from the gateway (argument join, wrapping, policy updates) and every element of the
result inherits it. A `ToolError`/`NotEnoughInformationError` from the gateway becomes a catchable
program error whose cause also includes the arguments' metadata; signals pass through untouched.
"""

from __future__ import annotations

import builtins as _python_builtins
from collections.abc import Mapping
from typing import Any

from server.agents.dual_llm.interpreter import builtins as _builtins
from server.agents.dual_llm.interpreter import method_table as _methods
from server.agents.dual_llm.interpreter.methods import Mutation
from server.agents.dual_llm.interpreter.convert import lift, render, to_host
from server.agents.dual_llm.interpreter.limits import ELEMENT_BYTES
from server.agents.dual_llm.interpreter.errors import (
    TRANSLATABLE,
    ProgramRuntimeError,
    translate,
)
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import (
    D,
    Builtin,
    ErrorType,
    ErrorValue,
    LTuple,
    ModuleVal,
    ToolRef,
    TypeVal,
    Val,
    join,
    join_vals,
    type_name,
)
from server.policy.metadata import Labelled

__all__ = ["call_value", "call_tool", "invoke_method", "get_attribute", "resolve_global"]


def _args_meta(args: list[Val], kw: Mapping[str, Val]) -> Any:
    m = join_vals(args)
    return join_vals(kw.values(), m) if kw else m


def resolve_global(st: State, name: str) -> Val:
    """A name not bound in the namespace: a tool, else an allowlisted builtin, else NameError."""
    if st.gateway.tool(name) is not None:
        return (ToolRef(name), D)
    v = _builtins.NAMES.get(name)
    if v is not None:
        return (v, D)
    if hasattr(_python_builtins, name):
        allowed = ", ".join(sorted(n for n, v in _builtins.NAMES.items() if not isinstance(v, ErrorType)))
        raise st.error("NameError", f"name '{name}' is not available in programs; allowed builtins: {allowed}")
    raise st.error("NameError", f"name '{name}' is not defined")


def _make_error(st: State, name: str, args: list[Val], kw: Mapping[str, Val]) -> Val:
    if kw:
        raise TypeError(f"{name}() takes no keyword arguments")
    lim = st.limits.max_string_length
    if not args:
        msg = ""
    elif len(args) == 1:
        msg = render(args[0][0], as_str=True, limit=lim)
    else:
        msg = render(LTuple(tuple(args)), limit=lim)
    return (ErrorValue(name, msg), join_vals(args))


def call_value(st: State, fv: Val, args: list[Val], kw: Mapping[str, Val]) -> Val:
    """Call a function value with evaluated arguments."""
    f, fm = fv
    t = type(f)
    if t is ToolRef:
        r = call_tool(st, f.name, args, kw)
    else:
        try:
            if t is Builtin or t is TypeVal:
                r = f.call(st, args, kw)
            elif t is ErrorType:
                r = _make_error(st, f.name, args, kw)
            else:
                raise TypeError(f"'{type_name(f)}' object is not callable")
        except TRANSLATABLE as exc:
            raise translate(exc, join(join(_args_meta(args, kw), fm), st.ctx)) from None
    st.charge(r[0])
    return r if fm is D else (r[0], join(r[1], fm))


def call_tool(st: State, name: str, args: list[Val], kw: Mapping[str, Val]) -> Val:
    spec = st.gateway.tool(name)
    if spec is None:
        raise st.error("NameError", f"tool '{name}' is not available")
    params = spec.params
    if len(args) > len(params):
        raise st.error(
            "TypeError",
            f"{name}() takes {len(params)} positional argument(s) but {len(args)} were given; "
            f"parameters: {', '.join(params) or 'none'}",
        )
    mapping: dict[str, Val] = dict(zip(params, args))
    for k, v in kw.items():
        if k in mapping:
            raise st.error("TypeError", f"{name}() got multiple values for argument '{k}'")
        if k not in params:
            raise st.error(
                "TypeError",
                f"{name}() got an unexpected keyword argument '{k}'; "
                f"parameters: {', '.join(params) or 'none'}",
            )
        mapping[k] = v
    ctx = st.ctx if st.strict else D
    inputs = join_vals(mapping.values())
    try:
        wire = {
            k: Labelled(to_host(v, max_depth=st.limits.max_depth), join(m, ctx))
            for k, (v, m) in mapping.items()
        }
    except TRANSLATABLE as exc:
        raise translate(exc, join(inputs, st.ctx)) from None
    try:
        result = st.gateway.call(name, wire, context_meta=ctx)
    except ProgramRuntimeError as exc:
        exc.meta = join(join(exc.meta, inputs), st.ctx)
        raise
    if spec.joins_context and st.strict:
        st.make_sticky(inputs)
    if type(result) is not Labelled:
        raise TypeError(f"the gateway returned {type(result).__name__} for '{name}', not Labelled")
    lifted = lift(result.value, result.meta, st.limits)
    st.charge(lifted[0])
    return lifted


def get_attribute(st: State, val: Val, attr: str) -> Val:
    """`value.attr` for data attributes (modules, types, dates); methods must be called."""
    v, m = val
    t = type(v)
    if t is ModuleVal or t is TypeVal:
        if attr in v.attrs:
            return (v.attrs[attr], m)
        what = f"module '{v.name}'" if t is ModuleVal else f"type object '{v.name}'"
        raise st.error("AttributeError", f"{what} has no attribute '{attr}'", m)
    fields = _methods.DATA_ATTRS.get(t)
    if fields is not None and attr in fields:
        return (getattr(v, attr), m)
    if attr in _methods.METHODS.get(t, {}):
        raise st.error(
            "TypeError", f"method '{attr}' must be called directly: write `x.{attr}(...)`", m
        )
    raise st.error("AttributeError", f"'{type_name(v)}' object has no attribute '{attr}'", m)


def invoke_method(
    st: State, rv: Val, name: str, args: list[Val], kw: Mapping[str, Val]
) -> tuple[Val, Val | None]:
    """Call `receiver.name(...)`: (result, the receiver's updated copy when the method mutates)."""
    v, m = rv
    t = type(v)
    if t is ModuleVal or t is TypeVal:
        return call_value(st, get_attribute(st, rv, name), args, kw), None
    method = _methods.METHODS.get(t, {}).get(name)
    if method is None:
        allowed = ", ".join(sorted(_methods.METHODS.get(t, {}))) or "none"
        raise st.error(
            "AttributeError",
            f"'{type_name(v)}' object has no allowed method '{name}'; allowed: {allowed}",
            m,
        )
    try:
        r = method(st, rv, args, kw)
    except TRANSLATABLE as exc:
        raise translate(exc, join(join(_args_meta(args, kw), m), st.ctx)) from None
    if type(r) is Mutation:
        st.charge_bytes(max(len(r.receiver[0]) - len(v), 0) * ELEMENT_BYTES)
        return r.result, r.receiver
    st.charge(r[0])
    return r, None
