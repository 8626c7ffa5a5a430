"""The allowlisted modules of programs, in one table: `MODULES` (json, re, math, datetime, string).

Decisions: `re` lives in `re_module` (on `regex`, with timeouts). `datetime` has no clock: no
`now`, `today`, `utcnow`, `fromtimestamp` (a program that needs the time calls a tool). `math` leaves out `factorial`, `comb`, `perm` and `prod`, whose cost grows
with their integer results. `string` exposes its constants and `capwords` (not `Formatter` or
`Template`, which reach attributes).
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import math as _math
import string as _string
from collections.abc import Callable, Mapping
from typing import Any, Final

from server.agents.dual_llm.interpreter.builtins import expect, sequence_of
from server.agents.dual_llm.interpreter.convert import check_str, lift, to_json
from server.agents.dual_llm.interpreter.errors import LimitExceeded
from server.agents.dual_llm.interpreter.re_module import RE_ATTRS, RE_METHODS, MatchVal, PatternVal
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import (
    D,
    Builtin,
    LDict,
    LList,
    LSet,
    LTuple,
    ModuleVal,
    TypeVal,
    Val,
    join_vals,
    type_name,
)

__all__ = ["MODULES", "METHODS", "PatternVal", "MatchVal"]

METHODS = RE_METHODS

Fn = Callable[[State, list[Val], Mapping[str, Val]], Val]


def _raw(a: list[Val], kw: Mapping[str, Val]) -> tuple[list[Any], dict[str, Any], Any]:
    return [v for v, _ in a], {k: v for k, (v, _) in kw.items()}, join_vals(kw.values(), join_vals(a))


# ---- json ------------------------------------------------------------------------------------


def _json_size(v: Any, budget: int, depth: int = 0) -> int:
    """An upper estimate of `json.dumps(v)`'s length, stopping once it passes `budget`."""
    t = type(v)
    if t is str:
        return len(v) * 6 + 2 if not v.isascii() else len(v) + 2 + v.count('"') + v.count("\\")
    if t in (LList, LTuple, LSet, LDict):
        total = 2
        parts: list[Any] = list(v.items.items()) if t is LDict else [(x, (None, D)) for x in v]
        for k, (x, _) in parts:
            total += 4 + _json_size(k, budget, depth + 1) + _json_size(x, budget, depth + 1)
            if total > budget:
                return total
        return total
    return 32


def _loads(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("json.loads", a, kw, 1, 1)
    s, m = a[0]
    if type(s) is not str:
        raise TypeError(f"the JSON object must be str, not {type_name(s)}")
    try:
        data = _json.loads(s)
    except RecursionError:
        raise LimitExceeded("max_depth", "JSON nested too deeply") from None
    return lift(data, m, st.limits)


def _dumps(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("json.dumps", a, kw, 1, 1, ("indent", "sort_keys", "ensure_ascii", "separators"))
    lim = st.limits.max_string_length
    indent = kw.get("indent", (None, D))[0]
    if indent is not None and (type(indent) is not int or not 0 <= indent <= 16):
        raise ValueError("json.dumps(): indent must be an integer from 0 to 16")
    if _json_size(a[0][0], lim) * (1 + (indent or 0)) > lim:
        raise LimitExceeded("max_string_length", f"json.dumps() output over {lim} characters")
    options = {k: v for k, (v, _) in kw.items()}
    if "separators" in options:
        options["separators"] = tuple(to_json(options["separators"]))
    text = _json.dumps(to_json(a[0][0], max_depth=st.limits.max_depth), **options)
    return (check_str(text, lim), join_vals(kw.values(), a[0][1]))


# ---- math ------------------------------------------------------------------------------------


def _math_fn(name: str) -> Fn:
    host = getattr(_math, name)

    def fn(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
        raw, kwraw, m = _raw(a, kw)
        if name == "fsum":
            raw = [[v for v, _ in sequence_of(st, a[0])]] if a else raw
            m = join_vals(sequence_of(st, a[0]), m) if a else m
        else:
            for x in [*raw, *kwraw.values()]:
                if type(x) not in (int, float, bool):
                    raise TypeError(f"math.{name}() takes numbers, not '{type_name(x)}'")
        return (host(*raw, **kwraw), m)

    return fn


_MATH_FUNCTIONS = (
    "ceil floor trunc sqrt exp log log2 log10 pow fabs fmod isclose isfinite isinf isnan gcd "
    "hypot copysign sin cos tan asin acos atan atan2 degrees radians fsum"
).split()

# ---- datetime --------------------------------------------------------------------------------

_DT_ARGS = (int, float, bool, str, _dt.timezone, _dt.date, _dt.time, _dt.timedelta, type(None))


def _host_call(name: str, host: Callable[..., Any]) -> Fn:
    def fn(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
        raw, kwraw, m = _raw(a, kw)
        for x in [*raw, *kwraw.values()]:
            if not isinstance(x, _DT_ARGS):
                raise TypeError(f"{name}() does not accept a '{type_name(x)}'")
            if type(x) is str and len(x) > 200:
                raise ValueError(f"{name}(): string argument too long")
        return (host(*raw, **kwraw), m)

    return fn


def _dt_type(name: str, cls: type, classmethods: tuple[str, ...], constants: tuple[str, ...]) -> TypeVal:
    attrs: dict[str, Any] = {n: Builtin(f"{name}.{n}", _host_call(f"{name}.{n}", getattr(cls, n))) for n in classmethods}
    attrs.update({n: getattr(cls, n) for n in constants})
    return TypeVal(name, (cls,), _host_call(name, cls), None, attrs)


_DATETIME_TYPES: Final = {
    "datetime": _dt_type("datetime", _dt.datetime, ("fromisoformat", "strptime", "combine"), ("min", "max")),
    "date": _dt_type("date", _dt.date, ("fromisoformat",), ("min", "max")),
    "time": _dt_type("time", _dt.time, ("fromisoformat",), ("min", "max")),
    "timedelta": _dt_type("timedelta", _dt.timedelta, (), ("min", "max")),
    "timezone": _dt_type("timezone", _dt.timezone, (), ("utc",)),
}

# ---- string ----------------------------------------------------------------------------------


def _capwords(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("string.capwords", a, kw, 1, 2)
    raw, _, m = _raw(a, kw)
    if any(type(x) is not str for x in raw):
        raise TypeError("string.capwords() takes strings")
    return (check_str(_string.capwords(*raw), st.limits.max_string_length), m)


_STRING_CONSTANTS = (
    "ascii_letters ascii_lowercase ascii_uppercase digits hexdigits octdigits punctuation "
    "whitespace printable"
).split()

MODULES: Final[dict[str, ModuleVal]] = {
    "json": ModuleVal("json", {"loads": Builtin("json.loads", _loads), "dumps": Builtin("json.dumps", _dumps)}),
    "re": ModuleVal(
        "re",
        RE_ATTRS,
    ),
    "math": ModuleVal(
        "math",
        {n: Builtin(f"math.{n}", _math_fn(n)) for n in _MATH_FUNCTIONS}
        | {n: getattr(_math, n) for n in ("pi", "e", "tau", "inf", "nan")},
    ),
    "datetime": ModuleVal("datetime", dict(_DATETIME_TYPES)),
    "string": ModuleVal(
        "string",
        {n: getattr(_string, n) for n in _STRING_CONSTANTS} | {"capwords": Builtin("string.capwords", _capwords)},
    ),
}
