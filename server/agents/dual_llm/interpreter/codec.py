"""Namespaces as JSON (multi-turn sessions keep values, with per-element metadata, between requests).

Each value is encoded as `{"t": tag, "v": payload}` plus `"m"` (the wire metadata) when it is not
the default. Tags: `str int float bool none list tuple dict set datetime date time timedelta
timezone error range module builtin type errtype tool pattern`. Functions, modules and types are
stored by name and restored from the allowlists; regex match objects are not stored (a later
step re-runs the match). Decoding validates every tag, so a stored namespace cannot smuggle in
anything the program could not have built itself.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from server.agents.dual_llm.interpreter.builtins import NAMES
from server.agents.dual_llm.interpreter.modules import MODULES
from server.agents.dual_llm.interpreter.re_module import MatchVal, PatternVal, compile_pattern
from server.agents.dual_llm.interpreter.values import (
    D,
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
)
from server.policy.metadata import MetaData, MetaDataError

__all__ = ["encode", "decode", "NamespaceCodecError", "storable"]


class NamespaceCodecError(ValueError):
    """A stored namespace entry is malformed (names the path)."""


def storable(v: Any) -> bool:
    return type(v) is not MatchVal


def encode(val: Val) -> dict[str, Any]:
    v, m = val
    out = _encode_value(v)
    if m is not D and m != D:
        out["m"] = m.to_json()
    return out


def _encode_value(v: Any) -> dict[str, Any]:
    t = type(v)
    if t is str:
        return {"t": "str", "v": v}
    if t is bool:
        return {"t": "bool", "v": v}
    if t is int:
        return {"t": "int", "v": v if v.bit_length() < 12_000 else hex(v)}
    if t is float:
        return {"t": "float", "v": v if math.isfinite(v) else repr(v)}
    if v is None:
        return {"t": "none"}
    if t is LList or t is LTuple or t is LSet:
        items = v.items.items() if t is LSet else v.items
        return {"t": t.kind, "v": [encode(e) for e in items]}
    if t is LDict:
        return {"t": "dict", "v": [[_encode_value(k), encode(e)] for k, e in v.items.items()]}
    if t in (_dt.datetime, _dt.date, _dt.time):
        return {"t": t.__name__, "v": v.isoformat()}
    if t is _dt.timedelta:
        return {"t": "timedelta", "v": [v.days, v.seconds, v.microseconds]}
    if t is _dt.timezone:
        off = v.utcoffset(None)
        return {"t": "timezone", "v": off.total_seconds()}
    if t is ErrorValue:
        return {"t": "error", "v": [v.type_name, v.message]}
    if t is range:
        return {"t": "range", "v": [v.start, v.stop, v.step]}
    if t is ModuleVal:
        return {"t": "module", "v": v.name}
    if t is Builtin or t is TypeVal:
        return {"t": "builtin", "v": v.name}
    if t is ErrorType:
        return {"t": "errtype", "v": v.name}
    if t is ToolRef:
        return {"t": "tool", "v": v.name}
    if t is PatternVal:
        return {"t": "pattern", "v": [v.pattern, v.flags]}
    raise NamespaceCodecError(f"a {t.__name__} cannot be stored")


def _named(name: Any, path: str) -> Any:
    if not isinstance(name, str):
        raise NamespaceCodecError(f"{path}: expected a name")
    if name in NAMES:
        return NAMES[name]
    mod, _, attr = name.rpartition(".")
    if mod in MODULES and attr in MODULES[mod].attrs:
        return MODULES[mod].attrs[attr]
    if name in MODULES["datetime"].attrs:
        return MODULES["datetime"].attrs[name]
    raise NamespaceCodecError(f"{path}: unknown builtin '{name}'")


MAX_STORED_DEPTH = 100  # above any value a run may leave (runs enforce `Limits.max_depth`)


def decode(data: Any, path: str = "value", depth: int = 0) -> Val:
    if not isinstance(data, dict) or "t" not in data:
        raise NamespaceCodecError(f"{path}: expected an object with a 't' tag")
    try:
        meta = MetaData.from_json(data["m"], path=f"{path}.m") if "m" in data else D
    except MetaDataError as exc:
        raise NamespaceCodecError(str(exc)) from None
    return (_decode_value(data, path, depth), meta if meta != D else D)


def _decode_value(data: Any, path: str, depth: int) -> Any:
    if depth > MAX_STORED_DEPTH:
        raise NamespaceCodecError(f"{path}: nested more than {MAX_STORED_DEPTH} levels")
    d = depth + 1
    if not isinstance(data, dict):
        raise NamespaceCodecError(f"{path}: expected an object")
    t: Any = data.get("t")
    v: Any = data.get("v")
    try:
        if t == "str" and isinstance(v, str):
            return v
        if t == "bool" and isinstance(v, bool):
            return v
        if t == "int":
            return int(v, 16) if isinstance(v, str) else int(v)
        if t == "float":
            return float(v)
        if t == "none":
            return None
        if t in ("list", "tuple"):
            items = tuple(decode(e, f"{path}[{i}]", d) for i, e in enumerate(v))
            return LList(items) if t == "list" else LTuple(items)
        if t == "set":
            return LSet({x: m for x, m in (decode(e, f"{path}[{i}]", d) for i, e in enumerate(v))})
        if t == "dict":
            return LDict({_decode_value(k, f"{path}.key", d): decode(e, f"{path}[{i}]", d) for i, (k, e) in enumerate(v)})
        if t in ("datetime", "date", "time"):
            return getattr(_dt, t).fromisoformat(v)
        if t == "timedelta":
            return _dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
        if t == "timezone":
            return _dt.timezone(_dt.timedelta(seconds=float(v)))
        if t == "error":
            return ErrorValue(str(v[0]), str(v[1]))
        if t == "range":
            return range(int(v[0]), int(v[1]), int(v[2]))
        if t == "module":
            return MODULES[v]
        if t == "builtin":
            return _named(v, path)
        if t == "errtype":
            return NAMES[v] if isinstance(NAMES.get(v), ErrorType) else _named(None, path)
        if t == "tool" and isinstance(v, str):
            return ToolRef(v)
        if t == "pattern":
            return PatternVal(str(v[0]), int(v[1]), compile_pattern(str(v[0]), int(v[1])))
    except NamespaceCodecError:
        raise
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise NamespaceCodecError(f"{path}: malformed '{t}' entry ({exc})") from None
    raise NamespaceCodecError(f"{path}: unknown or malformed tag {t!r}")
