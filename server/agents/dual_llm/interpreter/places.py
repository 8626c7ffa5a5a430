"""Assignment targets ("places") and item access: load once, then store back copy-on-write.

A place evaluates its path once (`load` returns a token with the evaluated containers and keys),
so `d[f(x)] += 1` or `d[k].append(v)` calls `f` once and rebinds `d` with the updated copy.
"""

from __future__ import annotations

import ast
from itertools import islice
from collections.abc import Callable
from typing import Any

from server.agents.dual_llm.interpreter.convert import check_size, iter_vals
from server.agents.dual_llm.interpreter.errors import TRANSLATABLE, translate
from server.agents.dual_llm.interpreter.ops import relabel
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import D, LDict, LList, LTuple, Val, join, type_name

__all__ = [
    "Place", "NamePlace", "ItemPlace", "SetdefaultPlace", "UnpackPlace", "getitem", "setitem", "delitem",
]

ExprFn = Callable[[State], Val]


def _index(seq: Any, k: Any, what: str) -> int:
    if type(k) is not int and type(k) is not bool:
        raise TypeError(f"{what} indices must be integers or slices, not {type_name(k)}")
    return int(k)


def getitem(cv: Val, kv: Val, st: State) -> Val:
    """`c[k]`: the element's metadata joined with the key's (slices: the container's)."""
    c, cm = cv
    k, km = kv
    t = type(c)
    try:
        if t is LDict:
            e = c.items[k]
        elif t is LList or t is LTuple:
            if type(k) is slice:
                part = t(c.items[k])
                st.charge(part)
                return (part, join(cm, km))
            e = c.items[_index(c, k, t.kind)]
        elif t is str or t is range:
            r = c[k] if type(k) is slice else c[_index(c, k, type_name(c))]
            st.charge(r)
            return (r, join(cm, km))
        else:
            raise TypeError(f"'{type_name(c)}' object is not subscriptable")
    except TRANSLATABLE as exc:
        if isinstance(exc, IndexError):
            exc = IndexError(f"{type_name(c)} index out of range")
        raise translate(exc, join(join(cm, km), st.ctx)) from None
    return e if km is D else (e[0], join(e[1], km))


def setitem(cv: Val, kv: Val, new: Val, st: State) -> Val:
    """A copy of container `c` with `c[k] = new`; the container's metadata joins the new entry's."""
    c, cm = cv
    k, km = kv
    t = type(c)
    entry = new if km is D else (new[0], join(new[1], km))
    try:
        if t is LDict:
            items = dict(c.items)
            items[k] = entry
            check_size(len(items), st.limits.max_container_size)
            return (LDict(items), join(cm, entry[1]))
        if t is LList:
            if type(k) is slice:
                raise TypeError("slice assignment is not supported; build a new list instead")
            i = _index(c, k, "list")
            lst = list(c.items)
            lst[i] = entry
            return (LList(tuple(lst)), join(cm, entry[1]))
        raise TypeError(f"'{type_name(c)}' object does not support item assignment")
    except TRANSLATABLE as exc:
        if isinstance(exc, IndexError):
            exc = IndexError("list assignment index out of range")
        raise translate(exc, join(join(cm, km), st.ctx)) from None


def delitem(cv: Val, kv: Val, st: State) -> Val:
    c, cm = cv
    k, km = kv
    t = type(c)
    try:
        if t is LDict:
            items = dict(c.items)
            del items[k]
            return (LDict(items), join(cm, km))
        if t is LList:
            lst = list(c.items)
            del lst[k if type(k) is slice else _index(c, k, "list")]
            return (LList(tuple(lst)), join(cm, km))
        raise TypeError(f"'{type_name(c)}' object does not support item deletion")
    except TRANSLATABLE as exc:
        if isinstance(exc, IndexError):
            exc = IndexError("list assignment index out of range")
        raise translate(exc, join(join(cm, km), st.ctx)) from None


class Place:
    """An assignment target."""

    def load(self, st: State) -> tuple[Val, Any]:
        raise TypeError("this expression cannot be updated in place")

    def store(self, st: State, token: Any, val: Val) -> None:
        raise TypeError("this expression cannot be assigned to")

    def assign(self, st: State, val: Val) -> None:
        """Plain assignment; in `strict` mode the control context joins the value (deeply)."""
        if st.strict and st.ctx is not D:
            val = relabel(val, st.ctx)
        self.store(st, None, val)

    def delete(self, st: State) -> None:
        raise TypeError("only `del d[key]` is supported")


class NamePlace(Place):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def load(self, st: State) -> tuple[Val, Any]:
        return st.lookup(self.name), None

    def store(self, st: State, token: Any, val: Val) -> None:
        st.ns[self.name] = val


class ItemPlace(Place):
    __slots__ = ("base", "key")

    def __init__(self, base: Place, key: ExprFn) -> None:
        self.base = base
        self.key = key

    def load(self, st: State) -> tuple[Val, Any]:
        cv, btoken = self.base.load(st)
        kv = self.key(st)
        return getitem(cv, kv, st), (cv, btoken, kv)

    def store(self, st: State, token: Any, val: Val) -> None:
        if token is None:  # plain assignment: evaluate the path now
            cv, btoken = self.base.load(st)
            kv = self.key(st)
        else:
            cv, btoken, kv = token
        self.base.store(st, btoken, setitem(cv, kv, val, st))

    def delete(self, st: State) -> None:
        cv, btoken = self.base.load(st)
        self.base.store(st, btoken, delitem(cv, self.key(st), st))


class AttrPlace(Place):
    """Attribute targets parse (spec dual-llm 4) but no allowlisted value has settable attributes."""

    __slots__ = ("attr",)

    def __init__(self, attr: str) -> None:
        self.attr = attr

    def store(self, st: State, token: Any, val: Val) -> None:
        raise st.error(
            "AttributeError",
            f"cannot set attribute '{self.attr}': values have no settable attributes; "
            f"use a dict and `d['{self.attr}'] = value`",
        )


class UnpackPlace(Place):
    __slots__ = ("targets",)

    def __init__(self, targets: list[Place]) -> None:
        self.targets = targets

    def store(self, st: State, token: Any, val: Val) -> None:
        want = len(self.targets)
        try:
            elems = tuple(islice(iter_vals(val), want + 1))
        except TypeError as exc:
            raise translate(exc, join(val[1], st.ctx)) from None
        n = len(elems)
        if n != want:
            msg = (
                f"too many values to unpack (expected {want})"
                if n > want
                else f"not enough values to unpack (expected {want}, got {n})"
            )
            raise st.error("ValueError", msg, val[1])
        for target, e in zip(self.targets, elems):
            target.store(st, None, e)


__all__.append("AttrPlace")


class SetdefaultPlace(Place):
    """`d.setdefault(k, default)` used as a place, so the idioms `d.setdefault(k, []).append(v)`
    and `d.setdefault(k, {})[x] = v` update `d` as in Python despite copy-on-write."""

    __slots__ = ("base", "key", "default")

    def __init__(self, base: Place, key: ExprFn, default: ExprFn | None) -> None:
        self.base = base
        self.key = key
        self.default = default

    def load(self, st: State) -> tuple[Val, Any]:
        cv, btoken = self.base.load(st)
        kv = self.key(st)
        dv = self.default(st) if self.default is not None else (None, D)
        if type(cv[0]) is not LDict:
            raise st.error("AttributeError", f"'{type_name(cv[0])}' object has no allowed method 'setdefault'", cv[1])
        if kv[0] not in cv[0].items:
            cv = setitem(cv, kv, dv, st)
            self.base.store(st, btoken, cv)  # the insertion persists even if nothing else changes
        return getitem(cv, kv, st), (cv, btoken, kv)

    def store(self, st: State, token: Any, val: Val) -> None:
        if token is None:
            _, token = self.load(st)
        cv, btoken, kv = token
        self.base.store(st, btoken, setitem(cv, kv, val, st))


def _setdefault_place(node: ast.Call, compile_expr: Callable[[ast.expr], ExprFn]) -> Place | None:
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "setdefault") or node.keywords:
        return None
    if not 1 <= len(node.args) <= 2:
        return None
    base = compile_place(func.value, compile_expr)
    if not isinstance(base, NamePlace | ItemPlace | SetdefaultPlace):
        return None
    default = compile_expr(node.args[1]) if len(node.args) == 2 else None
    return SetdefaultPlace(base, compile_expr(node.args[0]), default)


def compile_place(node: ast.expr, compile_expr: Callable[[ast.expr], ExprFn]) -> Place | None:
    """The place for a target expression, or None when it is not assignable."""
    if isinstance(node, ast.Name):
        return NamePlace(node.id)
    if isinstance(node, ast.Call):
        return _setdefault_place(node, compile_expr)
    if isinstance(node, ast.Subscript):
        base = compile_place(node.value, compile_expr)
        if not isinstance(base, NamePlace | ItemPlace | SetdefaultPlace):
            return None
        return ItemPlace(base, compile_expr(node.slice))
    if isinstance(node, ast.Attribute):
        return AttrPlace(node.attr)
    if isinstance(node, ast.Tuple | ast.List):
        parts = [compile_place(e, compile_expr) for e in node.elts]
        if any(p is None for p in parts):
            return None
        return UnpackPlace(parts)  # type: ignore[arg-type]
    return None


__all__.append("compile_place")
