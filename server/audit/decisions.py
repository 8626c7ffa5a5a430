"""Where every policy decision goes once made: the audit log and the verdict metrics.

Agents hand each `policy_check_history` entry (spec 13.8) to `DecisionLog.record`; argument values
are never passed here (the audit log keeps them only with SEQURITY_CONTROL_AUDIT_VALUES=1, and the
agents do not send them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from server.audit.writer import AuditLog
from server.observability.metrics import record_verdict

__all__ = ["DecisionLog", "OnDecision"]

OnDecision = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class DecisionLog:
    audit: AuditLog | None = None

    def record(self, entry: Mapping[str, Any], *, session_id: str, owner: str) -> None:
        tool, verdict = str(entry.get("tool", "")), str(entry.get("verdict", ""))
        record_verdict(verdict=verdict, tool=tool)
        if self.audit is not None:
            self.audit.record(
                session_id=session_id,
                owner=owner,
                tool=tool,
                verdict=verdict,
                fired=list(entry.get("fired") or []),
                call_id=entry.get("call_id"),
                source=entry.get("source"),
                message=entry.get("message"),
            )

    def bound(self, *, session_id: str, owner: str) -> OnDecision:
        """A one-argument recorder for one request's session."""
        return lambda entry: self.record(entry, session_id=session_id, owner=owner)
