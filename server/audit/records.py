"""The audit record and its table in the key and audit database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

__all__ = ["AuditRecord", "audit_metadata", "audit_records", "normalise_fired"]

audit_metadata = sa.MetaData()

audit_records = sa.Table(
    "control_audit",
    audit_metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("owner", sa.String(40), nullable=False),
    sa.Column("tool", sa.String(200), nullable=False),
    sa.Column("call_id", sa.String(200), nullable=True),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("source", sa.String(32), nullable=True),
    sa.Column("fired", sa.JSON, nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("arguments", sa.JSON, nullable=True),  # only with SEQURITY_CONTROL_AUDIT_VALUES=1
    sa.Column("request_id", sa.String(128), nullable=True),
)


@dataclass(frozen=True)
class AuditRecord:
    """One policy decision on one tool call (spec 13.8 names the verdicts and the fired rules)."""

    session_id: str
    owner: str
    tool: str
    verdict: str
    at: datetime
    fired: tuple[dict[str, Any], ...] = ()
    call_id: str | None = None
    source: str | None = None
    message: str | None = None
    arguments: dict[str, Any] | None = None
    request_id: str | None = None
    id: int | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The wire shape of `GET /control/v1/sessions/{id}/audit` records."""
        return {
            "id": self.id,
            "time": self.at.isoformat(),
            "session_id": self.session_id,
            "owner": self.owner,
            "tool": self.tool,
            "call_id": self.call_id,
            "verdict": self.verdict,
            "source": self.source,
            "fired": list(self.fired),
            "message": self.message,
            "arguments": self.arguments,
            "request_id": self.request_id,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AuditRecord:
        at = row["at"]
        if at.tzinfo is None:  # SQLite keeps no zone; we only ever store UTC
            at = at.replace(tzinfo=UTC)
        return cls(
            id=row["id"],
            at=at,
            session_id=row["session_id"],
            owner=row["owner"],
            tool=row["tool"],
            call_id=row["call_id"],
            verdict=row["verdict"],
            source=row["source"],
            fired=tuple(row["fired"] or ()),
            message=row["message"],
            arguments=row["arguments"],
            request_id=row["request_id"],
        )


def normalise_fired(fired: Sequence[Any]) -> list[dict[str, Any]]:
    """Fired rules as spec 13.8 objects; a bare rule name becomes `{"rule": name}`.

    >>> normalise_fired(["deny_mail", {"rule": "r", "line": 3, "description": None}])
    [{'rule': 'deny_mail', 'line': None, 'description': None}, {'rule': 'r', 'line': 3, 'description': None}]
    """
    out: list[dict[str, Any]] = []
    for item in fired:
        if isinstance(item, Mapping):
            out.append({"rule": str(item.get("rule", "")), "line": item.get("line"),
                        "description": item.get("description")})
        else:
            out.append({"rule": str(item), "line": None, "description": None})
    return out
