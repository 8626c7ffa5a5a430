"""The ledger: events of the current attempt, as plain data, so any worker can replay any session.

Each event is one gateway call the program made, in order: its kind, name, a digest of its
arguments, the policy verdict, the session metadata after the check (the before-phase), and, once
known, the result with its metadata and the session metadata after the result phases. A replay
answers recorded events from here, so policies, LLMs and clients are never asked twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from server.policy.metadata import Labelled, MetaData

__all__ = ["Event", "digest_of", "cache_key_of", "events_from_json", "events_to_json"]

Kind = Literal["client", "qllm", "internal"]
Status = Literal["pending", "done", "denied", "failed"]


def digest_of(name: str, args: Mapping[str, Labelled]) -> str:
    """A stable digest of a call: tool name, argument values and their metadata."""
    payload = json.dumps(
        [name, {k: v.to_json() for k, v in sorted(args.items())}], sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def cache_key_of(name: str, args: Mapping[str, Any]) -> str:
    """`force_to_cache` key: the tool and its argument values (JSON), metadata left out."""
    values = {k: v.value if isinstance(v, Labelled) else v.get("value") for k, v in args.items()}
    payload = json.dumps([name, values], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Event:
    kind: Kind
    name: str
    digest: str
    args: dict[str, Any]  # name -> Labelled JSON, kept to run the result phase later
    status: Status
    check: dict[str, Any]  # the policy_check_history entry of this call
    session_meta: dict[str, Any]  # after the before-phase
    call_id: str | None = None  # client-facing id of a client tool call
    result: dict[str, Any] | None = None  # Labelled JSON once done
    error: str | None = None  # a tool error message (status "failed")
    session_meta_after: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def labelled_args(self) -> dict[str, Labelled]:
        return {k: Labelled.from_json(v) for k, v in self.args.items()}

    def settled(self, *, result: Labelled | None, error: str | None, session_meta: MetaData) -> Event:
        return replace(
            self,
            status="failed" if error is not None else "done",
            result=result.to_json() if result is not None else None,
            error=error,
            session_meta_after=session_meta.to_json(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "name": self.name, "digest": self.digest, "args": self.args,
            "status": self.status, "check": self.check, "session_meta": self.session_meta,
            "call_id": self.call_id, "result": self.result, "error": self.error,
            "session_meta_after": self.session_meta_after, "extra": self.extra,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Event:
        return Event(**{k: data[k] for k in Event.__dataclass_fields__ if k in data})


def events_to_json(events: list[Event]) -> list[dict[str, Any]]:
    return [e.to_json() for e in events]


def events_from_json(data: Any) -> list[Event]:
    return [Event.from_json(e) for e in data] if isinstance(data, list) else []
