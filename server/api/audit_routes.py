"""GET /control/v1/sessions/{id}/audit: a session's audit records, for the key that owns it only.

Decisions:
- Another key's session and an unknown session get the same 404 with the same text, so a key
  cannot learn which session ids exist.
- A session is the key's when the key owns audit records of it, or owns the live session (a live
  session without policy decisions yet answers an empty list). Records outlive their session.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api.services import Services
from server.audit import AuditLog, read_session_audit
from server.errors import NotFound, StoreUnavailable

__all__ = ["router"]

router = APIRouter()


@router.get("/control/v1/sessions/{session_id}/audit")
async def session_audit(session_id: str, request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    audit: AuditLog = request.app.state.audit
    key = services.authenticate(request)
    try:
        await audit.flush()  # this worker's queued records first: read your own writes
    except StoreUnavailable:
        pass  # the read below reports the outage
    records = await asyncio.to_thread(read_session_audit, audit.engine, session_id, owner=key.id)
    if not records:
        session = await services.sessions.get(session_id)
        if session is None or session.owner != key.id:
            raise NotFound(
                f"no session {session_id} for this key (unknown, or not this key's)",
                code="session_not_found",
            )
    return JSONResponse(
        {"session_id": session_id, "records": [record.to_json() for record in records]}
    )
