"""Session store in one SQLite file (WAL), shareable by the worker processes of one machine."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from server.errors import StoreUnavailable
from server.sessions.errors import SessionBusy, SessionExists, VersionConflict, backend_errors
from server.sessions.record import Session
from server.sessions.store import DEFAULT_LEASE_SECONDS, DEFAULT_TTL_SECONDS

__all__ = ["SqliteSessionStore", "BUSY_TIMEOUT_MS"]

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000  # how long a writer waits for another process's write lock
_SWEEP_EVERY_SECONDS = 60.0
# The table of foreign errors this backend turns into StoreUnavailable (one place: `_run`).
_FOREIGN_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS control_sessions (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    data        TEXT NOT NULL,
    expires_at  REAL NOT NULL,
    lease_token TEXT,
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS control_sessions_expiry ON control_sessions (expires_at);
CREATE TABLE IF NOT EXISTS control_session_aliases (
    alias      TEXT PRIMARY KEY,
    session_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS control_session_aliases_session
    ON control_session_aliases (session_id);
"""
# A row is live while its idle TTL runs or a lease is held (a lease keeps its session alive).
_LIVE = "(expires_at > :now OR (lease_token IS NOT NULL AND lease_until > :now))"


class SqliteSessionStore:
    """A SessionStore on stdlib sqlite3: one connection, used from one worker thread.

    Each operation is one SQL statement or one `BEGIN IMMEDIATE` transaction, so the lease and the
    version compare-and-set stay atomic across processes sharing the file. The clock comes from the
    caller's process (`clock`), so machines sharing a file must agree on time (they share a disk).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(path)
        self._name = f"sqlite:///{self.path}"
        self._ttl = ttl_seconds
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._closed = False
        self._next_sweep = 0.0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-sessions")
        self._conn: sqlite3.Connection | None = None
        try:
            with backend_errors(self._name, _FOREIGN_ERRORS):
                self._executor.submit(self._open).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    def __repr__(self) -> str:
        return f"SqliteSessionStore({self.path!r})"

    # -- protocol ------------------------------------------------------------------------------

    async def acquire(self, session_id: str, *, owner: str) -> Session | None:
        return await self._run_leasing(self._acquire, session_id, owner, self._clock())

    async def create(self, session: Session) -> Session:
        return await self._run_leasing(self._create, session, self._clock())

    async def get(self, session_id: str) -> Session | None:
        return await self._run(self._get, session_id, self._clock())

    async def save(self, session: Session) -> Session:
        return await self._run(self._save, session, self._clock())

    async def release(self, session_id: str, *, lease: str | None = None) -> None:
        await self._run(self._release, session_id, lease)

    async def delete(self, session_id: str) -> None:
        await self._run(self._delete, session_id)

    async def bind_alias(self, alias: str, session_id: str) -> None:
        await self._run(self._bind_alias, alias, session_id)

    async def resolve_alias(self, alias: str) -> str | None:
        return await self._run(self._resolve_alias, alias, self._clock())

    async def ping(self) -> None:
        await self._run(self._ping)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=False)

    # -- the one boundary ----------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreUnavailable(f"session store {self._name} is unavailable: it is closed")
        loop = asyncio.get_running_loop()
        with backend_errors(self._name, _FOREIGN_ERRORS):
            return await loop.run_in_executor(self._executor, fn, *args)

    async def _run_leasing(self, fn: Callable[..., T], *args: Any) -> T:
        """Like `_run`, but a caller cancelled mid-way does not leave an orphaned lease behind."""
        if self._closed:
            raise StoreUnavailable(f"session store {self._name} is unavailable: it is closed")
        job = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        with backend_errors(self._name, _FOREIGN_ERRORS):
            try:
                return await asyncio.shield(job)
            except asyncio.CancelledError:
                job.add_done_callback(self._release_orphan)
                raise

    def _release_orphan(self, job: asyncio.Future[Any]) -> None:
        if job.cancelled() or job.exception() is not None or self._closed:
            return
        session = job.result()
        if isinstance(session, Session):  # leased for a caller that is gone
            self._executor.submit(self._release, session.id, session.lease)

    # -- worker-thread side --------------------------------------------------------------------

    def _open(self) -> None:
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL, much faster
            with self._transaction() as db:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")  # take the write lock first: no upgrade deadlocks
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("connection is closed")
        return self._conn

    def _acquire(self, session_id: str, owner: str, now: float) -> Session | None:
        with self._transaction() as db:
            row = db.execute(
                f"SELECT owner, version, data, {_LIVE} AS live,"
                " lease_token IS NOT NULL AND lease_until > :now AS leased"
                " FROM control_sessions WHERE id = :id",
                {"id": session_id, "now": now},
            ).fetchone()
            if row is None:
                return None
            stored_owner, version, data, live, leased = row
            if not live:
                self._drop(db, session_id)
                return None
            if stored_owner != owner:
                return None
            if leased:
                raise SessionBusy(session_id)
            token = self._take_lease(db, session_id, now)
        return _decode(data, version, token)

    def _create(self, session: Session, now: float) -> Session:
        with self._transaction() as db:
            self._sweep(db, now)
            live = db.execute(
                f"SELECT 1 FROM control_sessions WHERE id = :id AND {_LIVE}",
                {"id": session.id, "now": now},
            ).fetchone()
            if live is not None:
                raise SessionExists(session.id)
            session = replace(session, created_at=session.created_at or now, updated_at=now)
            self._drop(db, session.id)  # an expired row with this id, and its aliases
            db.execute(
                "INSERT INTO control_sessions (id, owner, version, data, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (session.id, session.owner, session.version, session.to_json(), now + self._ttl),
            )
            token = self._take_lease(db, session.id, now)
        return session.with_lease(token)

    def _get(self, session_id: str, now: float) -> Session | None:
        row = self._db().execute(
            f"SELECT data, version FROM control_sessions WHERE id = :id AND {_LIVE}",
            {"id": session_id, "now": now},
        ).fetchone()
        return None if row is None else _decode(row[0], row[1], None)

    def _save(self, session: Session, now: float) -> Session:
        stored = replace(session, version=session.version + 1, updated_at=now)
        cursor = self._db().execute(
            "UPDATE control_sessions SET data = :data, version = :version + 1,"
            " expires_at = MAX(:now + :ttl, lease_until)"
            f" WHERE id = :id AND version = :version AND {_LIVE}"
            " AND (lease_token IS NULL OR lease_until <= :now OR lease_token = :lease)",
            {
                "data": stored.to_json(),
                "version": session.version,
                "now": now,
                "ttl": self._ttl,
                "id": session.id,
                "lease": session.lease,
            },
        )
        if cursor.rowcount == 1:
            return stored
        row = self._db().execute(
            f"SELECT version, {_LIVE} FROM control_sessions WHERE id = :id",
            {"id": session.id, "now": now},
        ).fetchone()
        if row is None or not row[1]:
            raise VersionConflict(session.id, stored=None, given=session.version)
        if row[0] != session.version:
            raise VersionConflict(session.id, stored=row[0], given=session.version)
        raise SessionBusy(session.id)

    def _release(self, session_id: str, lease: str | None) -> None:
        self._db().execute(
            "UPDATE control_sessions SET lease_token = NULL, lease_until = 0"
            " WHERE id = :id AND (:lease IS NULL OR lease_token = :lease)",
            {"id": session_id, "lease": lease},
        )

    def _delete(self, session_id: str) -> None:
        with self._transaction() as db:
            self._drop(db, session_id)

    def _bind_alias(self, alias: str, session_id: str) -> None:
        self._db().execute(
            "INSERT OR REPLACE INTO control_session_aliases (alias, session_id) VALUES (?, ?)",
            (alias, session_id),
        )

    def _resolve_alias(self, alias: str, now: float) -> str | None:
        row = self._db().execute(
            "SELECT a.session_id FROM control_session_aliases a"
            " JOIN control_sessions s ON s.id = a.session_id"
            f" WHERE a.alias = :alias AND {_LIVE}",  # the live columns are the session's
            {"alias": alias, "now": now},
        ).fetchone()
        return None if row is None else str(row[0])

    def _ping(self) -> None:
        self._db().execute("SELECT 1 FROM control_sessions LIMIT 1").fetchall()

    def _take_lease(self, db: sqlite3.Connection, session_id: str, now: float) -> str:
        token = secrets.token_hex(16)
        until = now + self._lease_seconds
        db.execute(
            "UPDATE control_sessions SET lease_token = ?, lease_until = ?,"
            " expires_at = MAX(expires_at, ?) WHERE id = ?",
            (token, until, until, session_id),
        )
        return token

    @staticmethod
    def _drop(db: sqlite3.Connection, session_id: str) -> None:
        db.execute("DELETE FROM control_session_aliases WHERE session_id = ?", (session_id,))
        db.execute("DELETE FROM control_sessions WHERE id = ?", (session_id,))

    def _sweep(self, db: sqlite3.Connection, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY_SECONDS
        db.execute(f"DELETE FROM control_sessions WHERE NOT {_LIVE}", {"now": now})
        db.execute(
            "DELETE FROM control_session_aliases"
            " WHERE session_id NOT IN (SELECT id FROM control_sessions)"
        )


def _decode(data: str, version: int, lease: str | None) -> Session:
    return replace(Session.from_json(data), version=version, lease=lease)
