"""The ledger-backed tool gateway the interpreter calls: policy first, then the ledger, else suspend.

Every call the program makes — client tools and internal tools alike — is checked by the policy
before anything happens (guarantee 2: no call leaves without a recorded verdict). A call already in
the ledger is answered from it (same name and argument digest, else a history mismatch); a new
allowed call is recorded as pending and the run suspends, so the agent can ask the client or the
quarantined LLM and replay. Session metadata starts from the attempt's snapshot and follows the
recorded changes, so `session` updates never run twice for one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import regex

from server.agents.dual_llm.interpreter.gateway import ToolSpec
from server.agents.dual_llm.interpreter.errors import (
    EndTurn,
    LimitExceeded,
    NotEnoughInformationError,
    PolicyDenied,
    Suspend,
    ToolError,
)
from server.agents.dual_llm.guards import GuardPending, apply_verdict
from server.agents.dual_llm.ledger import Event, cache_key_of, digest_of
from server.audit.decisions import OnDecision
from server.policy.engine import CheckRecord, PolicySet, Verdict
from server.policy.history import history_entry
from server.policy.metadata import Labelled, MetaData
from server.policy.results import NON_EXECUTABLE_TAG, QLLM_TOOLS

__all__ = ["LedgerGateway", "HistoryMismatch", "NOT_ENOUGH_INFORMATION"]

NOT_ENOUGH_INFORMATION = "NotEnoughInformationError"
INTERNAL_SPECS = {
    "parse_with_ai": ToolSpec("parse_with_ai", ("query", "output_schema"), joins_context=True),
    "verify_hypothesis": ToolSpec("verify_hypothesis", ("hypothesis", "evidence"), joins_context=True),
    "set_policy": ToolSpec("set_policy", ("code",)),
    "complete_turn": ToolSpec("complete_turn", ("value",)),
}


def _plain(args: Mapping[str, Labelled]) -> dict[str, Labelled]:
    """Arguments as JSON data: a type given as a value (`output_schema=int`) becomes its name."""
    return {
        k: Labelled(v.value.__name__, v.meta) if isinstance(v.value, type) else v for k, v in args.items()
    }


class HistoryMismatch(Exception):
    """A replay reached a recorded position with a different call (name or argument digest)."""

    def __init__(self, position: int, expected: str, got: str) -> None:
        super().__init__(f"call {position} was '{expected}' in the ledger but the program now calls '{got}'")
        self.position = position


@dataclass
class LedgerGateway:
    events: list[Event]
    policy: PolicySet
    language: str
    session_meta: MetaData
    client_tools: Mapping[str, ToolSpec]
    internal_tools: frozenset[str]
    new_call_id: Callable[[], str]
    fail_fast: bool = True
    max_tool_calls: int | None = None
    force_to_cache: tuple[str, ...] = ()
    on_decision: OnDecision | None = None  # audit log and metrics, for every new verdict
    cached: Mapping[str, Any] = field(default_factory=dict)
    position: int = 0
    history: list[dict[str, object]] = field(default_factory=list)
    # Guard verdicts by call digest (dual_llm/guards.py); None when no guard is configured.
    guarded: Mapping[str, Mapping[str, Any]] | None = None

    # -- the interpreter's gateway protocol -------------------------------------------------

    def tool(self, name: str) -> ToolSpec | None:
        if name in self.internal_tools and name in INTERNAL_SPECS:
            return INTERNAL_SPECS[name]
        return self.client_tools.get(name)

    def call(self, name: str, args: Mapping[str, Labelled], *, context_meta: MetaData) -> Labelled:
        if name == "complete_turn":
            raise EndTurn(args.get("value", Labelled(None)))
        args = _plain(args)
        digest = digest_of(name, args)
        if self.position < len(self.events):
            return self._replay(self.events[self.position], name, digest)
        if self.max_tool_calls is not None and self.position >= self.max_tool_calls:
            raise LimitExceeded(
                "max_tool_calls_per_step", f"more than {self.max_tool_calls} tool calls in one step"
            )
        return self._new_call(name, digest, args)

    # -- internals --------------------------------------------------------------------------

    def _replay(self, event: Event, name: str, digest: str) -> Labelled:
        if event.name != name or event.digest != digest:
            raise HistoryMismatch(self.position, event.name, name)
        self.position += 1
        guards = event.extra.get("guards") or {}
        self.history.extend(guards.get("args") or [])
        self.history.append(event.check)
        self.history.extend(guards.get("result") or [])
        if event.status == "pending":
            self.session_meta = MetaData.from_json(event.session_meta)
            raise Suspend(name, payload=event)
        if event.status == "denied":
            raise PolicyDenied(_recorded_denial(event))
        self.session_meta = MetaData.from_json(event.session_meta_after or event.session_meta)
        if event.status == "failed":
            # Error text comes from the tool (or the QLLM): untrusted, like a result would be, so
            # a program that catches it and reuses str(e) still carries that provenance.
            joined = MetaData.join_all(a.meta for a in event.labelled_args().values())
            meta = MetaData(joined.producers, joined.consumers, joined.tags | {NON_EXECUTABLE_TAG})
            if event.error == NOT_ENOUGH_INFORMATION:
                raise NotEnoughInformationError("the text does not contain the requested information", meta=meta)
            raise ToolError(event.error or "the tool failed", meta=meta)
        assert event.result is not None
        return Labelled.from_json(event.result)

    def _new_call(self, name: str, digest: str, args: Mapping[str, Labelled]) -> Labelled:
        kind = "client" if name in self.client_tools else "qllm" if name in QLLM_TOOLS else "internal"
        denied, extra = None, {}
        if self.guarded is not None and kind == "client":  # guard the arguments first (guards.py)
            verdict = self.guarded.get(digest)
            if verdict is None:
                raise Suspend(name, payload=GuardPending(name, digest, {k: v.value for k, v in args.items()}))
            args, denied = apply_verdict(name, args, verdict, self.session_meta)
            extra = {"guards": {"args": list(verdict.get("history") or []), "scores": dict(verdict.get("scores") or {})}}
        record = denied or self.policy.check(tool=name, args=args, session_meta=self.session_meta, fail_fast=self.fail_fast)
        self.session_meta = record.session_meta
        call_id = self.new_call_id() if kind == "client" else None
        entry = history_entry(record, call_id=call_id, language=self.language)
        if extra:
            extra["guards"]["args"] = [{**e, "call_id": call_id} for e in extra["guards"]["args"]]
            self.history.extend(extra["guards"]["args"])
        event = Event(
            kind=kind,
            name=name,
            digest=digest,
            args={k: v.to_json() for k, v in args.items()},
            status="pending" if record.allowed else "denied",
            check=entry,
            session_meta=record.session_meta.to_json(),
            call_id=call_id,
            extra=extra,
        )
        if record.allowed and kind == "client" and self._cacheable(name):
            key = cache_key_of(name, args)
            if key in self.cached:  # force_to_cache: answered without asking the client again
                done = self.policy.complete(tool=name, args=args, session_meta=self.session_meta, result=self.cached[key])
                event = event.settled(result=done.result, error=None, session_meta=done.session_meta)
                self.session_meta = done.session_meta
        self.events.append(event)
        self.position += 1
        self.history.append(entry)
        if self.on_decision is not None:
            self.on_decision(entry)
        if not record.allowed:
            raise PolicyDenied(record)
        if event.status == "done":
            assert event.result is not None
            return Labelled.from_json(event.result)
        raise Suspend(name, payload=event)

    def _cacheable(self, name: str) -> bool:
        return any(regex.fullmatch(p, name, timeout=0.05) for p in self.force_to_cache)


def _recorded_denial(event: Event) -> CheckRecord:
    """The denial of a replayed event, rebuilt from its recorded history entry."""
    return CheckRecord(
        tool=event.name,
        verdict=Verdict(str(event.check.get("verdict", "hard_denied"))),
        message=str(event.check.get("message") or ""),
    )
