"""Allowlisted methods of dict, set, int, float and the `datetime` types (no clock anywhere)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from server.agents.dual_llm.interpreter.builtins import expect, sequence_of
from server.agents.dual_llm.interpreter.convert import check_size, check_str
from server.agents.dual_llm.interpreter.methods import NONE, Method, Mutation
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import (
    LDict,
    LList,
    LSet,
    LTuple,
    Val,
    join,
    join_vals,
    type_name,
)

__all__ = ["DICT_METHODS", "SET_METHODS", "INT_METHODS", "FLOAT_METHODS", "DATE_METHODS", "DATA_ATTRS"]


def _get(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("get", a, kw, 1, 2)
    k, km = a[0]
    e = rv[0].items.get(k)
    if e is not None:
        return (e[0], join(e[1], km))
    default = a[1] if len(a) > 1 else NONE
    return (default[0], join(join(default[1], km), rv[1]))


def _view(name: str) -> Method:
    def fn(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(name, a, kw, 0, 0)
        items = rv[0].items
        if name == "values":
            out = tuple(items.values())
        elif name == "keys":
            out = tuple((k, e[1]) for k, e in items.items())
        else:
            out = tuple((LTuple(((k, e[1]), e)), e[1]) for k, e in items.items())
        return (LList(out), rv[1])

    return fn


def _dict_pop(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("pop", a, kw, 1, 2)
    k, km = a[0]
    items = dict(rv[0].items)
    m = join(rv[1], km)
    if k in items:
        e = items.pop(k)
        return Mutation((e[0], join(e[1], km)), (LDict(items), m))
    if len(a) < 2:
        raise KeyError(k)
    return Mutation((a[1][0], join(a[1][1], m)), (rv[0], rv[1]))


def _setdefault(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("setdefault", a, kw, 1, 2)
    k, km = a[0]
    e = rv[0].items.get(k)
    if e is not None:
        return Mutation((e[0], join(e[1], km)), rv)
    default = a[1] if len(a) > 1 else NONE
    entry = (default[0], join(default[1], km))
    items = {**rv[0].items, k: entry}
    check_size(len(items), st.limits.max_container_size)
    return Mutation((entry[0], join(entry[1], rv[1])), (LDict(items), join(rv[1], entry[1])))


def _update(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("update", a, kw, 0, 1, tuple(kw))
    from server.agents.dual_llm.interpreter.builtins import NAMES

    new = NAMES["dict"].call(st, a, kw)
    items = {**rv[0].items, **new[0].items}
    check_size(len(items), st.limits.max_container_size)
    return Mutation(NONE, (LDict(items), join(rv[1], new[1])))


def _dict_copy(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("copy", a, kw, 0, 0)
    return rv


def _dict_clear(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("clear", a, kw, 0, 0)
    return Mutation(NONE, (type(rv[0])({}), rv[1]))


DICT_METHODS: dict[str, Method] = {
    "get": _get, "keys": _view("keys"), "values": _view("values"), "items": _view("items"),
    "pop": _dict_pop, "setdefault": _setdefault, "update": _update, "copy": _dict_copy,
    "clear": _dict_clear,
}


def _members(st: State, v: Val) -> dict[Any, Any]:
    if type(v[0]) is LSet:
        return v[0].items
    out: dict[Any, Any] = {}
    for x, m in sequence_of(st, v):
        out[x] = join(out[x], m) if x in out else m
    return out


def _set_add(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("add", a, kw, 1, 1)
    v, m = a[0]
    items = dict(rv[0].items)
    items[v] = join(items[v], m) if v in items else m
    check_size(len(items), st.limits.max_container_size)
    return Mutation(NONE, (LSet(items), join(rv[1], m)))


def _set_discard(name: str) -> Method:
    def fn(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
        expect(name, a, kw, 1, 1)
        v, m = a[0]
        items = dict(rv[0].items)
        if v not in items and name == "remove":
            raise KeyError(v)
        items.pop(v, None)
        return Mutation(NONE, (LSet(items), join(rv[1], m)))

    return fn


def _set_update(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("update", a, kw, 0, 16)
    items = dict(rv[0].items)
    m = rv[1]
    for other in a:
        for x, xm in _members(st, other).items():
            items[x] = join(items[x], xm) if x in items else xm
        m = join(m, other[1])
    check_size(len(items), st.limits.max_container_size)
    return Mutation(NONE, (LSet(items), join_vals(((None, xm) for xm in items.values()), m)))


def _set_algebra(name: str) -> Method:
    def fn(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(name, a, kw, 1, 16 if name in ("union", "intersection", "difference") else 1)
        mine = rv[0].items
        others = [_members(st, o) for o in a]
        m = join_vals(a, rv[1])
        if name in ("issubset", "issuperset", "isdisjoint"):
            return (getattr(mine.keys(), {"issubset": "__le__", "issuperset": "__ge__"}.get(name, "isdisjoint"))(others[0].keys()), m)
        keys = getattr(set(mine), name)(*(set(o) for o in others))
        merged: dict[Any, Any] = {}
        for source in [mine, *others]:
            for x, xm in source.items():
                if x in keys:
                    merged[x] = join(merged[x], xm) if x in merged else xm
        return (LSet(merged), m)

    return fn


SET_METHODS: dict[str, Method] = {
    "add": _set_add, "remove": _set_discard("remove"), "discard": _set_discard("discard"),
    "update": _set_update, "clear": _dict_clear, "copy": _dict_copy,
    **{n: _set_algebra(n) for n in (
        "union", "intersection", "difference", "symmetric_difference", "issubset",
        "issuperset", "isdisjoint",
    )},
}


def _scalar(name: str, lo: int = 0, hi: int = 0) -> Method:
    def fn(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(name, a, kw, lo, hi)
        for v, _ in a:
            if type(v) not in (str, int, float, bool, _dt.timezone) and v is not None:
                raise TypeError(f"{name}() does not accept a '{type_name(v)}'")
        r = getattr(rv[0], name)(*(v for v, _ in a))
        if type(r) is str:
            check_str(r, st.limits.max_string_length)
        return (r, join_vals(a, rv[1]))

    return fn


def _strftime(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("strftime", a, kw, 1, 1)
    if type(a[0][0]) is not str or len(a[0][0]) > 200:
        raise ValueError("strftime() takes a format string of at most 200 characters")
    return (rv[0].strftime(a[0][0]), join(rv[1], a[0][1]))


def _dt_replace(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
    fields = ("year", "month", "day", "hour", "minute", "second", "microsecond", "tzinfo")
    expect("replace", a, kw, 0, 0, fields)
    return (rv[0].replace(**{k: v for k, (v, _) in kw.items()}), join_vals(kw.values(), rv[1]))


INT_METHODS: dict[str, Method] = {"bit_length": _scalar("bit_length")}
FLOAT_METHODS: dict[str, Method] = {"is_integer": _scalar("is_integer")}
_DATE_COMMON: dict[str, Method] = {
    "isoformat": _scalar("isoformat", 0, 1), "strftime": _strftime, "replace": _dt_replace,
    "weekday": _scalar("weekday"), "isoweekday": _scalar("isoweekday"),
}
DATE_METHODS: dict[type, dict[str, Method]] = {
    _dt.datetime: {**_DATE_COMMON, "date": _scalar("date"), "time": _scalar("time")},
    _dt.date: _DATE_COMMON,
    _dt.time: {"isoformat": _scalar("isoformat", 0, 1), "strftime": _strftime},
    _dt.timedelta: {"total_seconds": _scalar("total_seconds")},
}
DATA_ATTRS: dict[type, frozenset[str]] = {
    _dt.datetime: frozenset(
        "year month day hour minute second microsecond tzinfo".split()
    ),
    _dt.date: frozenset({"year", "month", "day"}),
    _dt.time: frozenset({"hour", "minute", "second", "microsecond"}),
    _dt.timedelta: frozenset({"days", "seconds", "microseconds"}),
    LList: frozenset(),
}
