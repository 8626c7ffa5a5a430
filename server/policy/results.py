"""Initial metadata of a tool result (spec sqrt 4.3, 11.2): argument join, manual wrapping, preset tag.

Shared by every policy language: what a result starts with does not depend on how checks are written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from server.policy.engine import CallResult, Presets
from server.policy.metadata import Labelled, MetaData, meta_set

__all__ = ["NON_EXECUTABLE_TAG", "LLM_BLOCKED_TAG", "QLLM_TOOLS", "unwrap_result", "initial_result"]

NON_EXECUTABLE_TAG = "__non_executable"
# Internal tools whose result is the quarantined LLM's answer: derived from their arguments alone,
# so `complete(..., derived=True)` (no preset tag; spec dual-llm 4).
QLLM_TOOLS = frozenset({"parse_with_ai", "verify_hypothesis"})
LLM_BLOCKED_TAG = "__llm_blocked"
_COMBINE_MODES = ("merge", "replace", "ignore")


def _wrapper_meta(raw: Any) -> tuple[Any, MetaData, str] | None:
    """(value, meta, combine) when `raw` is a well-formed `is_sequrity_var` wrapper, else None."""
    if not isinstance(raw, Mapping) or raw.get("is_sequrity_var") is not True or "value" not in raw:
        return None
    meta = raw.get("meta")
    if not isinstance(meta, Mapping):
        return None
    lists = [meta.get(k) for k in ("producers", "consumers", "tags")]
    if not all(isinstance(x, list) and all(isinstance(i, str) for i in x) for x in lists):
        return None
    combine = raw.get("combine_meta", "merge")
    if combine not in _COMBINE_MODES:
        return None
    producers, consumers, tags = (meta_set(x) for x in lists)  # type: ignore[arg-type]
    return raw["value"], MetaData(producers=producers, consumers=consumers, tags=tags), combine


def unwrap_result(raw: Any, derived: MetaData) -> Labelled:
    """Apply manual wrapping to a raw result whose argument-derived metadata is `derived`.

    >>> unwrap_result({"value": 1, "meta": {"producers": ["db"], "consumers": ["*"], "tags": []},
    ...                "is_sequrity_var": True}, MetaData()).meta.producers
    frozenset({'db'})
    """
    wrapped = _wrapper_meta(raw)
    if wrapped is None:
        return Labelled(raw, derived)
    value, meta, combine = wrapped
    if combine == "replace":
        return Labelled(value, meta)
    if combine == "ignore":
        return Labelled(value, derived)
    return Labelled(value, derived.join(meta))


def initial_result(
    raw: Any, *, args: Mapping[str, Labelled], non_executable_memory: bool
) -> Labelled:
    """The result's metadata before user `result` updates run."""
    derived = MetaData.join_all(a.meta for a in args.values())
    result = unwrap_result(raw, derived)
    if non_executable_memory:
        meta = result.meta
        result = Labelled(
            result.value,
            MetaData(
                producers=meta.producers,
                consumers=meta.consumers,
                tags=meta.tags | {NON_EXECUTABLE_TAG} if "*" not in meta.tags else meta.tags,
            ),
        )
    return result


ResultPhase = Callable[[Labelled, MetaData], tuple[Labelled, MetaData]]
__all__ += ["ResultPhase", "complete_call"]


def complete_call(
    raw: Any,
    *,
    args: Mapping[str, Labelled],
    session_meta: MetaData,
    presets: Presets,
    phases: Sequence[ResultPhase] = (),
    derived: bool = False,
) -> CallResult:
    """The language-agnostic `complete` pipeline (spec sqrt 8 steps 5-7).

    Builds the initial result (argument join, wrapper, preset tag), then runs each phase — a
    language's result and session-after updates — in order. A language without updates (Cedar)
    passes no phases. A `derived` result (a quarantined-LLM answer: spec dual-llm 4, "with the
    join of its inputs' metadata") gets no preset tag: from clean inputs it is clean, from tool
    data it inherits that data's tags through the join.

    >>> complete_call("ok", args={}, session_meta=MetaData(), presets=Presets()).result.meta.tags
    frozenset({'__non_executable'})
    """
    result = initial_result(
        raw, args=args, non_executable_memory=presets.enable_non_executable_memory and not derived
    )
    session = session_meta
    for phase in phases:
        result, session = phase(result, session)
    return CallResult(result, session)
