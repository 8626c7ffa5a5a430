"""Applying a graph's own reducers to node updates on the client, as LangGraph would (dual-llm spec 8).

The server cannot run reducers (they are client Python), so every node tool returns the whole
updated state: `apply_update(channels, state, update)`. Keys not in the state schema are dropped and
reducer keys start from the channel's initial value (`[]` for `Annotated[list, add]`), exactly as
LangGraph's channels do; the input state goes through the same reducers (`initial_state`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sequrity_langgraph.graph import Channel, UnsupportedGraph

__all__ = ["initial_state", "apply_update", "as_update", "ensure_json"]


def _index(channels: Sequence[Channel]) -> dict[str, Channel]:
    return {c.key: c for c in channels}


def apply_update(channels: Sequence[Channel], state: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """A new state: `state` with `update` written through each key's reducer.

    >>> import operator
    >>> chans = [Channel("log", operator.add, list), Channel("n")]
    >>> apply_update(chans, {"log": ["a"], "n": 1}, {"log": ["b"], "n": 2, "other": 0})
    {'log': ['a', 'b'], 'n': 2}
    """
    index = _index(channels)
    new = dict(state)
    for key, value in update.items():
        chan = index.get(key)
        if chan is None:
            continue
        if chan.reducer is None:
            new[key] = value
        elif key in new:
            new[key] = chan.reducer(new[key], value)
        elif chan.initial is not None:
            new[key] = chan.reducer(chan.initial(), value)
        else:
            new[key] = value
    return new


def initial_state(channels: Sequence[Channel], values: Mapping[str, Any]) -> dict[str, Any]:
    """The state LangGraph starts from for input `values`: reducer keys at their initial value, then the input."""
    start = {c.key: c.initial() for c in channels if c.initial is not None}
    return apply_update(channels, start, values)


def as_update(node: str, result: Any) -> Mapping[str, Any]:
    """A node's return value as an update (None = no change); anything else is unsupported here."""
    if result is None:
        return {}
    if isinstance(result, Mapping):
        return result
    raise UnsupportedGraph(
        f"node {node!r} returned {type(result).__name__}; compiled mode needs a dict of state updates "
        "(Command and Send are not supported: use conditional edges, or intercepted mode)"
    )


def ensure_json(value: Any, *, where: str) -> Any:
    """`value` if it survives JSON (the server sees state as JSON); else a message naming the key."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as err:
        bad = [k for k, v in value.items() if not _jsonable(v)] if isinstance(value, Mapping) else []
        raise UnsupportedGraph(
            f"{where}: state key(s) {bad or '?'} are not JSON-serializable ({err}); compiled mode sends the "
            "state to the server as JSON; store plain data (e.g. message dicts) or use intercepted mode"
        ) from None
    return value


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
    except (TypeError, ValueError):
        return False
    return True
