"""Single-LLM guards: the request's classifiers and blockers on proposed tool calls and on tool results.

`RequestGuards` runs `server.guards.run_guards` for one request; the `Enforcer`
(`single_llm_policy`) consumes its reports: argument reports before the policy check, result
reports before the policy's result phases.

Decisions:
- One guard run per tool call (its argument values in order, so tags are per argument, spec 13.3)
  and one per tool result; the runs of one answer (or one request's results) go concurrently and
  share the request's `TagLlm`, whose usage is summed for the response.
- The tag LLM is the request's provider and model with the request's key (spec dual-llm 2): no
  second model to configure, and the caller pays for its own scoring. It is built only when an
  LLM classifier (toxicity, topics) is configured; local guards (PII, URLs, files) never call it.
- A `GuardError` (a value that could not be checked in time, too deeply nested) is a denial of
  the call; for a result it withholds the result text (`[tool result withheld: ...]`): fail closed.
  Upstream failures of the tag LLM propagate as the request's error.
- Tag-LLM scores are recorded in the session (`PolicyState.scores`), so a resent history is never
  re-scored, on this worker or another; local scores are recomputed (deterministic, microseconds).
- Every result in a request is guarded, also the ones settled before: the client resends the
  original text each time and the upstream must only ever see the redacted one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from server.formats.base import ToolCallView, ToolResultView, result_text
from server.guards import CLASSIFIERS, GuardConfig, GuardError, GuardReport, ScoreCache, TagLlm, run_guards
from server.policy.engine import CheckRecord, FiredRule, Verdict, denial_message
from server.policy.metadata import Labelled, MetaData
from server.policy.results import unwrap_result
from server.providers.completion import Usage
from server.providers.registry import ProviderRegistry

__all__ = [
    "RequestGuards", "GuardOutcome", "with_tags", "guarded_args", "guard_denial", "MAX_RECORDED_SCORES", "add_usage",
]

MAX_RECORDED_SCORES = 4096  # tag-LLM scores kept per session (newest last)

# A call's or result's guard verdict: a report, or the error that made it unguardable.
GuardOutcome = GuardReport | GuardError


@dataclass
class RequestGuards:
    """The guards of one request; `recorded` starts as the session's scores and collects new ones."""

    config: GuardConfig
    llm: TagLlm | None
    recorded: dict[str, float | None] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        config: GuardConfig,
        *,
        providers: ProviderRegistry,
        provider: Any,
        model: str,
        api_key: str,
        cache: ScoreCache | None,
        recorded: Mapping[str, float | None] | None = None,
    ) -> RequestGuards | None:
        """None when the request configures no classifier and no blocker (the path costs nothing)."""
        if not config.classifiers and not config.blockers:
            return None
        needs_llm = any(CLASSIFIERS[c.name].category is not None for c in config.classifiers)
        llm = (
            TagLlm(client=providers.client(provider), model=model, api_key=api_key, cache=cache)
            if needs_llm
            else None
        )
        return cls(config=config, llm=llm, recorded=dict(recorded or {}))

    @property
    def usage(self) -> Usage:
        return self.llm.usage if self.llm is not None else Usage()

    async def _run(self, values: Sequence[Any], direction: Literal["arguments", "result"]) -> GuardOutcome:
        try:
            report = await run_guards(
                values, config=self.config, llm=self.llm, direction=direction, recorded_scores=self.recorded
            )
        except GuardError as err:
            return err
        self.recorded.update(report.recorded)
        return report

    async def arguments(self, calls: Sequence[ToolCallView], decoded: Sequence[dict[str, Any] | None]) -> dict[str, GuardOutcome]:
        """Call id -> the guard verdict on its argument values (calls whose arguments decode)."""
        todo = [(c.call_id, list(v.values())) for c, v in zip(calls, decoded, strict=True) if v is not None]
        outcomes = await asyncio.gather(*(self._run(values, "arguments") for _, values in todo))
        return {call_id: outcome for (call_id, _), outcome in zip(todo, outcomes, strict=True)}

    async def results(self, results: Sequence[ToolResultView]) -> dict[str, GuardOutcome]:
        """Call id -> the guard verdict on the result's (unwrapped) value."""
        todo = [(r.call_id, result_value(r)) for r in results]
        outcomes = await asyncio.gather(*(self._run([value], "result") for _, value in todo))
        return {call_id: outcome for (call_id, _), outcome in zip(todo, outcomes, strict=True)}

    def scores_to_store(self) -> dict[str, float | None]:
        return dict(list(self.recorded.items())[-MAX_RECORDED_SCORES:])


def guarded_args(
    values: dict[str, Any], base: MetaData, report: GuardReport | None
) -> dict[str, Labelled]:
    """Arguments as the check sees them: guard-redacted values, `base` joined with each value's tags."""
    if report is None:
        return {k: Labelled(v, base) for k, v in values.items()}
    return {k: Labelled(report.values[i], report.meta(i, base)) for i, k in enumerate(values)}


def guard_denial(tool: str, outcome: GuardOutcome, session_meta: MetaData) -> CheckRecord | None:
    """The denial of a call its guards refuse (toxic arguments, or arguments that could not be
    checked), with the 7.3 sentence; None when the guards let it through to the policy."""
    if isinstance(outcome, GuardError):
        reason = f"the guards could not check its arguments: {outcome.message}"
    elif outcome.denied:
        reason = outcome.deny_reason or "a classifier flagged its arguments"
    else:
        return None
    rule = FiredRule(rule=reason, line=None, description=reason, source="preset")
    return CheckRecord(
        tool=tool, verdict=Verdict.HARD_DENIED, message=denial_message(tool), denied_by=(rule,),
        session_meta=session_meta,
    )


# ------------------------------------------------------------------------------------------------


def result_value(view: ToolResultView) -> Any:
    """The value a result stands for: JSON when its text parses, wrappers unwrapped."""
    text = result_text(view.content)
    raw: Any = view.content if text is None else text
    if text is not None:
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError):
            pass
    return unwrap_result(raw, MetaData()).value


def with_tags(raw: Any, tags: frozenset[str], value: Any) -> Any:
    """`raw` as an `is_sequrity_var` wrapper whose value is `value` (redacted) and whose tags include
    `tags`: the policy's result phase then starts from metadata that already carries the guard tags.

    >>> with_tags("x", frozenset({"__pii"}), "[EMAIL_1]")["meta"]["tags"]
    ['__pii']
    """
    if isinstance(raw, dict) and raw.get("is_sequrity_var") is True and isinstance(raw.get("meta"), dict):
        meta = dict(raw["meta"])
        old: list[str] = meta["tags"] if isinstance(meta.get("tags"), list) else []
        meta["tags"] = sorted({*old, *tags})
        return {**raw, "value": value, "meta": meta}
    return {
        "is_sequrity_var": True,
        "value": value,
        "meta": {"producers": [], "consumers": ["*"], "tags": sorted(tags)},
        "combine_meta": "merge",
    }


_USAGE_FIELDS = {
    # format key in the answer's usage -> (prompt field, completion field, total field or None)
    "prompt_tokens": ("prompt_tokens", "completion_tokens", "total_tokens"),
    "input_tokens": ("input_tokens", "output_tokens", "total_tokens"),
}


def add_usage(answer: dict[str, Any], usage: Usage) -> dict[str, Any]:
    """A non-streamed answer with the guards' tag-LLM usage added to its `usage` (any format).

    >>> add_usage({"usage": {"input_tokens": 1, "output_tokens": 2}}, Usage(3, 4))["usage"]
    {'input_tokens': 4, 'output_tokens': 6}
    """
    block = answer.get("usage")
    if not isinstance(block, dict) or not (usage.prompt_tokens or usage.completion_tokens):
        return answer
    for marker, (prompt, completion, total) in _USAGE_FIELDS.items():
        if marker in block or (marker == "prompt_tokens" and "completion_tokens" in block):
            block[prompt] = int(block.get(prompt) or 0) + usage.prompt_tokens
            block[completion] = int(block.get(completion) or 0) + usage.completion_tokens
            if total in block:
                block[total] = int(block.get(total) or 0) + usage.prompt_tokens + usage.completion_tokens
            break
    return answer
