"""Dual-LLM guards: classifiers and blockers on client tool-call arguments and on tool results.

Arguments. The interpreter calls the gateway synchronously, and the tag LLM is async, so the
gateway never scores anything itself: at a new client call whose arguments have no verdict yet it
suspends with a `GuardPending`; the runner runs the guards (`guard_arguments`), stores the verdict
in `DualState.guards` under the call's digest, and replays — the program reaches the same call
with the same digest and the gateway now applies the verdict (`apply_verdict`): redacted values,
each argument's metadata joined with its tags, a denial for toxic arguments. This is the same
suspend-and-replay the quarantined LLM uses, so a replay on any worker reads the verdict and
never re-scores.

Results. `guard_results` runs before the policy's result phase (agent.py `_settle_results`); the
tags enter the result's metadata through an `is_sequrity_var` wrapper, so the result phase and
every value derived from the result see them; the program gets the redacted value.

Recording. Every verdict keeps its `policy_check_history` entries (source `classifier`) and its
tag-LLM scores; the ledger event keeps them too (`extra["guards"]`), so a replayed call shows the
same history. Scores found anywhere in the attempt's verdicts are passed back as
`recorded_scores`.

Decisions:
- Only client tools are guarded on their arguments: they are what leaves the gateway. The
  quarantined LLM's inputs are tool data already guarded as results.
- A `GuardError` on arguments denies the call; on a result it becomes a tool error (the program
  sees a failed call, never an unchecked value). Fail closed both ways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from server.agents.single_llm_guards import with_tags
from server.guards import CLASSIFIERS, GuardConfig, GuardError, GuardReport, ScoreCache, TagLlm, run_guards
from server.policy.engine import CheckRecord, FiredRule, Verdict, denial_message
from server.policy.metadata import Labelled, MetaData
from server.providers.base import LlmClient
from server.providers.completion import Usage

__all__ = [
    "GuardPending",
    "DualGuards",
    "apply_verdict",
    "verdict_json",
    "guarded_result",
]


@dataclass(frozen=True)
class GuardPending:
    """The gateway's request to guard a call's arguments before it is checked (a `Suspend` payload)."""

    name: str
    digest: str
    values: dict[str, Any]


def verdict_json(report: GuardReport | GuardError, *, tool: str) -> dict[str, Any]:
    """A guard verdict as plain JSON for `DualState.guards` (call id filled in by the gateway)."""
    if isinstance(report, GuardError):
        return {"error": report.message, "history": [], "scores": {}}
    return {
        "values": list(report.values),
        "tags": [sorted(t) for t in report.tags],
        "denied": report.deny_reason if report.denied else None,
        "history": report.history_entries(tool=tool),
        "scores": dict(report.recorded),
    }


def apply_verdict(
    name: str, args: Mapping[str, Labelled], verdict: Mapping[str, Any], session_meta: MetaData
) -> tuple[dict[str, Labelled], CheckRecord | None]:
    """The arguments as the policy sees them (redacted, tagged) and the guards' denial, if any."""
    if "error" in verdict:
        reason = f"the guards could not check its arguments: {verdict['error']}"
        return dict(args), _denial(name, reason, session_meta)
    out = {
        k: Labelled(verdict["values"][i], a.meta.join(MetaData(tags=frozenset(verdict["tags"][i]))))
        if verdict["tags"][i] else Labelled(verdict["values"][i], a.meta)
        for i, (k, a) in enumerate(args.items())
    }
    denied = verdict.get("denied")
    return out, _denial(name, denied, session_meta) if denied else None


def _denial(name: str, reason: str, session_meta: MetaData) -> CheckRecord:
    rule = FiredRule(rule=reason, line=None, description=reason, source="preset")
    return CheckRecord(
        tool=name, verdict=Verdict.HARD_DENIED, message=f"{denial_message(name)} Rule: {reason}",
        denied_by=(rule,), session_meta=session_meta,
    )


class DualGuards:
    """The guards of one dual-LLM request; the tag LLM is the planner model with the request's key."""

    def __init__(
        self, config: GuardConfig, *, client: LlmClient, model: str, api_key: Any, cache: ScoreCache | None
    ) -> None:
        self.config = config
        self._client, self._model, self._api_key, self._cache = client, model, api_key, cache
        self._llm: TagLlm | None = None

    @property
    def active(self) -> bool:
        return bool(self.config.classifiers or self.config.blockers)

    @property
    def usage(self) -> Usage:
        return self._llm.usage if self._llm is not None else Usage()

    def _tag_llm(self) -> TagLlm | None:
        needs = any(CLASSIFIERS[c.name].category is not None for c in self.config.classifiers)
        if needs and self._llm is None:  # the key is checked at the first LLM call only (spec 13.2)
            key = self._api_key() if callable(self._api_key) else self._api_key
            self._llm = TagLlm(client=self._client, model=self._model, api_key=key, cache=self._cache)
        return self._llm

    async def run(
        self, values: Sequence[Any], direction: Literal["arguments", "result"], recorded: Mapping[str, float | None]
    ) -> GuardReport | GuardError:
        try:
            return await run_guards(
                values, config=self.config, llm=self._tag_llm(), direction=direction, recorded_scores=recorded
            )
        except GuardError as err:
            return err


def recorded_scores(guards: Mapping[str, Any], events: Sequence[Any]) -> dict[str, float | None]:
    """Every tag-LLM score of this attempt: the argument verdicts and the settled results."""
    out: dict[str, float | None] = {}
    for verdict in guards.values():
        out.update(verdict.get("scores") or {})
    for event in events:
        out.update((event.extra.get("guards") or {}).get("scores") or {})
    return out


def guarded_result(value: Any, report: GuardReport | GuardError) -> tuple[Any, str | None]:
    """(what the result phase gets, tool error): a tagged wrapper around the redacted value."""
    if isinstance(report, GuardError):
        return None, f"the guards could not check this tool result: {report.message}"
    if not report.tags[0] and report.values[0] == value:
        return value, None
    return with_tags(value, report.tags[0], report.values[0]), None
