"""Sessions: the Session record, tool-call ids and the SessionStore seam with its backends."""

from server.sessions.errors import SessionBusy, SessionExists, VersionConflict
from server.sessions.factory import open_session_store
from server.sessions.ids import (
    client_tool_call_id,
    new_session_id,
    session_of_tool_call_id,
    upstream_tool_call_id,
)
from server.sessions.memory import MemorySessionStore
from server.sessions.record import Session
from server.sessions.sqlite import SqliteSessionStore
from server.sessions.store import SessionStore

__all__ = [
    "Session",
    "SessionStore",
    "MemorySessionStore",
    "SqliteSessionStore",
    "open_session_store",
    "SessionBusy",
    "VersionConflict",
    "SessionExists",
    "new_session_id",
    "client_tool_call_id",
    "session_of_tool_call_id",
    "upstream_tool_call_id",
]
