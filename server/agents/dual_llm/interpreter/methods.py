"""Allowlisted methods of str, list and tuple (the table of all methods is `method_table`).

A method returns its result `(value, meta)`, or a `Mutation` carrying the result and the
receiver's updated copy, which the interpreter rebinds (copy-on-write; see `values`). The result's
metadata is the join of the receiver and the arguments; accessors that pick one entry (`get`,
`pop`, `setdefault`) behave like subscripts: the entry's metadata joined with the key's, plus the
container's when the answer depends on which keys exist. Mutations join the new values' metadata
into the container's.
"""

from __future__ import annotations

import string as _string
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

from server.agents.dual_llm.interpreter.builtins import expect, sequence_of
from server.agents.dual_llm.interpreter.convert import check_size, check_str
from server.agents.dual_llm.interpreter.fstrings import format_value
from server.agents.dual_llm.interpreter.errors import LimitExceeded
from server.agents.dual_llm.interpreter.ops import check_spec
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import (
    D,
    LList,
    LTuple,
    Val,
    join,
    join_vals,
    type_name,
)

__all__ = ["Mutation", "Method", "NONE", "STR_METHODS", "LIST_METHODS", "TUPLE_METHODS", "grow"]

Method = Callable[[State, Val, list[Val], Mapping[str, Val]], Any]


class Mutation(NamedTuple):
    result: Val
    receiver: Val


NONE: Final = (None, D)


def _plain(v: Any) -> Any:
    """A raw argument for a host str method (tuples of strings allowed, e.g. `startswith`)."""
    if type(v) is LTuple:
        return tuple(_plain(x) for x in v.raw())
    if type(v) in (str, int, float, bool) or v is None:
        return v
    raise TypeError(f"expected a string or a number, got '{type_name(v)}'")


def _wrap_result(r: Any, m: Any, st: State) -> Val:
    t = type(r)
    if t is str:
        return (check_str(r, st.limits.max_string_length), m)
    if t is list:
        check_size(len(r), st.limits.max_container_size)
        return (LList(tuple((x, m) for x in r)), m)
    if t is tuple:
        return (LTuple(tuple((x, m) for x in r)), m)
    return (r, m)


def _host(name: str) -> Method:
    """A str method whose result size is bounded by its inputs."""
    method = getattr(str, name)

    def fn(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
        if not kw and len(a) == 1 and type(a[0][0]) is str:  # the hot path: x.endswith("3")
            r = method(rv[0], a[0][0])
            m = rv[1] if a[0][1] is D else join(rv[1], a[0][1])
            return (r, m) if type(r) is bool or type(r) is int else _wrap_result(r, m, st)
        r = getattr(rv[0], name)(*(_plain(v) for v, _ in a), **{k: _plain(v) for k, (v, _) in kw.items()})
        return _wrap_result(r, join_vals(kw.values(), join_vals(a, rv[1])), st)

    return fn


def _padding(name: str) -> Method:
    host = _host(name)

    def fn(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
        if a and type(a[0][0]) is int and a[0][0] > st.limits.max_string_length:
            raise LimitExceeded("max_string_length", f"{name}() width {a[0][0]} is over the string limit")
        return host(st, rv, a, kw)  # type: ignore[no-any-return]

    return fn


_HOST_REPLACE: Final = _host("replace")


def _replace(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("replace", a, kw, 2, 3)
    s, old, new = rv[0], a[0][0], a[1][0]
    if type(old) is str and type(new) is str:
        n = len(s) + 1 if old == "" else s.count(old)
        if len(a) > 2 and type(a[2][0]) is int and a[2][0] >= 0:
            n = min(n, a[2][0])
        if len(s) + n * max(len(new) - len(old), 0) > st.limits.max_string_length:
            raise LimitExceeded("max_string_length", "replace() would build a string over the limit")
    return _HOST_REPLACE(st, rv, a, kw)  # type: ignore[no-any-return]


def _join(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("join", a, kw, 1, 1)
    elems = sequence_of(st, a[0])
    parts = [v for v, _ in elems]
    for p in parts:
        if type(p) is not str:
            raise TypeError(f"sequence item: expected str instance, {type_name(p)} found")
    total = sum(len(p) for p in parts) + len(rv[0]) * max(len(parts) - 1, 0)
    if total > st.limits.max_string_length:
        raise LimitExceeded("max_string_length", f"join() would build {total} characters")
    return (rv[0].join(parts), join_vals(elems, join(rv[1], a[0][1])))


class _SafeFormatter(_string.Formatter):
    """`str.format` without attribute or index access in field names (`{0.__class__}`)."""

    def __init__(self, st: State) -> None:
        self.st = st

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if "." in field_name or "[" in field_name:
            raise ValueError(
                f"format field '{field_name}' is not allowed: attribute and index access are not "
                "supported in format strings; pass the value itself"
            )
        return super().get_field(field_name, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        return format_value(value, -1, format_spec, self.st)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        from server.agents.dual_llm.interpreter.convert import render

        lim = self.st.limits.max_string_length
        if conversion is None:
            return value
        if conversion == "r":
            return render(value, limit=lim)
        if conversion == "s":
            return render(value, as_str=True, limit=lim)
        if conversion == "a":
            return render(value, limit=lim).encode("ascii", "backslashreplace").decode("ascii")
        raise ValueError(f"unknown conversion specifier {conversion}")


def _format(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
    check_spec(rv[0], st.limits)
    text = _SafeFormatter(st).vformat(rv[0], [v for v, _ in a], {k: v for k, (v, _) in kw.items()})
    return (check_str(text, st.limits.max_string_length), join_vals(kw.values(), join_vals(a, rv[1])))


_STR_HOST = (
    "upper lower strip lstrip rstrip capitalize title swapcase casefold startswith endswith find "
    "rfind index rindex count isdigit isalpha isalnum isspace isupper islower isnumeric isdecimal "
    "istitle removeprefix removesuffix partition rpartition split rsplit splitlines"
).split()
STR_METHODS: dict[str, Method] = {n: _host(n) for n in _STR_HOST}
STR_METHODS.update(
    {n: _padding(n) for n in ("zfill", "center", "ljust", "rjust")}
    | {"replace": _replace, "join": _join, "format": _format}
)


# ---- list -------------------------------------------------------------------------------------


def grow(st: State, rv: Val, items: tuple[Val, ...], added: Any) -> Mutation:
    check_size(len(items), st.limits.max_container_size)
    return Mutation(NONE, (type(rv[0])(items), join(rv[1], added)))


def _append(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("append", a, kw, 1, 1)
    return grow(st, rv, rv[0].items + (a[0],), a[0][1])


def _extend(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("extend", a, kw, 1, 1)
    new = sequence_of(st, a[0])
    return grow(st, rv, rv[0].items + new, join_vals(new, a[0][1]))


def _insert(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("insert", a, kw, 2, 2)
    if type(a[0][0]) is not int:
        raise TypeError("insert() index must be an integer")
    lst = list(rv[0].items)
    lst.insert(a[0][0], a[1])
    return grow(st, rv, tuple(lst), join(a[0][1], a[1][1]))


def _list_pop(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("pop", a, kw, 0, 1)
    lst = list(rv[0].items)
    if not lst:
        raise IndexError("pop from empty list")
    i = a[0] if a else (-1, D)
    if type(i[0]) is not int:
        raise TypeError("pop() index must be an integer")
    e = lst.pop(i[0])
    m = join(rv[1], i[1])
    return Mutation((e[0], join(e[1], m)), (LList(tuple(lst)), m))


def _remove(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("remove", a, kw, 1, 1)
    raw = rv[0].raw()
    if a[0][0] not in raw:
        raise ValueError("list.remove(x): x not in list")
    lst = list(rv[0].items)
    del lst[raw.index(a[0][0])]
    return Mutation(NONE, (LList(tuple(lst)), join(rv[1], a[0][1])))


def _clear(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("clear", a, kw, 0, 0)
    empty = type(rv[0])(() if type(rv[0]) is LList else {})
    return Mutation(NONE, (empty, rv[1]))


def _sort(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    from server.agents.dual_llm.interpreter.builtins import NAMES

    expect("sort", a, kw, 0, 0, ("key", "reverse"))
    r = NAMES["sorted"].call(st, [rv], kw)
    return Mutation(NONE, (r[0], join(rv[1], r[1])))


def _reverse(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Mutation:
    expect("reverse", a, kw, 0, 0)
    return Mutation(NONE, (LList(rv[0].items[::-1]), rv[1]))


def _seq_query(name: str) -> Method:
    def fn(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(name, a, kw, 1, 3)
        r = getattr(rv[0].raw(), name)(*(v for v, _ in a))
        return (r, join_vals(a, rv[1]))

    return fn


def _copy(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("copy", a, kw, 0, 0)
    return rv


LIST_METHODS: dict[str, Method] = {
    "append": _append, "extend": _extend, "insert": _insert, "pop": _list_pop,
    "remove": _remove, "clear": _clear, "sort": _sort, "reverse": _reverse,
    "index": _seq_query("index"), "count": _seq_query("count"), "copy": _copy,
}
TUPLE_METHODS: dict[str, Method] = {"index": _seq_query("index"), "count": _seq_query("count")}
