"""Session store in Redis (asyncio client), shared by every worker on every machine.

Decisions:
- One Lua script per writing operation (see `redis_lua`), so the lease and the version
  compare-and-set are atomic on the server whatever the number of workers.
- No client-side retries: a script whose reply was lost may have run, and running it again would
  turn a lost reply into a false 409 (or an orphaned lease). A failed command is a 503 naming the
  store; the pool re-checks connections on checkout, so the store recovers when Redis returns.
- Every key starts with the deployment's prefix (`SEQURITY_CONTROL_REDIS_PREFIX`, default "sqc:").
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.exceptions as rx
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from server.errors import ControlError, StoreUnavailable
from server.sessions import redis_lua as lua
from server.sessions.errors import SessionBusy, SessionExists, VersionConflict, backend_errors
from server.sessions.record import Session
from server.sessions.store import DEFAULT_LEASE_SECONDS, DEFAULT_TTL_SECONDS

__all__ = ["RedisSessionStore", "DEFAULT_PREFIX", "redacted_redis_url"]

T = TypeVar("T")
S = TypeVar("S", Session, Session | None)

DEFAULT_PREFIX = "sqc:"
CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 5.0
GC_GRACE_MS = 60_000  # Redis drops a key this long after its logical expiry (clock skew margin)
# The table of foreign errors this backend turns into StoreUnavailable (one place: `_run`).
# Script errors (ResponseError) are bugs, not outages, and stay visible as such.
_FOREIGN_ERRORS: tuple[type[BaseException], ...] = (
    rx.ConnectionError,  # includes AuthenticationError
    rx.TimeoutError,
    rx.BusyLoadingError,
    rx.ReadOnlyError,  # a replica after failover
    rx.MaxConnectionsError,
    OSError,
)


def redacted_redis_url(url: str) -> str:
    """The URL without its password, for messages.

    >>> redacted_redis_url("redis://:hunter2@cache:6379/0")
    'redis://:***@cache:6379/0'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


class RedisSessionStore:
    """A SessionStore on Redis: a hash per session, aliases as plain keys, one Lua script per step.

    The clock comes from the caller's process (`clock`), like the SQLite store: workers must keep
    their clocks in sync (NTP), which a lease of minutes tolerates easily.
    """

    def __init__(
        self,
        client: Redis,
        *,
        name: str,
        prefix: str = DEFAULT_PREFIX,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.prefix = prefix
        self._client = client
        self._name = name
        self._ttl = ttl_seconds
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._closed = False
        self._orphans: set[asyncio.Task[None]] = set()
        scripts = {
            "acquire": lua.ACQUIRE,
            "create": lua.CREATE,
            "save": lua.SAVE,
            "release": lua.RELEASE,
            "delete": lua.DELETE,
            "bind": lua.BIND_ALIAS,
            "resolve": lua.RESOLVE_ALIAS,
        }
        self._scripts = {key: client.register_script(text) for key, text in scripts.items()}

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> RedisSessionStore:
        """A store on `redis://[:password@]host:port/db` (or rediss://); connects lazily."""
        client = Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=COMMAND_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
            retry_on_error=[],
        )
        return cls(
            client,
            name=redacted_redis_url(url),
            prefix=prefix,
            ttl_seconds=ttl_seconds,
            lease_seconds=lease_seconds,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"RedisSessionStore({self._name!r}, prefix={self.prefix!r})"

    # -- keys ----------------------------------------------------------------------------------

    def _skey(self, session_id: str) -> str:
        return f"{self.prefix}s:{session_id}"

    def _akey(self, session_id: str) -> str:
        return f"{self.prefix}sa:{session_id}"

    def _alias_key(self, alias: str) -> str:
        return f"{self.prefix}a:{alias}"

    # -- protocol ------------------------------------------------------------------------------

    async def acquire(self, session_id: str, *, owner: str) -> Session | None:
        return await self._run_leasing(self._acquire(session_id, owner))

    async def create(self, session: Session) -> Session:
        return await self._run_leasing(self._create(session))

    async def get(self, session_id: str) -> Session | None:
        fields = ("version", "data", "exp", "lease", "lease_until")
        version, data, exp, lease, lease_until = await self._run(
            lambda: self._client.hmget(self._skey(session_id), fields)
        )
        if data is None or not _live(exp, lease, lease_until, self._clock()):
            return None
        return _decode(data, version, None)

    async def save(self, session: Session) -> Session:
        now = self._clock()
        stored = replace(session, version=session.version + 1, updated_at=now)
        data = stored.to_json()  # a ValueError naming the session when the state is not JSON
        reply = await self._script(
            "save",
            keys=[self._skey(session.id), self._akey(session.id)],
            args=[now, session.version, session.lease or "", data, self._ttl, self.prefix,
                  session.id, GC_GRACE_MS],
        )
        outcome = int(reply[0])
        if outcome == 3:
            return stored
        if outcome == 0:
            raise VersionConflict(session.id, stored=None, given=session.version)
        if outcome == 1:
            raise VersionConflict(session.id, stored=int(reply[1]), given=session.version)
        raise SessionBusy(session.id)

    async def release(self, session_id: str, *, lease: str | None = None) -> None:
        await self._script("release", keys=[self._skey(session_id)], args=[lease or ""])

    async def delete(self, session_id: str) -> None:
        await self._script(
            "delete",
            keys=[self._skey(session_id), self._akey(session_id)],
            args=[self.prefix, session_id],
        )

    async def bind_alias(self, alias: str, session_id: str) -> None:
        await self._script(
            "bind",
            keys=[self._alias_key(alias), self._akey(session_id), self._skey(session_id)],
            args=[alias, session_id, GC_GRACE_MS],
        )

    async def resolve_alias(self, alias: str) -> str | None:
        reply = await self._script(
            "resolve", keys=[self._alias_key(alias)], args=[self._clock(), self.prefix]
        )
        return str(reply) if reply else None

    async def ping(self) -> None:
        if self._orphans:  # let abandoned leasing calls finish and drop their leases first
            await asyncio.gather(*self._orphans, return_exceptions=True)
        await self._run(self._client.ping)

    async def aclose(self) -> None:
        if self._closed:
            return
        if self._orphans:
            await asyncio.gather(*self._orphans, return_exceptions=True)
        self._closed = True
        await self._client.aclose()

    # -- leasing steps -------------------------------------------------------------------------

    async def _acquire(self, session_id: str, owner: str) -> Session | None:
        token = secrets.token_hex(16)
        reply = await self._script(
            "acquire",
            keys=[self._skey(session_id), self._akey(session_id)],
            args=[self._clock(), owner, token, self._lease_seconds, self.prefix, session_id,
                  GC_GRACE_MS],
        )
        outcome = int(reply[0])
        if outcome == 0:
            return None
        if outcome == 1:
            raise SessionBusy(session_id)
        return _decode(reply[2], reply[1], token)

    async def _create(self, session: Session) -> Session:
        now = self._clock()
        session = replace(session, created_at=session.created_at or now, updated_at=now)
        token = secrets.token_hex(16)
        created = await self._script(
            "create",
            keys=[self._skey(session.id), self._akey(session.id)],
            args=[now, session.owner, session.version, session.to_json(), now + self._ttl, token,
                  now + self._lease_seconds, self.prefix, session.id, GC_GRACE_MS],
        )
        if not int(created):
            raise SessionExists(session.id)
        return session.with_lease(token)

    # -- the one boundary ----------------------------------------------------------------------

    async def _script(self, name: str, *, keys: list[str], args: list[Any]) -> Any:
        script = self._scripts[name]
        return await self._run(lambda: script(keys=keys, args=[_arg(a) for a in args]))

    async def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        if self._closed:
            raise StoreUnavailable(f"session store {self._name} is unavailable: it is closed")
        with backend_errors(self._name, _FOREIGN_ERRORS):
            return await call()

    async def _run_leasing(self, step: Coroutine[Any, Any, S]) -> S:
        """Run a leasing step so that a caller cancelled mid-way leaves no orphaned lease.

        The step runs in its own task; if the caller is cancelled, the task still finishes and
        a lease it took for nobody is released (ping and aclose wait for that cleanup).
        """
        job = asyncio.ensure_future(step)
        try:
            return await asyncio.shield(job)
        except asyncio.CancelledError:
            cleanup = asyncio.ensure_future(self._release_orphan(job))
            self._orphans.add(cleanup)
            cleanup.add_done_callback(self._orphans.discard)
            raise

    async def _release_orphan(self, job: asyncio.Future[Any]) -> None:
        try:
            session = await job
        except ControlError:  # the abandoned step failed (busy, exists, store down): no lease taken
            return
        if isinstance(session, Session) and not self._closed:
            try:
                await self.release(session.id, lease=session.lease)
            except StoreUnavailable:
                pass  # Redis is gone: the lease expires by itself after lease_seconds


def _arg(value: Any) -> str | int:
    """Script arguments as Redis sees them; floats keep every digit (repr)."""
    if isinstance(value, float):
        return repr(value)
    return value  # type: ignore[no-any-return]


def _num(value: str | bytes | None) -> float:
    return float(value) if value else 0.0


def _live(
    exp: str | bytes | None, lease: str | bytes | None, lease_until: str | bytes | None, now: float
) -> bool:
    return _num(exp) > now or (bool(lease) and _num(lease_until) > now)


def _decode(data: str | bytes, version: str | bytes | int | None, lease: str | None) -> Session:
    return replace(Session.from_json(data), version=int(version or 0), lease=lease)
