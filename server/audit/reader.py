"""Reading audit records back: by session, optionally only those of one owning key."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.audit.records import AuditRecord, audit_records
from server.audit.writer import database_errors

__all__ = ["read_session_audit", "MAX_RECORDS"]

MAX_RECORDS = 10_000


def read_session_audit(
    engine: Engine, session_id: str, *, owner: str | None = None, limit: int = MAX_RECORDS
) -> list[AuditRecord]:
    """The session's records, oldest first; only `owner`'s when given (the HTTP route's case)."""
    query = sa.select(audit_records).where(audit_records.c.session_id == session_id)
    if owner is not None:
        query = query.where(audit_records.c.owner == owner)
    query = query.order_by(audit_records.c.id).limit(limit)
    with database_errors(engine), engine.connect() as db:
        return [AuditRecord.from_row(dict(row._mapping)) for row in db.execute(query)]
