"""In-process session store: one dict, for tests and single-process deployments."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from server.errors import StoreUnavailable
from server.sessions.errors import SessionBusy, SessionExists, VersionConflict
from server.sessions.record import Session
from server.sessions.store import DEFAULT_LEASE_SECONDS, DEFAULT_TTL_SECONDS

__all__ = ["MemorySessionStore"]

_SWEEP_EVERY_SECONDS = 60.0


@dataclass
class _Entry:
    owner: str
    version: int
    data: str  # Session.to_json(): callers never share a mutable dict with the store
    expires_at: float
    lease: str | None = None
    lease_until: float = 0.0

    def leased(self, now: float) -> bool:
        return self.lease is not None and self.lease_until > now

    def session(self, lease: str | None = None) -> Session:
        return replace(Session.from_json(self.data), version=self.version, lease=lease)


class MemorySessionStore:
    """A SessionStore in one process's memory.

    Every operation runs without awaiting between its read and its write, so on one event loop each
    is atomic. Not shared between processes: use SQLite or Redis for several workers.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ttl = ttl_seconds
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._aliases: dict[str, str] = {}
        self._aliases_of: dict[str, set[str]] = {}  # session id -> its aliases, for deletes
        self._closed = False
        self._next_sweep = 0.0

    def __repr__(self) -> str:
        return f"MemorySessionStore(sessions={len(self._entries)})"

    async def acquire(self, session_id: str, *, owner: str) -> Session | None:
        now = self._now()
        entry = self._live(session_id, now)
        if entry is None or entry.owner != owner:
            return None
        if entry.leased(now):
            raise SessionBusy(session_id)
        return self._lease(entry, now)

    async def create(self, session: Session) -> Session:
        now = self._now()
        self._sweep(now)
        if self._live(session.id, now) is not None:
            raise SessionExists(session.id)
        session = replace(session, created_at=session.created_at or now, updated_at=now)
        entry = _Entry(
            owner=session.owner,
            version=session.version,
            data=session.to_json(),
            expires_at=now + self._ttl,
        )
        self._entries[session.id] = entry
        return self._lease(entry, now)

    async def get(self, session_id: str) -> Session | None:
        entry = self._live(session_id, self._now())
        return None if entry is None else entry.session()

    async def save(self, session: Session) -> Session:
        now = self._now()
        entry = self._live(session.id, now)
        if entry is None:
            raise VersionConflict(session.id, stored=None, given=session.version)
        if entry.version != session.version:
            raise VersionConflict(session.id, stored=entry.version, given=session.version)
        if entry.leased(now) and entry.lease != session.lease:
            raise SessionBusy(session.id)
        stored = replace(session, version=session.version + 1, updated_at=now)
        entry.data, entry.version = stored.to_json(), stored.version
        entry.expires_at = max(now + self._ttl, entry.lease_until)
        return stored

    async def release(self, session_id: str, *, lease: str | None = None) -> None:
        self._check_open()
        entry = self._entries.get(session_id)
        if entry is not None and (lease is None or entry.lease == lease):
            entry.lease, entry.lease_until = None, 0.0

    async def delete(self, session_id: str) -> None:
        self._check_open()
        self._drop(session_id)

    async def bind_alias(self, alias: str, session_id: str) -> None:
        self._check_open()
        self._unbind(alias)
        self._aliases[alias] = session_id
        self._aliases_of.setdefault(session_id, set()).add(alias)

    async def resolve_alias(self, alias: str) -> str | None:
        now = self._now()
        session_id = self._aliases.get(alias)
        if session_id is None or self._live(session_id, now) is None:
            self._unbind(alias)
            return None
        return session_id

    async def ping(self) -> None:
        self._check_open()

    async def aclose(self) -> None:
        self._closed = True
        self._entries.clear()
        self._aliases.clear()
        self._aliases_of.clear()

    # -- helpers -------------------------------------------------------------------------------

    def _now(self) -> float:
        self._check_open()
        return self._clock()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable("session store memory is unavailable: it is closed")

    def _live(self, session_id: str, now: float) -> _Entry | None:
        entry = self._entries.get(session_id)
        if entry is not None and entry.expires_at <= now and not entry.leased(now):
            self._drop(session_id)
            return None
        return entry

    def _lease(self, entry: _Entry, now: float) -> Session:
        entry.lease = secrets.token_hex(16)
        entry.lease_until = now + self._lease_seconds
        entry.expires_at = max(entry.expires_at, entry.lease_until)
        return entry.session(entry.lease)

    def _drop(self, session_id: str) -> None:
        self._entries.pop(session_id, None)
        for alias in self._aliases_of.pop(session_id, set()):
            self._aliases.pop(alias, None)

    def _unbind(self, alias: str) -> None:
        session_id = self._aliases.pop(alias, None)
        if session_id is not None:
            self._aliases_of.get(session_id, set()).discard(alias)

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY_SECONDS
        for session_id in list(self._entries):
            self._live(session_id, now)
        for session_id in [sid for sid in self._aliases_of if sid not in self._entries]:
            self._drop(session_id)
