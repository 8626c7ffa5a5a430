"""Operators on raw runtime values, with the size limits checked before anything large is built.

Each function takes raw values (metadata is the caller's business) and the run's `Limits`, and
raises host exceptions (`TypeError`, `ZeroDivisionError`, ...) that the caller translates with the
operands' metadata, or `LimitExceeded`.
"""

from __future__ import annotations

import ast
import datetime as _dt
import math
import operator
import re
from collections.abc import Callable
from typing import Any, Final

from server.agents.dual_llm.interpreter.convert import check_size, check_str, render
from server.agents.dual_llm.interpreter.errors import LimitExceeded
from server.agents.dual_llm.interpreter.limits import Limits
from server.agents.dual_llm.interpreter.values import (
    LDict,
    LList,
    LSet,
    LTuple,
    Val,
    join,
    type_name,
)
from server.policy.metadata import MetaData

__all__ = ["BINOPS", "CMPOPS", "UNARYOPS", "relabel", "check_spec", "contains"]

Op = Callable[[Any, Any, Limits], Any]


def _unsupported(sym: str, a: Any, b: Any) -> TypeError:
    return TypeError(
        f"unsupported operand type(s) for {sym}: '{type_name(a)}' and '{type_name(b)}'"
    )


def _int_bits(n: int, lim: Limits) -> int:
    if n > lim.max_int_bits:
        raise LimitExceeded("max_int_bits", f"an integer of about {n} bits (max {lim.max_int_bits})")
    return n


_ARITH_TYPES: Final = frozenset(
    {int, float, bool, _dt.datetime, _dt.date, _dt.time, _dt.timedelta}
)


def _numeric(a: Any) -> bool:
    t = type(a)
    return t is int or t is float or t is bool


def _add(a: Any, b: Any, lim: Limits) -> Any:
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        if len(a) + len(b) > lim.max_string_length:
            check_str(a + b, lim.max_string_length)  # raises
        return a + b
    if (ta is LList or ta is LTuple) and tb is ta:
        check_size(len(a.items) + len(b.items), lim.max_container_size)
        return ta(a.items + b.items)
    if ta in _ARITH_TYPES and tb in _ARITH_TYPES:
        return a + b
    raise _unsupported("+", a, b)


def _mul(a: Any, b: Any, lim: Limits) -> Any:
    ta, tb = type(a), type(b)
    if tb is str or tb is LList or tb is LTuple:
        a, b, ta, tb = b, a, tb, ta
    if ta is str and (tb is int or tb is bool):
        if len(a) * b > lim.max_string_length:
            raise LimitExceeded(
                "max_string_length", f"a string of {len(a) * b} characters (max {lim.max_string_length})"
            )
        return a * b
    if (ta is LList or ta is LTuple) and (tb is int or tb is bool):
        check_size(len(a.items) * max(b, 0), lim.max_container_size)
        return ta(a.items * b)
    if ta is int and tb is int:
        _int_bits(a.bit_length() + b.bit_length(), lim)
        return a * b
    if type(a) in _ARITH_TYPES and type(b) in _ARITH_TYPES:
        return a * b
    raise _unsupported("*", a, b)


def _pow(a: Any, b: Any, lim: Limits) -> Any:
    if not (_numeric(a) and _numeric(b)):
        raise _unsupported("** or pow()", a, b)
    if type(a) is int and type(b) is int and b > 0 and abs(a) > 1:
        _int_bits(int(b * math.log2(abs(a))) + 1, lim)
    return a**b


def _lshift(a: Any, b: Any, lim: Limits) -> Any:
    if type(a) is int and type(b) is int and b > 0:
        _int_bits(a.bit_length() + b, lim)
    return _NUMERIC_LSHIFT(a, b, lim)


def _arith(fn: Callable[[Any, Any], Any], sym: str) -> Op:
    def op(a: Any, b: Any, lim: Limits) -> Any:
        if type(a) in _ARITH_TYPES and type(b) in _ARITH_TYPES:
            return fn(a, b)
        raise _unsupported(sym, a, b)

    return op


def _set_op(fn: Callable[[Any, Any], Any], sym: str, num: Callable[[Any, Any], Any] | None) -> Op:
    def op(a: Any, b: Any, lim: Limits) -> Any:
        if type(a) is LSet and type(b) is LSet:
            keys = fn(a.items.keys(), b.items.keys())
            merged = {**b.items, **a.items}
            return LSet({k: merged[k] for k in list(a.items) + list(b.items) if k in keys})
        if sym == "|" and type(a) is LDict and type(b) is LDict:
            return LDict({**a.items, **b.items})
        if num is not None and type(a) in (int, bool) and type(b) in (int, bool):
            return num(a, b)
        raise _unsupported(sym, a, b)

    return op


_NUMERIC_MOD: Final = _arith(operator.mod, "%")
_NUMERIC_SUB: Final = _arith(operator.sub, "-")
_SET_SUB: Final = _set_op(operator.sub, "-", None)
_FORMAT_NUMBER = re.compile(r"\d+")


def check_spec(spec: str, lim: Limits) -> None:
    """Refuse format specs (and printf widths) whose numbers would build an oversized string."""
    for digits in _FORMAT_NUMBER.findall(spec):
        if len(digits) > 7 or int(digits) > lim.max_string_length:
            raise LimitExceeded(
                "max_string_length", f"format width or precision {digits} (max {lim.max_string_length})"
            )


def _mod(a: Any, b: Any, lim: Limits) -> Any:
    if type(a) is not str:
        return _NUMERIC_MOD(a, b, lim)
    if "*" in a:
        raise ValueError("'*' widths are not supported in % formatting; write the width literally")
    check_spec(a, lim)
    if type(b) is LTuple:
        args: Any = tuple(_printf_arg(x, lim) for x in b.raw())
    elif type(b) is LDict:
        raise TypeError("%-formatting with a mapping is not supported; use an f-string")
    else:
        args = _printf_arg(b, lim)
    return check_str(a % args, lim.max_string_length)


def _printf_arg(x: Any, lim: Limits) -> Any:
    t = type(x)
    if t is str or t is int or t is float or t is bool or x is None:
        return x
    return render(x, as_str=True, limit=lim.max_string_length)


_NUMERIC_LSHIFT: Final = _arith(operator.lshift, "<<")

BINOPS: Final[dict[type[ast.operator], Op]] = {
    ast.Add: _add,
    ast.Sub: _set_op(operator.sub, "-", None),
    ast.Mult: _mul,
    ast.Div: _arith(operator.truediv, "/"),
    ast.FloorDiv: _arith(operator.floordiv, "//"),
    ast.Mod: _mod,
    ast.Pow: _pow,
    ast.LShift: _lshift,
    ast.RShift: _arith(operator.rshift, ">>"),
    ast.BitOr: _set_op(operator.or_, "|", operator.or_),
    ast.BitAnd: _set_op(operator.and_, "&", operator.and_),
    ast.BitXor: _set_op(operator.xor, "^", operator.xor),
}


def _sub(a: Any, b: Any, lim: Limits) -> Any:
    if type(a) is LSet:
        return _SET_SUB(a, b, lim)
    return _NUMERIC_SUB(a, b, lim)


BINOPS[ast.Sub] = _sub


def contains(container: Any, item: Any) -> bool:
    """`item in container` on raw values."""
    t = type(container)
    if t is LDict or t is LSet:
        return item in container.items
    if t is LList or t is LTuple:
        return any(v == item for v, _ in container.items)
    if t is str:
        if type(item) is not str:
            raise TypeError(f"'in <string>' requires string as left operand, not {type_name(item)}")
        return item in container
    if t is range:
        return item in container
    raise TypeError(f"argument of type '{type_name(container)}' is not iterable")


CMPOPS: Final[dict[type[ast.cmpop], Callable[[Any, Any], bool]]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: contains(b, a),
    ast.NotIn: lambda a, b: not contains(b, a),
}


def _neg(a: Any) -> Any:
    if not _numeric(a):
        raise TypeError(f"bad operand type for unary -: '{type_name(a)}'")
    return -a


def _pos(a: Any) -> Any:
    if not _numeric(a):
        raise TypeError(f"bad operand type for unary +: '{type_name(a)}'")
    return +a


def _invert(a: Any) -> Any:
    if type(a) not in (int, bool):
        raise TypeError(f"bad operand type for unary ~: '{type_name(a)}'")
    return ~a


UNARYOPS: Final[dict[type[ast.unaryop], Callable[[Any], Any]]] = {
    ast.Not: operator.not_,
    ast.USub: _neg,
    ast.UAdd: _pos,
    ast.Invert: _invert,
}

def relabel(val: Val, meta: MetaData) -> Val:
    """`val` with `meta` joined into it and, deeply, into every element (strict-mode assignment)."""
    v, m = val
    t = type(v)
    if t is LList or t is LTuple:
        v = t(tuple(relabel(e, meta) for e in v.items))
    elif t is LDict:
        v = LDict({k: relabel(e, meta) for k, e in v.items.items()})
    elif t is LSet:
        v = LSet({k: join(km, meta) for k, km in v.items.items()})
    return (v, join(m, meta))
