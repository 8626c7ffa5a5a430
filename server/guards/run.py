"""The one entry point: run a request's classifiers and blockers over tool arguments or a tool result.

`run_guards` walks JSON-like values (strings, and dict keys, at any depth up to `MAX_DEPTH`),
masks what the PII classifier and the blockers find, scores the masked text with the tag LLM for
the LLM classifiers, and returns a `GuardReport`: the possibly-redacted values, the tags per value,
one score per classifier (for `policy_check_history`, source `classifier`), whether the default
action denies, and the scores to record in the session.

Decisions:
* Bounded work: a string is scanned up to `MAX_SCAN_CHARS`, a run up to `MAX_TOTAL_SCAN_CHARS`,
  local detection within `time_budget_s` (else `GuardTimeout`, a 422 the caller turns into a
  denial: a value that cannot be checked is not let through).
  When a masking guard is on, the unscanned rest is cut and replaced by `[TRUNCATED_<n>_CHARS]`
  (fail closed: nothing unscanned leaves), and `notes` says so. Tag-LLM texts are clipped by
  `tag_llm.prepare_text`.
* Replay: tag-LLM scores are keyed `"<classifier>:<sha256 of the text sent>"`; pass the session's
  `recorded_scores` and a key found there is never re-scored. `report.recorded` holds every
  tag-LLM score the run used (new and reused); store it. Local scores are deterministic and are
  recomputed.
* Unscored (the model's answer lacked a score): `on_unscored="tag"` (default) treats it as 1.0,
  fail closed; `"ignore"` as 0.0. The unscored `None` is what gets recorded, so a replay decides
  the same way.
* The tag LLM sees the text after masking, so redacted PII never reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from server.config.models import Blocker, Classifier
from server.guards.base import (
    MAX_SCAN_CHARS,
    TIME_BUDGET_S,
    Direction,
    Finding,
    GuardError,
    as_text,
    time_budget,
)
from server.guards.classifiers import BLOCKERS, CLASSIFIERS, PERSON_NAMES, BlockerSpec, ClassifierSpec
from server.guards.redact import Placeholders, redact
from server.guards.tag_llm import Category, TagLlm, prepare_text, text_key
from server.policy.metadata import DEFAULT_META, MetaData
from server.providers.completion import Usage

__all__ = [
    "GuardConfig",
    "ClassifierScore",
    "GuardReport",
    "run_guards",
    "MAX_DEPTH",
    "MAX_TOTAL_SCAN_CHARS",
]

MAX_DEPTH = 64
MAX_TOTAL_SCAN_CHARS = 2_000_000


class GuardConfig(Protocol):
    """What run_guards reads from a config; `SessionConfig` satisfies it."""

    @property
    def classifiers(self) -> tuple[Classifier, ...]: ...

    @property
    def blockers(self) -> tuple[Blocker, ...]: ...


@dataclass(frozen=True, slots=True)
class ClassifierScore:
    """A classifier's verdict on one guard run: `score` is the maximum over the values."""

    classifier: str
    tag: str
    score: float | None
    threshold: float
    tagged: bool
    source: Literal["local", "tag_llm", "recorded"]
    per_value: tuple[float | None, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "classifier": self.classifier,
            "tag": self.tag,
            "score": self.score,
            "threshold": self.threshold,
            "tagged": self.tagged,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class GuardReport:
    """What a guard run decided; `values[i]` and `tags[i]` belong to the i-th input value."""

    values: tuple[Any, ...]
    tags: tuple[frozenset[str], ...]
    direction: Direction = Direction.ARGUMENTS
    scores: tuple[ClassifierScore, ...] = ()
    denied: bool = False
    deny_reason: str | None = None
    recorded: Mapping[str, float | None] = field(default_factory=dict)
    masked: Mapping[str, int] = field(default_factory=dict)  # distinct masked texts per kind
    notes: tuple[str, ...] = ()
    usage: Usage = Usage()

    @property
    def all_tags(self) -> frozenset[str]:
        return frozenset().union(*self.tags)

    def meta(self, index: int, base: MetaData = DEFAULT_META) -> MetaData:
        """`base` with the tags of value `index` added (a new object; `base` is frozen)."""
        return base.join(MetaData(tags=self.tags[index])) if self.tags[index] else base

    def history_entries(self, *, tool: str, call_id: str | None = None) -> list[dict[str, Any]]:
        """One `policy_check_history` entry per classifier (spec control-api 13.8, source classifier).

        The score is in the fired rule's description and, for machines, in `score`/`threshold`.
        """
        out: list[dict[str, Any]] = []
        for s in self.scores:
            denies = s.tagged and self.direction in CLASSIFIERS[s.classifier].denies
            shown = "unscored" if s.score is None else f"{s.score:.2f}"
            rule = {
                "rule": s.classifier,
                "line": None,
                "description": f"score {shown} vs threshold {s.threshold:.2f}"
                + (f": tagged {s.tag}" if s.tagged else ""),
            }
            entry: dict[str, Any] = {
                "tool": tool,
                "call_id": call_id,
                "verdict": "hard_denied" if denies else "allowed",
                "allowed": not denies,
                "source": "classifier",
                "fired": [rule] if s.tagged else [],
                "message": self.deny_reason if denies else None,
                "score": s.score,
                "threshold": s.threshold,
            }
            if denies:
                entry["denied"] = [rule]
            out.append(entry)
        return out


@dataclass
class _Run:
    """Mutable state of one run (never escapes run_guards)."""

    local: list[tuple[ClassifierSpec, float]]
    blockers: list[BlockerSpec]
    budget: int
    placeholders: Placeholders = field(default_factory=Placeholders)
    notes: list[str] = field(default_factory=list)
    # per current value: tags, local max confidence per classifier, the strings after masking
    tags: set[str] = field(default_factory=set)
    local_max: dict[str, float] = field(default_factory=dict)
    strings: list[str] = field(default_factory=list)

    @property
    def masks(self) -> bool:
        return bool(self.local or self.blockers)

    def text(self, raw: str | bytes | bytearray, path: str) -> str:
        text = as_text(raw)
        cap = max(0, min(MAX_SCAN_CHARS, self.budget))
        head, rest = text[:cap], len(text) - cap
        self.budget -= len(head)
        found: list[Finding] = []
        for spec, threshold in self.local:
            hits = spec.find(head) if spec.find is not None else []
            best = max((f.confidence for f in hits), default=0.0)
            self.local_max[spec.name] = max(self.local_max.get(spec.name, 0.0), best)
            kept = [f for f in hits if f.confidence >= threshold]
            if kept:
                self.tags.add(spec.tag)
                found += kept
        for blocker in self.blockers:
            hits = blocker.find(head)
            if hits:
                self.tags.add(blocker.tag)
                found += hits
        out = redact(head, found, self.placeholders) if found else head
        if rest > 0:
            self.notes.append(f"{path}: scanned the first {cap} of {len(text)} characters" + (
                f"; the remaining {rest} were removed" if self.masks else ""))
            out += f"[TRUNCATED_{rest}_CHARS]" if self.masks else text[cap:]
        self.strings.append(out)
        return out

    def walk(self, value: Any, path: str, depth: int) -> Any:
        if isinstance(value, str | bytes | bytearray):
            out = self.text(value, path)
            return value if isinstance(value, str) and out == value else out
        if depth >= MAX_DEPTH and isinstance(value, dict | list | tuple):
            raise GuardError(f"{path}: nested deeper than {MAX_DEPTH} levels; flatten the value")
        if isinstance(value, dict):
            return {
                (self.walk(k, f"{path}.<key>", depth + 1) if isinstance(k, str) else k): self.walk(
                    v, f"{path}.{k}", depth + 1
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            items = [self.walk(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
            return type(value)(items) if isinstance(value, tuple) else items
        return value


def _configured(config: GuardConfig) -> tuple[list[tuple[ClassifierSpec, float]], list[BlockerSpec]]:
    by_name = {c.name: c for c in config.classifiers}  # a repeated name: the last one wins
    classifiers = [(CLASSIFIERS[name], c.effective_threshold) for name, c in by_name.items()]
    blockers = [BLOCKERS[name] for name in dict.fromkeys(b.name for b in config.blockers)]
    return classifiers, blockers


async def run_guards(
    values: Sequence[Any],
    *,
    config: GuardConfig,
    llm: TagLlm | None,
    direction: Direction | Literal["arguments", "result"],
    recorded_scores: Mapping[str, float | None] | None = None,
    on_unscored: Literal["tag", "ignore"] = "tag",
    time_budget_s: float = TIME_BUDGET_S,
) -> GuardReport:
    """Guard `values` (tool arguments, or one tool result) with the request's classifiers and blockers.

    >>> # report = await run_guards([{"to": "bob@example.org"}], config=cfg, llm=None,
    >>> #                           direction="arguments")
    >>> # report.values == ({"to": "[EMAIL_1]"},) and report.tags[0] == {"__pii"}
    """
    direction = Direction(direction)
    classifiers, blockers = _configured(config)
    scored = [(spec, t) for spec, t in classifiers if spec.category is not None]
    if scored and llm is None:
        names = ", ".join(spec.name for spec, _ in scored)
        raise GuardError(f"classifier(s) {names} need the tag LLM; pass a TagLlm to run_guards")
    if llm is not None:  # person names: pii_redaction through the tag LLM when there is one
        scored += [(PERSON_NAMES, t) for spec, t in classifiers if spec.name == PERSON_NAMES.name]
    run = _Run(
        local=[(s, t) for s, t in classifiers if s.find is not None],
        blockers=blockers,
        budget=MAX_TOTAL_SCAN_CHARS,  # read per call, so a test can lower it
    )
    out_values: list[Any] = []
    per_value_tags: list[set[str]] = []
    per_value_local: list[dict[str, float]] = []
    llm_texts: list[str] = []
    with time_budget(time_budget_s):  # local detection only: the tag-LLM call has its own timeout
        for i, value in enumerate(values):
            run.tags, run.local_max, run.strings = set(), {}, []
            out_values.append(run.walk(value, f"value[{i}]", 0) if run.masks else value)
            if scored and not run.masks:
                run.walk(value, f"value[{i}]", 0)  # collect the strings only
            per_value_tags.append(run.tags)
            per_value_local.append(run.local_max)
            if scored:
                llm_texts.append(prepare_text("\n".join(run.strings)))

    scores: list[ClassifierScore] = []
    for spec, threshold in run.local:
        per = tuple(local.get(spec.name, 0.0) for local in per_value_local)
        best = max(per, default=0.0)
        scores.append(ClassifierScore(spec.name, spec.tag, best, threshold, best >= threshold, "local", per))

    recorded: dict[str, float | None] = {}
    usage_before = llm.usage if llm is not None else Usage()
    if scored and llm is not None:
        scores += await _score_with_llm(
            llm, scored, llm_texts, per_value_tags, recorded, dict(recorded_scores or {}), on_unscored
        )
    denying = [s for s in scores if s.tagged and direction in CLASSIFIERS[s.classifier].denies]
    reason = None
    if denying:
        reason = "; ".join(f"{s.classifier} flagged the {direction.value} ({s.tag})" for s in denying)
    return GuardReport(
        values=tuple(out_values),
        tags=tuple(frozenset(t) for t in per_value_tags),
        direction=direction,
        scores=tuple(scores),
        denied=bool(denying),
        deny_reason=reason,
        recorded=recorded,
        masked=run.placeholders.counts,
        notes=tuple(run.notes),
        usage=_usage_delta(llm.usage, usage_before) if llm is not None else Usage(),
    )


def _usage_delta(after: Usage, before: Usage) -> Usage:
    return Usage(after.prompt_tokens - before.prompt_tokens, after.completion_tokens - before.completion_tokens)


async def _score_with_llm(
    llm: TagLlm,
    scored: list[tuple[ClassifierSpec, float]],
    texts: list[str],
    per_value_tags: list[set[str]],
    recorded: dict[str, float | None],
    replay: dict[str, float | None],
    on_unscored: Literal["tag", "ignore"],
) -> list[ClassifierScore]:
    keys = [text_key(t) for t in texts]
    need = sorted(
        {i for i, t in enumerate(texts) for spec, _ in scored if t.strip() and f"{spec.name}:{keys[i]}" not in replay}
    )
    categories: list[Category] = [spec.category for spec, _ in scored if spec.category is not None]
    fresh = dict(zip(need, await llm.score([texts[i] for i in need], categories), strict=True)) if need else {}
    out: list[ClassifierScore] = []
    for spec, threshold in scored:
        category = spec.category
        if category is None:
            continue
        per: list[float | None] = []
        source: Literal["tag_llm", "recorded"] = "recorded"
        for i, text in enumerate(texts):
            key = f"{spec.name}:{keys[i]}"
            if not text.strip():
                per.append(0.0)
                continue
            if key in replay:
                score = replay[key]
            else:
                score, source = fresh[i][category], "tag_llm"
            recorded[key] = score
            per.append(score)
            effective = score if score is not None else (1.0 if on_unscored == "tag" else 0.0)
            if effective >= threshold:
                per_value_tags[i].add(spec.tag)
        best = None if None in per else max((s for s in per if s is not None), default=0.0)
        tagged = any(spec.tag in tags for tags in per_value_tags)
        out.append(ClassifierScore(spec.name, spec.tag, best, threshold, tagged, source, tuple(per)))
    return out
