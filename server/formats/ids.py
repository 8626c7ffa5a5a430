"""Tool-call id mapping for one request: upstream ids become `tc-<session>-<uuid>` and back (spec 13.5)."""

from __future__ import annotations

from collections.abc import Mapping

from server.sessions.ids import client_tool_call_id, upstream_tool_call_id

__all__ = ["IdMapper"]

_PREFIX = "tc-"


class IdMapper:
    """Maps ids in both directions for one request of one session.

    Going upstream, an id the session still remembers (a pending call) goes back to the upstream's
    own id — Responses continuations with `previous_response_id` need the original; any other `tc-`
    id gets its stateless hash; foreign ids pass unchanged. Coming back, each upstream id gets one
    new client id, the same for every event that mentions it.
    """

    def __init__(self, session_id: str, pending: Mapping[str, str]) -> None:
        self._session_id = session_id
        self._pending = pending
        self.issued: dict[str, str] = {}  # client id -> upstream id, for calls in this answer
        self._by_upstream: dict[str, str] = {}

    def to_upstream(self, client_id: object) -> object:
        if not isinstance(client_id, str) or not client_id.startswith(_PREFIX):
            return client_id
        return self._pending.get(client_id) or upstream_tool_call_id(client_id)

    def to_client(self, upstream_id: object) -> str:
        key = upstream_id if isinstance(upstream_id, str) else ""
        client_id = self._by_upstream.get(key)
        if client_id is None:
            client_id = client_tool_call_id(self._session_id)
            self._by_upstream[key] = client_id
            self.issued[client_id] = key
        return client_id
