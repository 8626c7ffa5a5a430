"""Conversions at the interpreter's edges: plain data in (`lift`), JSON out, text rendering.

Decisions: values leave as JSON (spec dual-llm 4): sets as sorted lists, tuples as lists,
`datetime`/`date`/`time` as ISO 8601, `timedelta` as total seconds, exceptions as
`{"error", "message"}`, non-string dict keys as their `str()`. A builtin type passed to a tool
leaves as the Python type (`str`, `int`, ...), so `parse_with_ai(q, output_schema=int)` is
unambiguous. Rendering (`repr`/`str`/f-strings) is ours, with a length budget, so a huge container
fails with `LimitExceeded` before its text is built.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterator
from typing import Any

from server.agents.dual_llm.interpreter.errors import LimitExceeded
from server.agents.dual_llm.interpreter.limits import Limits
from server.agents.dual_llm.interpreter.values import (
    Builtin,
    ErrorType,
    ErrorValue,
    LDict,
    LList,
    LSet,
    LTuple,
    ModuleVal,
    ToolRef,
    TypeVal,
    Val,
    join,
    type_name,
)
from server.policy.metadata import Labelled, MetaData

__all__ = ["lift", "to_json", "to_host", "render", "iter_vals", "check_str", "check_size"]

_SCALARS = (
    str, int, float, bool, type(None), _dt.datetime, _dt.date, _dt.time, _dt.timedelta, _dt.timezone
)


def check_str(s: str, limit: int) -> str:
    if len(s) > limit:
        raise LimitExceeded("max_string_length", f"a string of {len(s)} characters (max {limit})")
    return s


def check_size(n: int, limit: int) -> None:
    if n > limit:
        raise LimitExceeded("max_container_size", f"a container of {n} elements (max {limit})")


def lift(data: Any, meta: MetaData, limits: Limits, depth: int = 0) -> Val:
    """Plain data (JSON-like, possibly with nested `Labelled`) → runtime value; every element
    inherits `meta`, joined with the metadata of any nested `Labelled`. Strings, containers and
    nesting are checked against `limits` (a huge tool result fails clearly)."""
    t = type(data)
    if t is str:
        return (check_str(data, limits.max_string_length), meta)
    if t in _SCALARS:
        return (data, meta)
    if t is Labelled:
        return lift(data.value, join(meta, data.meta), limits, depth)
    if depth >= limits.max_depth:
        raise LimitExceeded("max_depth", f"a value nested deeper than {limits.max_depth} levels")
    d = depth + 1
    if isinstance(data, list | tuple | set | frozenset | dict):
        check_size(len(data), limits.max_container_size)
    if isinstance(data, dict):
        items: dict[Any, Val] = {}
        for k, v in data.items():
            key, _ = lift(k, meta, limits, d)
            items[key] = lift(v, meta, limits, d)
        return (LDict(items), meta)
    if isinstance(data, list):
        return (LList(tuple(lift(v, meta, limits, d) for v in data)), meta)
    if isinstance(data, tuple):
        return (LTuple(tuple(lift(v, meta, limits, d) for v in data)), meta)
    if isinstance(data, set | frozenset):
        members = [lift(v, meta, limits, d) for v in data]
        return (LSet({v: m for v, m in sorted(members, key=lambda p: _sort_key(p[0]))}), meta)
    if isinstance(data, bool | int | float | str):  # subclasses (e.g. IntEnum) become plain values
        plain = next(b for b in (bool, int, float, str) if isinstance(data, b))
        return lift(plain(data), meta, limits, depth)
    if isinstance(data, LList | LTuple | LDict | LSet | ErrorValue):
        return (data, meta)
    raise TypeError(f"cannot convert a value of type {t.__name__} into the interpreter")


def _sort_key(v: Any) -> tuple[str, str]:
    return (type(v).__name__, repr(v))


def _json_key(k: Any) -> str:
    if type(k) is str:
        return k
    if type(k) is bool or k is None:
        return {True: "true", False: "false", None: "null"}[k]
    return render(k, as_str=True, limit=10_000)


def to_json(v: Any, *, max_depth: int = 64, depth: int = 0) -> Any:
    """A runtime value (no metadata) → JSON-compatible data (spec dual-llm 4)."""
    t = type(v)
    if t is str or t is int or t is bool or v is None:
        return v
    if t is float:
        return v if math.isfinite(v) else str(v)
    if depth >= max_depth:
        raise LimitExceeded("max_depth", f"a value nested deeper than {max_depth} levels")
    d = depth + 1
    if t is LList or t is LTuple:
        return [to_json(x, max_depth=max_depth, depth=d) for x, _ in v.items]
    if t is LDict:
        return {_json_key(k): to_json(x, max_depth=max_depth, depth=d) for k, (x, _) in v.items.items()}
    if t is LSet:
        out = [to_json(x, max_depth=max_depth, depth=d) for x in v.items]
        try:
            return sorted(out)
        except TypeError:
            return sorted(out, key=repr)
    if t is _dt.datetime or t is _dt.date or t is _dt.time:
        return v.isoformat()
    if t is _dt.timedelta:
        return v.total_seconds()
    if t is range:
        return list(v)
    if t is ErrorValue:
        return {"error": v.type_name, "message": v.message}
    if t is ErrorType:
        return v.name
    if t is TypeVal:
        return v.name
    raise TypeError(f"a {type_name(v)} cannot leave the interpreter as data")


def to_host(v: Any, *, max_depth: int) -> Any:
    """A tool argument: JSON data, except that a type passed as a value arrives as the host type."""
    if type(v) is TypeVal and v.host is not None:
        return v.host
    if type(v) in (ModuleVal, Builtin, ToolRef):
        raise TypeError(f"a {type_name(v)} cannot be passed to a tool")
    return to_json(v, max_depth=max_depth)


def iter_vals(val: Val) -> Iterator[Val] | tuple[Val, ...]:
    """The elements of an iterable value, each with its own metadata (strings and ranges: the
    whole value's)."""
    v, m = val
    t = type(v)
    if t is LList or t is LTuple:
        return v.items  # type: ignore[no-any-return]
    if t is LDict:
        return tuple((k, km) for k, (_, km) in v.items.items())
    if t is LSet:
        return tuple(v.items.items())
    if t is str or t is range:
        return ((x, m) for x in v)  # lazy: `for i in range(10**9)` is stopped by the node limit
    raise TypeError(f"'{type_name(v)}' object is not iterable")


class _Budget:
    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.limit = limit

    def take(self, s: str) -> str:
        self.left -= len(s)
        if self.left < 0:
            raise LimitExceeded("max_string_length", f"rendered text longer than {self.limit}")
        return s


def render(v: Any, *, as_str: bool = False, limit: int) -> str:
    """`str(v)` (as_str) or `repr(v)` of a runtime value, failing past `limit` characters."""
    return _render(v, as_str, _Budget(limit), 0)


def _render(v: Any, as_str: bool, b: _Budget, depth: int) -> str:
    t = type(v)
    if t is str:
        return b.take(v if as_str else repr(v))
    if t is int or t is float or t is bool or v is None:
        return b.take(repr(v))
    if depth > 200:
        raise LimitExceeded("max_depth", "a value nested too deeply to render")
    d = depth + 1
    if t is LList or t is LTuple:
        parts = [_render(x, False, b, d) for x, _ in v.items]
        b.take(", " * len(parts))
        if t is LTuple:
            return "(" + parts[0] + ",)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"
        return "[" + ", ".join(parts) + "]"
    if t is LDict:
        parts = [f"{_render(k, False, b, d)}: {_render(x, False, b, d)}" for k, (x, _) in v.items.items()]
        b.take(", " * len(parts))
        return "{" + ", ".join(parts) + "}"
    if t is LSet:
        if not v.items:
            return "set()"
        parts = [_render(x, False, b, d) for x in v.items]
        b.take(", " * len(parts))
        return "{" + ", ".join(parts) + "}"
    if t is ErrorValue:
        return b.take(v.message if as_str else f"{v.type_name}({v.message!r})")
    if t is ErrorType or t is TypeVal:
        return b.take(f"<class '{v.name}'>")
    if t is ModuleVal:
        return b.take(f"<module '{v.name}'>")
    if t is Builtin:
        return b.take(f"<built-in function {v.name}>")
    if t is ToolRef:
        return b.take(f"<tool {v.name}>")
    if t in (_dt.datetime, _dt.date, _dt.time, _dt.timedelta, _dt.timezone, range):
        return b.take(str(v) if as_str else repr(v))
    return b.take(f"<{type_name(v)}>")
