"""Open the session store that SEQURITY_CONTROL_SESSION_STORE names, from a table of schemes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from server.settings import Settings
from server.sessions.memory import MemorySessionStore
from server.sessions.sqlite import SqliteSessionStore
from server.sessions.store import SessionStore

__all__ = ["open_session_store", "session_store_target", "DEFAULT_SESSION_FILE"]

DEFAULT_SESSION_FILE = "sequrity-sessions.db"
_ALLOWED = "'memory', 'sqlite', 'sqlite:///<path>', or empty (the SQLite database file)"


def open_session_store(settings: Settings) -> SessionStore:
    """The configured store: memory, SQLite (default: the key database's file) or Redis.

    >>> open_session_store(Settings(session_store="memory"))
    MemorySessionStore(sessions=0)
    """
    kind, target = session_store_target(settings)
    return _OPENERS[kind](target, settings)


def session_store_target(settings: Settings) -> tuple[str, str]:
    """(kind, target) for the setting: ("memory", ""), ("sqlite", path) or ("redis", url)."""
    value = settings.session_store.strip()
    if value in ("", "sqlite"):
        path = _sqlite_path_of(settings.database_url)
        return ("memory", "") if path == ":memory:" else ("sqlite", path or DEFAULT_SESSION_FILE)
    if value == "memory":
        return ("memory", "")
    scheme = value.split(":", 1)[0].lower()
    if scheme in ("redis", "rediss"):
        return ("redis", value)
    if scheme.startswith("sqlite") and value.startswith(f"{scheme}://"):
        path = _sqlite_path_of(value)
        if path is not None:  # an in-memory SQLite URL is one process's memory: the memory store
            return ("memory", "") if path == ":memory:" else ("sqlite", path)
    raise ValueError(
        f"SEQURITY_CONTROL_SESSION_STORE={_redacted(value)!r} is not a session store;"
        f" use {_ALLOWED},"
        " or redis://[:password@]host:port/db"
    )


def _sqlite_path_of(url: str) -> str | None:
    """The file of a SQLite URL, ":memory:" for an in-memory one, None when it is not SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    return parsed.database or ":memory:"


def _redacted(value: str) -> str:
    """The value without a password (`scheme://user:secret@host` -> `scheme://user:***@host`)."""
    try:
        return make_url(value).render_as_string(hide_password=True)
    except ArgumentError:
        return value.split("@", 1)[-1] if "@" in value else value


def _open_memory(_target: str, settings: Settings) -> SessionStore:
    return MemorySessionStore(
        ttl_seconds=settings.session_ttl_seconds, lease_seconds=settings.session_lease_seconds
    )


def _open_sqlite(target: str, settings: Settings) -> SessionStore:
    return SqliteSessionStore(
        Path(target),
        ttl_seconds=settings.session_ttl_seconds,
        lease_seconds=settings.session_lease_seconds,
    )


def _open_redis(target: str, settings: Settings) -> SessionStore:
    """A Redis store; it connects lazily, so callers `await store.ping()` to check it at start."""
    from server.sessions.redis import RedisSessionStore  # the redis package loads only when used

    return RedisSessionStore.from_url(
        target,
        prefix=settings.redis_prefix,
        ttl_seconds=settings.session_ttl_seconds,
        lease_seconds=settings.session_lease_seconds,
    )


_OPENERS: dict[str, Callable[[str, Settings], SessionStore]] = {
    "memory": _open_memory,
    "sqlite": _open_sqlite,
    "redis": _open_redis,
}
