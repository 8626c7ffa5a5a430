"""The allowlisted builtin functions and types (spec dual-llm 4), in one table: `NAMES`.

Each takes `(state, args, kwargs)` with `(value, meta)` arguments. The result's metadata is the
join of what it depends on: a chosen element (`min`, `max`) carries the join of all candidates.
`zip`, `enumerate`, `reversed` and generator arguments are materialised as lists (deterministic,
bounded by `max_container_size`). `key=` accepts builtins and types (there is no `lambda`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from server.agents.dual_llm.interpreter.convert import check_size, check_str, iter_vals, render
from server.agents.dual_llm.interpreter.errors import EXCEPTION_PARENTS, is_subclass
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import (
    D,
    Builtin,
    ErrorType,
    ErrorValue,
    LDict,
    LList,
    LSet,
    LTuple,
    TypeVal,
    Val,
    join,
    join_vals,
    type_name,
)

__all__ = ["NAMES", "sequence_of", "expect"]

Fn = Callable[[State, list[Val], Mapping[str, Val]], Val]


def expect(name: str, args: list[Val], kw: Mapping[str, Val], lo: int, hi: int, kws: tuple[str, ...] = ()) -> None:
    """Arity and keyword check with a Python-like message."""
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise TypeError(f"{name}() takes {want} positional argument(s) ({len(args)} given)")
    for k in kw:
        if k not in kws:
            allowed = ", ".join(kws) or "none"
            raise TypeError(f"{name}() got an unexpected keyword argument '{k}' (allowed: {allowed})")


def sequence_of(st: State, val: Val) -> tuple[Val, ...]:
    """Elements of an iterable value, refusing to materialise more than the container limit."""
    v = val[0]
    if type(v) is range or type(v) is str:
        check_size(len(v), st.limits.max_container_size)
    return tuple(iter_vals(val))


def _len(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("len", a, kw, 1, 1)
    v, m = a[0]
    if type(v) in (str, range, LList, LTuple, LDict, LSet):
        return (len(v), m)
    raise TypeError(f"object of type '{type_name(v)}' has no len()")


def _str(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("str", a, kw, 0, 1)
    if not a:
        return ("", D)
    v, m = a[0]
    return (v if type(v) is str else render(v, as_str=True, limit=st.limits.max_string_length), m)


def _repr(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("repr", a, kw, 1, 1)
    return (render(a[0][0], limit=st.limits.max_string_length), a[0][1])


def _scalar_conv(name: str, conv: Callable[..., Any], hi: int) -> Fn:
    def fn(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(name, a, kw, 0, hi)
        raws = [v for v, _ in a]
        for r in raws:
            if type(r) not in (str, int, float, bool):
                raise TypeError(f"{name}() argument must be a string or a number, not '{type_name(r)}'")
        return (conv(*raws), join_vals(a))

    return fn


def _bool(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("bool", a, kw, 0, 1)
    return (bool(a[0][0]), a[0][1]) if a else (False, D)


def _container(name: str, kind: type) -> Fn:
    def fn(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(name, a, kw, 0, 1)
        if not a:
            return (kind(() if kind in (LList, LTuple) else {}), D)
        elems, m = sequence_of(st, a[0]), a[0][1]
        if kind is LSet:
            members: dict[Any, Any] = {}
            for v, vm in elems:
                members[v] = join(members[v], vm) if v in members else vm
            return (LSet(members), m)
        return (kind(elems), m)

    return fn


def _dict(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    if len(a) > 1:
        raise TypeError(f"dict expected at most 1 argument, got {len(a)}")
    items: dict[Any, Val] = {}
    m = D
    if a:
        src, m = a[0]
        if type(src) is LDict:
            items.update(src.items)
        else:
            for pair, pm in sequence_of(st, a[0]):
                if type(pair) not in (LList, LTuple) or len(pair) != 2:
                    raise ValueError("dict() needs an iterable of key/value pairs")
                (k, km), (v, vm) = pair.items
                items[k] = (v, join(join(vm, km), pm))
    for k, v in kw.items():
        items[k] = v
        m = join(m, v[1])
    check_size(len(items), st.limits.max_container_size)
    return (LDict(items), join_vals(items.values(), m))


def _range(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("range", a, kw, 1, 3)
    raws = [v for v, _ in a]
    if any(type(r) not in (int, bool) for r in raws):
        raise TypeError("range() arguments must be integers")
    return (range(*raws), join_vals(a))


def _enumerate(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("enumerate", a, kw, 1, 1, ("start",))
    start, sm = kw.get("start", (0, D))
    m = join(a[0][1], sm)
    out = tuple((LTuple(((start + i, m), e)), join(e[1], m)) for i, e in enumerate(sequence_of(st, a[0])))
    return (LList(out), m)


def _zip(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("zip", a, kw, 0, 16)
    seqs = [sequence_of(st, x) for x in a]
    rows = tuple((LTuple(row), join_vals(row)) for row in zip(*seqs))
    return (LList(rows), join_vals(a))


def _key_fn(st: State, kw: Mapping[str, Val]) -> Callable[[Val], Any] | None:
    key = kw.get("key")
    if key is None or key[0] is None:
        return None
    if type(key[0]) not in (Builtin, TypeVal):
        raise TypeError("key= must be a builtin function or type (e.g. key=len); lambda is not available")
    from server.agents.dual_llm.interpreter.calls import call_value  # cycle: calls imports us

    return lambda e: call_value(st, key, [e], {})[0]


def _sorted(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("sorted", a, kw, 1, 1, ("key", "reverse"))
    elems = sequence_of(st, a[0])
    keyf = _key_fn(st, kw)
    reverse = bool(kw.get("reverse", (False, D))[0])
    out = sorted(elems, key=keyf or (lambda e: e[0]), reverse=reverse)
    m = join(a[0][1], join_vals(kw.values()))
    return (LList(tuple(out)), m)


def _reversed(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("reversed", a, kw, 1, 1)
    if type(a[0][0]) in (LSet, LDict):
        raise TypeError(f"'{type_name(a[0][0])}' object is not reversible")
    return (LList(tuple(reversed(sequence_of(st, a[0])))), a[0][1])


def _minmax(name: str, pick: Callable[..., Any]) -> Fn:
    def fn(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(name, a, kw, 1, 64, ("key", "default"))
        elems = sequence_of(st, a[0]) if len(a) == 1 else tuple(a)
        m = join_vals(elems, a[0][1] if len(a) == 1 else D)
        if not elems:
            if "default" in kw:
                return (kw["default"][0], join(kw["default"][1], m))
            raise ValueError(f"{name}() arg is an empty sequence")
        keyf = _key_fn(st, kw)
        best = pick(elems, key=keyf or (lambda e: e[0]))
        return (best[0], m)

    return fn


def _sum(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("sum", a, kw, 1, 2, ("start",))
    start = a[1] if len(a) > 1 else kw.get("start", (0, D))
    elems = sequence_of(st, a[0])
    total = start[0]
    for v, _ in elems:
        if type(v) not in (int, float, bool) or type(total) not in (int, float, bool):
            raise TypeError(f"sum() can only add numbers, not '{type_name(v)}'; use ''.join(...) for strings")
        total = total + v
    return (total, join_vals(elems, join(a[0][1], start[1])))


def _abs(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("abs", a, kw, 1, 1)
    if type(a[0][0]) not in (int, float, bool):
        raise TypeError(f"bad operand type for abs(): '{type_name(a[0][0])}'")
    return (abs(a[0][0]), a[0][1])


def _round(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("round", a, kw, 1, 2, ("ndigits",))
    nd = a[1] if len(a) > 1 else kw.get("ndigits", (None, D))
    if type(a[0][0]) not in (int, float, bool) or type(nd[0]) not in (int, bool, type(None)):
        raise TypeError("round() takes a number and an optional integer number of digits")
    return (round(a[0][0], nd[0]), join(a[0][1], nd[1]))


def _anyall(name: str, want: bool) -> Fn:
    def fn(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(name, a, kw, 1, 1)
        m = a[0][1]
        for v, vm in sequence_of(st, a[0]):
            m = join(m, vm)
            if bool(v) is want:
                return (want, m)
        return (not want, m)

    return fn


def _isinstance(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("isinstance", a, kw, 2, 2)
    v, m = a[0]
    kinds = a[1][0].raw() if type(a[1][0]) is LTuple else [a[1][0]]
    result = False
    for k in kinds:
        if type(k) is TypeVal:
            result = result or isinstance(v, k.checks)
        elif type(k) is ErrorType:
            result = result or (type(v) is ErrorValue and is_subclass(v.type_name, k.name))
        else:
            raise TypeError("isinstance() arg 2 must be a type or a tuple of types")
    return (result, join(m, a[1][1]))


def _print(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("print", a, kw, 0, 256, ("sep", "end"))
    lim = st.limits.max_output_chars
    sep = kw.get("sep", (" ", D))
    end = kw.get("end", ("\n", D))
    if type(sep[0]) is not str or type(end[0]) is not str:
        raise TypeError("print(): sep and end must be strings")
    text = sep[0].join(render(v, as_str=True, limit=lim) for v, _ in a)
    text = check_str(text + (end[0] if end[0] != "\n" else ""), st.limits.max_string_length)
    st.emit(text, join_vals(a, join(sep[1], end[1])))
    return (None, D)


def _type(name: str, fn: Fn, checks: tuple[type, ...], host: Any) -> TypeVal:
    return TypeVal(name, checks, fn, host)


NAMES: Final[dict[str, Any]] = {
    "len": Builtin("len", _len),
    "repr": Builtin("repr", _repr),
    "range": Builtin("range", _range),
    "enumerate": Builtin("enumerate", _enumerate),
    "zip": Builtin("zip", _zip),
    "sorted": Builtin("sorted", _sorted),
    "reversed": Builtin("reversed", _reversed),
    "min": Builtin("min", _minmax("min", min)),
    "max": Builtin("max", _minmax("max", max)),
    "sum": Builtin("sum", _sum),
    "abs": Builtin("abs", _abs),
    "round": Builtin("round", _round),
    "any": Builtin("any", _anyall("any", True)),
    "all": Builtin("all", _anyall("all", False)),
    "isinstance": Builtin("isinstance", _isinstance),
    "print": Builtin("print", _print),
    "str": _type("str", _str, (str,), str),
    "int": _type("int", _scalar_conv("int", int, 2), (int,), int),
    "float": _type("float", _scalar_conv("float", float, 1), (float,), float),
    "bool": _type("bool", _bool, (bool,), bool),
    "list": _type("list", _container("list", LList), (LList,), list),
    "tuple": _type("tuple", _container("tuple", LTuple), (LTuple,), tuple),
    "set": _type("set", _container("set", LSet), (LSet,), set),
    "dict": _type("dict", _dict, (LDict,), dict),
}
NAMES.update({name: ErrorType(name) for name in EXCEPTION_PARENTS})
