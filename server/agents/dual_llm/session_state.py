"""The dual-LLM part of a session's state, as plain data (stored in `Session.state`).

    turns      earlier turns: (user request, program, variable names) — what the planner may see
    request    this turn's user request (trusted text)
    program    the program of the current attempt, or None before planning
    events     the ledger of the current attempt
    snapshot   session metadata at the start of the attempt (replays start from it)
    steps      planner calls this turn; failed: failed steps this turn
    attempts   failed programs of this turn with their planner-safe errors
    history    policy_check_history of this turn
    tools      the client's last tool list (Responses continuations may omit it)
    namespace  variables kept from earlier turns, with their metadata (lossless interpreter form)
    names      the names of the variables the current turn's program left, once it succeeded
    cache      `force_to_cache` results: cache key -> the raw result value, for the whole session
    seen       fingerprint of the conversation as last answered (history reconciliation, spec 6.5)
    done_steps multi-step planning: this turn's programs that ran to the end, with the names they left
    guards     guard verdicts on client calls' arguments of the current attempt, by call digest
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.agents.dual_llm.ledger import Event, events_from_json, events_to_json

__all__ = ["DualState"]


@dataclass
class DualState:
    turns: list[list[Any]] = field(default_factory=list)
    request: str = ""
    program: str | None = None
    events: list[Event] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None
    steps: int = 0
    failed: int = 0
    attempts: list[list[str]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    namespace: dict[str, Any] | None = None
    names: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)
    done_steps: list[list[Any]] = field(default_factory=list)
    guards: dict[str, Any] = field(default_factory=dict)
    seen: list[list[str]] = field(default_factory=list)
    extra_policies: list[str] = field(default_factory=list)  # set_policy additions, for the session

    def new_attempt(self, snapshot: dict[str, Any]) -> None:
        self.program = None
        self.events = []
        self.guards = {}
        self.snapshot = snapshot

    def new_turn(self, request: str, snapshot: dict[str, Any]) -> None:
        self.request = request
        self.steps = 0
        self.failed = 0
        self.attempts = []
        self.history = []
        self.names = []
        self.done_steps = []
        self.new_attempt(snapshot)

    def pending(self) -> dict[str, int]:
        """Client call id -> ledger position, for calls waiting on the client."""
        return {
            e.call_id: i
            for i, e in enumerate(self.events)
            if e.status == "pending" and e.kind == "client" and e.call_id
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "turns": self.turns, "request": self.request, "program": self.program,
            "events": events_to_json(self.events), "snapshot": self.snapshot, "steps": self.steps,
            "failed": self.failed, "attempts": self.attempts, "history": self.history, "tools": self.tools,
            "namespace": self.namespace, "names": self.names, "cache": self.cache,
            "done_steps": self.done_steps, "guards": self.guards, "seen": self.seen,
            "extra_policies": self.extra_policies,
        }

    @staticmethod
    def from_json(data: dict[str, Any] | None) -> DualState:
        data = data or {}
        return DualState(
            turns=list(data.get("turns") or []),
            request=str(data.get("request") or ""),
            program=data.get("program"),
            events=events_from_json(data.get("events")),
            snapshot=data.get("snapshot"),
            steps=int(data.get("steps") or 0),
            failed=int(data.get("failed") or 0),
            attempts=list(data.get("attempts") or []),
            history=list(data.get("history") or []),
            tools=list(data.get("tools") or []),
            namespace=data.get("namespace"),
            names=list(data.get("names") or []),
            cache=dict(data.get("cache") or {}),
            done_steps=list(data.get("done_steps") or []),
            guards=dict(data.get("guards") or {}),
            seen=list(data.get("seen") or []),
            extra_policies=list(data.get("extra_policies") or []),
        )
