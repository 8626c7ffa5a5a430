"""The SessionStore seam: request leases plus optimistically versioned session records."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from server.sessions.record import Session

__all__ = ["SessionStore", "DEFAULT_TTL_SECONDS", "DEFAULT_LEASE_SECONDS"]

DEFAULT_TTL_SECONDS = 3600.0
DEFAULT_LEASE_SECONDS = 120.0


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions live between requests; every implementation passes one conformance suite.

    A request's life with a store:

        session = await store.acquire(sid, owner=key.id)      # or store.create(Session.new(...))
        try:
            ...                                                # upstream calls, agent step
            session = await store.save(replace(session, turn=session.turn + 1))
        finally:
            await store.release(session.id, lease=session.lease)

    Rules every implementation keeps, each as one atomic step of the backend:

    * A stored session is live until `ttl_seconds` after its last create/save (idle TTL); a live
      lease keeps it live. Expired sessions, and their aliases, behave as if deleted.
    * `acquire` answers None for an unknown, expired or foreign-owner id (spec 6.3: such ids start a
      new session) and raises SessionBusy while another request's lease is unexpired. Leases
      expire after `lease_seconds`, so a crashed request never locks a session for good.
    * `save` is a compare-and-set on `version`: it stores `session` with version + 1 only if the
      stored version equals `session.version` and no other request holds a live lease; otherwise
      VersionConflict (or SessionBusy). It keeps the caller's lease and refreshes the idle TTL.
    * `release` drops the lease and changes nothing else; with `lease=` only if it is still that
      lease (so a request whose lease expired cannot free a later holder's lease).
    * Backend failures surface as server.errors.StoreUnavailable, translated in one place.

    A Redis implementation maps this onto a hash per session (data, version, owner, lease token,
    lease expiry) with PEXPIRE for the idle TTL and one Lua script per operation for the
    compare-and-set (acquire, save, release), aliases as plain keys with the same expiry.
    """

    async def acquire(self, session_id: str, *, owner: str) -> Session | None:
        """Lease a live session of `owner`; None when unknown, expired or another key's."""
        ...

    async def create(self, session: Session) -> Session:
        """Store a new session, leased by the caller; SessionExists if the id is live.

        The store stamps `updated_at` (and `created_at` when it is 0) with its clock.
        """
        ...

    async def get(self, session_id: str) -> Session | None:
        """The live stored session without leasing it or checking its owner (reads only)."""
        ...

    async def save(self, session: Session) -> Session:
        """Compare-and-set on version; returns the stored copy (version + 1, caller's lease)."""
        ...

    async def release(self, session_id: str, *, lease: str | None = None) -> None:
        """Drop the request lease (only `lease`, when given); the stored session is unchanged."""
        ...

    async def delete(self, session_id: str) -> None:
        """Remove the session and its aliases; unknown ids are ignored."""
        ...

    async def bind_alias(self, alias: str, session_id: str) -> None:
        """Remember another id (a Responses response id) for a session; expires with it."""
        ...

    async def resolve_alias(self, alias: str) -> str | None:
        """The live session an alias names, or None."""
        ...

    async def ping(self) -> None:
        """Raise StoreUnavailable when the backend cannot answer."""
        ...

    async def aclose(self) -> None:
        """Release backend resources; later calls raise StoreUnavailable."""
        ...
