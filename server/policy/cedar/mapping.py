"""How a tool call becomes a Cedar authorization request (spec sqrt 13, "Cedar [ours]").

* principal `Agent::"session"`, action `Action::"<tool>"`, resource `Tool::"<tool>"`; the
  resource entity carries one attribute, `name` (the tool name), so a policy can match tool
  families with `resource.name like "fs_*"` (Cedar cannot match an entity id by pattern).
* context: one record per argument, `{value, producers, consumers, tags}`, plus `session`,
  `{producers, consumers, tags}`. An argument literally named `session` is hidden by the
  session record. Arguments that the policy mentions but the call lacks are filled in as the
  absent argument of spec sqrt 6.1: default metadata and no `value` (test `context.x has value`).
* Universal sets stay `["*"]`: `"*"` is an ordinary element in Cedar, so "bob may receive x" is
  `context.x.consumers.containsAny(["*", "bob"])` and "x is universal" is
  `context.x.consumers.contains("*")`.

Values (JSON-like) map as follows; a value Cedar cannot represent faithfully is *omitted*
(`value` absent, like null), so every test on it is an evaluation error, which the engine
treats fail-closed (an erroring `forbid` denies, an erroring `permit` grants nothing):

| JSON | Cedar |
|---|---|
| null | omitted (record attributes that are null are left out of the record) |
| bool, string | Boolean, String |
| integer | Long when within 64 bits, else omitted |
| float | `decimal` when exact with at most 4 fractional digits and in range, else omitted (never rounded: rounding could move a value across a policy bound) |
| list | Set (order and duplicates are lost); omitted if an element is unrepresentable |
| object | Record; omitted if it has a key `__entity`/`__extn` (Cedar's JSON escapes: data must not forge entities) or an unrepresentable attribute |
| nesting deeper than `MAX_VALUE_DEPTH` | omitted |
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from server.policy.metadata import DEFAULT_META, Labelled, MetaData, MetaSet

__all__ = [
    "MAX_VALUE_DEPTH",
    "PRINCIPAL",
    "SESSION_KEY",
    "build_context",
    "build_request",
    "meta_record",
    "to_cedar_value",
    "tool_entities",
]

PRINCIPAL: Final = {"type": "Agent", "id": "session"}
SESSION_KEY: Final = "session"
MAX_VALUE_DEPTH: Final = 32
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_DECIMAL_LIMIT = Decimal("922337203685477.5807")
_ESCAPE_KEYS = frozenset({"__entity", "__extn", "__expr"})


class _Unrepresentable(Exception):
    """Internal: the value has no faithful Cedar form."""


def _decimal_arg(value: float) -> str:
    if not math.isfinite(value):
        raise _Unrepresentable
    try:
        exact = Decimal(repr(value))
    except InvalidOperation as err:
        raise _Unrepresentable from err
    exponent = exact.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -4 or abs(exact) > _DECIMAL_LIMIT:
        raise _Unrepresentable
    text = format(exact, "f")
    return text if "." in text else f"{text}.0"


def _convert(value: Any, depth: int) -> Any:
    if depth > MAX_VALUE_DEPTH:
        raise _Unrepresentable
    if value is None:
        raise _Unrepresentable
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not _I64_MIN <= value <= _I64_MAX:
            raise _Unrepresentable
        return value
    if isinstance(value, float):
        return {"__extn": {"fn": "decimal", "arg": _decimal_arg(value)}}
    if isinstance(value, list | tuple):
        return [_convert(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        if any(not isinstance(k, str) or k in _ESCAPE_KEYS for k in value):
            raise _Unrepresentable
        return {k: _convert(v, depth + 1) for k, v in value.items() if v is not None}
    raise _Unrepresentable


def to_cedar_value(value: Any) -> tuple[bool, Any]:
    """(True, Cedar JSON) for a representable value, else (False, None).

    >>> to_cedar_value(2.5)
    (True, {'__extn': {'fn': 'decimal', 'arg': '2.5'}})
    >>> to_cedar_value(0.1 + 0.2)
    (False, None)
    """
    try:
        return True, _convert(value, 0)
    except _Unrepresentable:
        return False, None


def _wire(s: MetaSet) -> list[str]:
    return ["*"] if "*" in s else sorted(s)


def meta_record(meta: MetaData) -> dict[str, Any]:
    """The metadata triple as Cedar sets of strings (universal as `["*"]`)."""
    return {
        "producers": _wire(meta.producers),
        "consumers": _wire(meta.consumers),
        "tags": _wire(meta.tags),
    }


def _arg_record(arg: Labelled | None) -> dict[str, Any]:
    if arg is None:
        return meta_record(DEFAULT_META)
    record = meta_record(arg.meta)
    ok, value = to_cedar_value(arg.value)
    if ok:
        record["value"] = value
    return record


def build_context(
    *, args: Mapping[str, Labelled], session_meta: MetaData, mentioned: Iterable[str] = ()
) -> dict[str, Any]:
    """The request context: every argument, every mentioned-but-absent argument, `session`."""
    context: dict[str, Any] = {name: _arg_record(None) for name in mentioned}
    for name, arg in args.items():
        context[name] = _arg_record(arg)
    context[SESSION_KEY] = meta_record(session_meta)
    return context


def build_request(tool: str, context: dict[str, Any]) -> dict[str, Any]:
    """The authorization request; entity ids in dict form, so any tool name is safe."""
    return {
        "principal": dict(PRINCIPAL),
        "action": {"type": "Action", "id": tool},
        "resource": {"type": "Tool", "id": tool},
        "context": context,
    }


def tool_entities(tool: str) -> list[dict[str, Any]]:
    """The entity list of one request: the resource with its `name` attribute."""
    return [{"uid": {"type": "Tool", "id": tool}, "attrs": {"name": tool}, "parents": []}]
