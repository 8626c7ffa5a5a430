"""open_session_store: which store each SEQURITY_CONTROL_SESSION_STORE value opens."""

from __future__ import annotations

from pathlib import Path

import pytest

import server.sessions as sessions
from server.errors import StoreUnavailable
from server.sessions import MemorySessionStore, SqliteSessionStore, open_session_store
from server.sessions.factory import DEFAULT_SESSION_FILE, session_store_target
from server.settings import Settings


@pytest.mark.parametrize(
    ("session_store", "database_url", "expected"),
    [
        ("memory", "sqlite:///keys.db", ("memory", "")),
        ("", "sqlite:///keys.db", ("sqlite", "keys.db")),
        ("sqlite", "sqlite:////var/lib/sc/keys.db", ("sqlite", "/var/lib/sc/keys.db")),
        ("", "sqlite+pysqlite:///k.db", ("sqlite", "k.db")),
        ("", "postgresql+psycopg://u:p@db/keys", ("sqlite", DEFAULT_SESSION_FILE)),
        ("sqlite", "postgresql+psycopg://u:p@db/keys", ("sqlite", DEFAULT_SESSION_FILE)),
        ("", "sqlite://", ("memory", "")),
        ("sqlite://", "sqlite:///k.db", ("memory", "")),
        ("sqlite:///s.db", "postgresql+psycopg://db/keys", ("sqlite", "s.db")),
        (" sqlite:////tmp/s.db ", "sqlite:///k.db", ("sqlite", "/tmp/s.db")),
        ("redis://localhost:6379/0", "sqlite:///k.db", ("redis", "redis://localhost:6379/0")),
    ],
)
def test_targets(session_store: str, database_url: str, expected: tuple[str, str]) -> None:
    settings = Settings(session_store=session_store, database_url=database_url)
    assert session_store_target(settings) == expected


async def test_opens_sqlite_with_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        session_store=f"sqlite:///{tmp_path}/s.db", session_ttl_seconds=7, session_lease_seconds=3
    )
    store = open_session_store(settings)
    assert isinstance(store, SqliteSessionStore) and store.path == f"{tmp_path}/s.db"
    await store.ping()
    await store.aclose()
    assert isinstance(open_session_store(Settings(session_store="memory")), MemorySessionStore)


async def test_redis_opens_lazily_with_the_prefix_and_without_the_password() -> None:
    from server.sessions.redis import RedisSessionStore

    store = open_session_store(
        Settings(session_store="redis://:hunter2@cache.invalid:6379/0", redis_prefix="dep-a:")
    )
    assert isinstance(store, RedisSessionStore) and store.prefix == "dep-a:"
    assert "hunter2" not in repr(store)
    with pytest.raises(StoreUnavailable) as caught:  # nothing listens there: a clear 503
        await store.ping()
    assert "redis://:***@cache.invalid:6379/0" in caught.value.message
    assert "hunter2" not in caught.value.message
    await store.aclose()


@pytest.mark.parametrize("value", ["postgres://u:hunter2@h/db", "bogus", "sqlitex"])
def test_unknown_values_name_the_allowed_ones(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        open_session_store(Settings(session_store=value))
    assert "SEQURITY_CONTROL_SESSION_STORE=" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_an_unopenable_file_is_store_unavailable(tmp_path: Path) -> None:
    settings = Settings(session_store=f"sqlite:///{tmp_path}/missing-dir/s.db")
    with pytest.raises(StoreUnavailable, match="missing-dir"):
        open_session_store(settings)


def test_public_surface_is_pinned() -> None:
    assert sorted(sessions.__all__) == sorted(
        [
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
    )


async def test_default_store_shares_the_key_database_file(tmp_path: Path) -> None:
    from server.keys import KeyStore
    from server.sessions import Session

    settings = Settings(session_store="", database_url=f"sqlite:///{tmp_path}/control.db")
    keys = KeyStore(settings.database_url)
    record, secret = keys.create(name="k")
    store = open_session_store(settings)
    assert isinstance(store, SqliteSessionStore) and store.path == f"{tmp_path}/control.db"
    created = await store.create(Session.new(owner=record.id, arch="single-llm"))
    await store.release(created.id)
    assert keys.authenticate(secret) == record
    assert await store.acquire(created.id, owner=record.id) is not None
    await store.aclose()
    keys.close()


def test_a_file_that_is_not_a_database_is_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "s.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreUnavailable, match="DatabaseError: file is not a database"):
        SqliteSessionStore(tmp_path / "s.db")
