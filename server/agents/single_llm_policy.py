"""Single-LLM policy enforcement: tool results get metadata, proposed tool calls get a verdict.

One `Enforcer` serves one request. It settles the tool results the request carries, then acts
as the codecs' gate: it sees every tool call of the upstream's answer and either lets the whole
answer through or returns the denial text that replaces it (spec 13.4).

Decisions:
- Argument metadata (spec 13.3): every argument of a proposed call carries the join of the
  metadata of every tool result in the conversation so far — the results in this request, plus
  every result the session settled before (for Responses continuations, whose history lives
  upstream). Values the user typed contribute nothing. The session's join only grows.
- Tool results: a result answering a call the session is waiting for runs the policy's result
  and session-after phases once; its metadata is stored under its client call id, so a resend of
  the same history reuses it and never runs the phases again. A result of a call the session does
  not know (coding agents without a session, spec 13.12; expired sessions) gets its metadata from
  the call found in the request's own history, against the current session metadata. Its
  session-after effects are joined into a request-local overlay that this request's checks see
  (conservative: the request's own history counts in full) but that is never stored: unknown
  calls do not touch the stored session, and resending them never accumulates anything.
- `is_sequrity_var` wrappers (spec 4.6) are unwrapped before the body goes upstream: the model
  sees the plain value (a string as is, anything else as JSON), never our metadata.
- A tool failure (Messages `is_error`) skips the result phases (spec sqrt 8); it adds nothing.
- Single-LLM ignores `enable_non_executable_memory` (spec 3.4): there is no program that could
  execute a result, and a `__non_executable` tag on every argument would only be noise.
- `clear_session_meta`: `never` keeps session metadata for the session's life; `every_turn`
  resets it when a request opens a turn; `every_attempt` resets it at every request (one request
  is one upstream attempt in single-LLM), before that request's results are settled.
- Arguments that do not decode to a JSON object are denied (hard): the policy cannot see them,
  and a lenient client might still run them.
- A result phase that fails at run time (e.g. a regex timeout) leaves the result with its initial
  metadata and the session unchanged; the failure is logged without any value.
- Denial text: the sentence of spec 7.3 for each denied call, then ` Rule: ` and the deciding
  rules' `///` descriptions (their source text when they have none), one line per denied call.
  Non-streamed, the whole assistant message is replaced. Streamed, text the model wrote before
  its tool calls has already reached the client and stays; the denial follows it as more text,
  and the answer finishes normally (chat `stop`, messages `end_turn`, responses `completed`).
- Before-phase (`session before`) changes of every checked call persist, even for the allowed
  calls of a denied answer (spec sqrt 8: the check ran).
- Only calls that reached the client are remembered as pending (`PolicyState.calls`, with their
  argument values up to `MAX_STORED_ARGS`), so their results can run the policy's result phases.
- Guards (`single_llm_guards`): a call the guards deny (toxic or unguardable arguments) is denied
  without asking the policy; otherwise the policy sees the redacted values with their tags, and
  `rewrites` carries the redacted arguments into the relayed answer. A result's guard tags join its
  metadata before the result phases, which see the redacted value.
- Every verdict goes through `record_verdict` (policy_check_history now; audit log and metrics
  later). Nothing here logs argument or result values.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from server.config.session import PolicyConfig
from server.errors import BadRequest
from server.formats.base import ToolCallView, ToolResultView, result_text
from server.policy import load_policy
from server.agents.single_llm_guards import GuardOutcome, guard_denial, guarded_args, with_tags
from server.guards import GuardError, GuardReport
from server.policy.engine import CheckRecord, PolicySet, Verdict, denial_message
from server.policy.errors import PolicyLoadError, PolicyRuntimeError
from server.audit.decisions import OnDecision
from server.policy.history import history_entry
from server.policy.metadata import DEFAULT_META, Labelled, MetaData
from server.policy.results import unwrap_result

__all__ = ["STATE_KEY", "PolicyState", "Enforcer", "load_request_policy", "record_verdict"]

log = logging.getLogger(__name__)

STATE_KEY = "policy"  # Session.state key of `PolicyState`
MAX_SETTLED = 1024  # settled results remembered per session; older ones are recomputed statelessly
MAX_HISTORY = 256  # policy_check_history entries kept per session (newest last)
_WRAPPER_KEY = "is_sequrity_var"
MAX_STORED_ARGS = 32_768  # characters of a pending call's JSON arguments kept in the session


def load_request_policy(config: PolicyConfig) -> PolicySet:
    """The request's compiled policy (cached); 400 naming line and column when it does not load.

    >>> load_request_policy(PolicyConfig(code='tool "t" { hard deny always; }')).language
    'sqrt'
    """
    presets = replace(config.presets, enable_non_executable_memory=False)
    try:
        return load_policy(config.language, config.code, presets)
    except PolicyLoadError as err:
        raise BadRequest(
            f"Invalid X-Policy header: codes.code ({config.language}): {err}",
            param="X-Policy",
            code="invalid_policy",
        ) from None


@dataclass
class PolicyState:
    """What the session remembers for enforcement, as plain JSON under `Session.state["policy"]`.

    `calls`: client call id -> {"tool", "meta", "args"} for the calls relayed in the last answer;
    `settled`: client call id -> result metadata (wire shape), oldest first;
    `seen`: the join of every settled result's metadata; `history`: policy_check_history entries;
    `scores`: the guards' tag-LLM scores (`"<classifier>:<text hash>"` -> score), never re-scored.
    """

    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    settled: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    seen: MetaData = DEFAULT_META
    history: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, float | None] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> PolicyState:
        if not isinstance(data, dict):
            return cls()
        return cls(
            calls=dict(data.get("calls") or {}),
            settled=dict(data.get("settled") or {}),
            seen=MetaData.from_json(data.get("seen")),
            history=list(data.get("history") or []),
            scores=dict(data.get("scores") or {}),
        )

    def to_json(self) -> dict[str, Any]:
        settled = dict(list(self.settled.items())[-MAX_SETTLED:])
        return {
            "calls": self.calls,
            "settled": settled,
            "seen": self.seen.to_json(),
            "history": self.history[-MAX_HISTORY:],
            **({"scores": self.scores} if self.scores else {}),
        }


def record_verdict(
    state: PolicyState,
    record: CheckRecord,
    *,
    session_id: str,
    call_id: str | None,
    language: str,
    on_decision: OnDecision | None = None,
) -> None:
    """The one place a single-LLM verdict is recorded: policy_check_history, audit log, metrics
    (tool name, verdict and rules only: argument values never leave this function)."""
    entry = history_entry(record, call_id=call_id, language=language)
    state.history.append(entry)
    if on_decision is not None:
        on_decision(entry)
    log.info("policy verdict session=%s tool=%s verdict=%s", session_id, record.tool, record.verdict.value)


def remembered(tool: str, values: dict[str, Any], meta: MetaData) -> dict[str, Any]:
    """What the session keeps of a relayed call until its result arrives.

    Argument values are kept so result phases can test them even when the history lives upstream
    (Responses continuations); values larger than `MAX_STORED_ARGS` are left out (`args: null`)
    and taken from the request's own copy of the call when its result arrives.
    """
    text = json.dumps(values, ensure_ascii=False)
    return {"tool": tool, "meta": meta.to_json(), "args": values if len(text) <= MAX_STORED_ARGS else None}


def decode_value(text: str | None, content: Any) -> Any:
    """A result's value for the policy: JSON when the text parses, else the text (or raw content)."""
    if text is None:
        return content
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def plain_text(value: Any) -> str:
    """What the upstream gets in place of an unwrapped result."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def decode_arguments(raw: Any) -> dict[str, Any] | None:
    """Tool-call arguments as an object, or None when they are not one."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else None
    return {} if raw is None else None


class Enforcer:
    """One request's enforcement state: the policy, session metadata and the stored `PolicyState`."""

    def __init__(
        self,
        *,
        policy: PolicySet,
        config: PolicyConfig,
        state: PolicyState,
        session_meta: MetaData,
        session_id: str = "",
        on_decision: OnDecision | None = None,
    ) -> None:
        self.session_id = session_id
        self.on_decision = on_decision
        self.policy = policy
        self.config = config
        self.state = state
        self.session_meta = session_meta  # persisted at the end of the request
        self.overlay = DEFAULT_META  # session effects of unknown calls: seen by checks, not stored
        self.conversation = state.seen  # join of every result's metadata known to this request
        self.rewrites: dict[str, dict[str, Any]] = {}  # call id -> guard-redacted arguments (last gate)

    @classmethod
    def start(
        cls,
        *,
        policy: PolicySet,
        config: PolicyConfig,
        stored_state: Any,
        stored_meta: Mapping[str, Any],
        clear: str,
        opens_turn: bool,
        session_id: str = "",
        on_decision: OnDecision | None = None,
    ) -> Enforcer:
        """The enforcer of one request, with session metadata cleared per `clear_session_meta`."""
        reset = clear == "every_attempt" or (clear == "every_turn" and opens_turn)
        meta = DEFAULT_META if reset else MetaData.from_json(stored_meta)
        state = PolicyState.from_json(stored_state)
        return cls(
            policy=policy, config=config, state=state, session_meta=meta, session_id=session_id,
            on_decision=on_decision,
        )

    # -- tool results in the request ----------------------------------------------------------

    def settle(
        self,
        calls: Sequence[ToolCallView],
        results: Sequence[ToolResultView],
        *,
        pending: set[str],
        guarded: Mapping[str, GuardOutcome] | None = None,
    ) -> dict[str, str]:
        """Give every result its metadata; returns call id -> the text the upstream gets instead.

        A result's text is replaced when it was an `is_sequrity_var` wrapper (the plain value) or
        when a guard changed its value (redaction). `guarded` holds the guards' verdicts per call
        id: their tags join the result's metadata before the policy's result phase, which sees the
        redacted value; classifier scores of a newly settled result go to the history.
        """
        by_id = {c.call_id: c for c in calls}
        replacements: dict[str, str] = {}
        for view in results:
            outcome = guarded.get(view.call_id) if guarded else None
            text = result_text(view.content)
            # Settled results only need wrapper detection: skip decoding a long history's plain text.
            plain = (text is not None and outcome is None and view.call_id in self.state.settled
                     and _WRAPPER_KEY not in text)
            raw = text if plain else decode_value(text, view.content)
            call = by_id.get(view.call_id)
            tool = call.name if call is not None else str(self.state.calls.get(view.call_id, {}).get("tool", ""))
            original = raw
            value = unwrap_result(raw, DEFAULT_META).value
            tags: frozenset[str] = frozenset()
            if isinstance(outcome, GuardError):  # fail closed: the upstream never sees an unchecked value
                value = raw = f"[tool result withheld: {outcome.message}]"
            elif outcome is not None:
                if view.call_id in pending and view.call_id not in self.state.settled:
                    self.state.history.extend(outcome.history_entries(tool=tool, call_id=view.call_id))
                tags = outcome.tags[0]
                if outcome.values[0] != value:
                    value = outcome.values[0]
                if tags or value is not unwrap_result(original, DEFAULT_META).value:
                    raw = with_tags(raw, tags, value)
            if view.is_error:
                meta = MetaData(tags=tags) if tags else DEFAULT_META
            else:
                meta = self._result_meta(view.call_id, raw, call, pending)
            if value is not original and text is not None:
                replacements[view.call_id] = plain_text(value)
            self.conversation = self.conversation.join(meta)
        return replacements

    def _result_meta(self, call_id: str, raw: Any, call: ToolCallView | None, pending: set[str]) -> MetaData:
        stored = self.state.settled.get(call_id)
        if stored is not None:
            return MetaData.from_json(stored)
        known = self.state.calls.get(call_id) if call_id in pending else None
        if known is not None:
            meta = MetaData.from_json(known.get("meta"))
            values = known.get("args")
            if values is None:  # too large to store: the request's own copy of the call, if any
                values = decode_arguments(call.arguments) if call is not None else None
            args = {k: Labelled(v, meta) for k, v in (values or {}).items()}
            result, session = self._complete(str(known["tool"]), args, raw, self.session_meta)
            self.session_meta = session
            self.state.settled[call_id] = result.to_json()
            self.state.seen = self.state.seen.join(result)
            return result
        if call is None:  # nothing to attribute it to (e.g. its history lives upstream)
            return unwrap_result(raw, DEFAULT_META).meta
        args = {k: Labelled(v, self.conversation) for k, v in (decode_arguments(call.arguments) or {}).items()}
        result, session = self._complete(call.name, args, raw, self.session_meta)
        self.overlay = self.overlay.join(session)  # the stored session stays untouched
        return result

    def _complete(
        self, tool: str, args: dict[str, Labelled], raw: Any, session: MetaData
    ) -> tuple[MetaData, MetaData]:
        try:
            done = self.policy.complete(tool=tool, args=args, session_meta=session, result=raw)
        except PolicyRuntimeError as err:
            log.warning("policy result phase failed tool=%s rule_line=%s", tool, err.line)
            derived = MetaData.join_all(a.meta for a in args.values())
            return unwrap_result(raw, derived).meta, session
        return done.result.meta, done.session_meta

    # -- tool calls the upstream proposes -----------------------------------------------------

    def gate(
        self, calls: list[ToolCallView], guarded: Mapping[str, GuardOutcome] | None = None
    ) -> str | None:
        """Check every call of one answer; the denial text for the whole answer, or None.

        `guarded`: the guards' verdicts per call id. A call they deny is denied without asking the
        policy; otherwise the policy sees the redacted values with the guards' tags. `rewrites`
        then holds the redacted arguments of the calls a guard changed, for the relayed answer.
        """
        self.state.calls = {}
        self.rewrites = {}
        denials: list[str] = []
        relayed: dict[str, dict[str, Any]] = {}
        for call in calls:
            values = decode_arguments(call.arguments)
            outcome = guarded.get(call.call_id) if guarded else None
            args: dict[str, Labelled] = {}
            if values is None:
                record = CheckRecord(
                    tool=call.name,
                    verdict=Verdict.HARD_DENIED,
                    message=f"{denial_message(call.name)} Its arguments are not a JSON object.",
                    session_meta=self.session_meta,
                )
            else:
                if isinstance(outcome, GuardReport):
                    self.state.history.extend(outcome.history_entries(tool=call.name, call_id=call.call_id or None))
                report = outcome if isinstance(outcome, GuardReport) else None
                args = guarded_args(values, self.conversation, report)
                denied = guard_denial(call.name, outcome, self.session_meta) if outcome is not None else None
                record = denied or self._check(call.name, args)
            record_verdict(
                self.state,
                record,
                session_id=self.session_id,
                call_id=call.call_id or None,
                language=self.policy.language,
                on_decision=self.on_decision,
            )
            if record.allowed:
                sent = {k: a.value for k, a in args.items()}
                if sent != (values or {}):
                    self.rewrites[call.call_id] = sent
                meta = MetaData.join_all([self.conversation, *(a.meta for a in args.values())])
                relayed[call.call_id] = remembered(call.name, sent, meta)
            else:
                denials.append(denial_text(record))
        if denials:
            self.rewrites = {}
            return "\n".join(denials)
        self.state.calls = relayed
        return None

    def _check(self, tool: str, args: dict[str, Labelled]) -> CheckRecord:
        """Check against the session plus the overlay; session-before changes persist (sqrt 8)."""
        fail_fast = self.config.fail_fast
        if self.overlay == DEFAULT_META:
            record = self.policy.check(tool=tool, args=args, session_meta=self.session_meta, fail_fast=fail_fast)
            self.session_meta = record.session_meta
            return record
        view = self.session_meta.join(self.overlay)
        record = self.policy.check(tool=tool, args=args, session_meta=view, fail_fast=fail_fast)
        # The stored session advances by the before-phase alone, without the overlay.
        self.session_meta = self.policy.check(
            tool=tool, args=args, session_meta=self.session_meta, fail_fast=True
        ).session_meta
        return record


def denial_text(record: CheckRecord) -> str:
    """The sentence clients match (spec 7.3) and the deciding rules' descriptions (or sources).

    >>> from server.policy.engine import FiredRule
    >>> denial_text(CheckRecord(tool="t", verdict=Verdict.HARD_DENIED, message=denial_message("t"),
    ...     denied_by=(FiredRule(rule="No t.", line=1, description="No t."),)))
    "Tool call to 't' is denied by argument checking policies. Rule: No t."
    """
    head = record.message or denial_message(record.tool)
    reasons = [r.description or r.rule for r in record.denied_by if (r.description or r.rule)]
    reasons = [r for r in dict.fromkeys(reasons) if r not in head]
    return f"{head} Rule: {'; '.join(reasons)}" if reasons else head
