"""Fixtures: every SessionStore implementation on a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from server.sessions import MemorySessionStore, SqliteSessionStore
from server.sessions.redis import RedisSessionStore
from server.sessions.store import SessionStore
from tests.sessions.redis_support import delete_prefix, redis_url_or_skip_reason, unique_prefix

TTL = 100.0
LEASE = 10.0


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _memory(_tmp: Path, clock: FakeClock) -> SessionStore:
    return MemorySessionStore(ttl_seconds=TTL, lease_seconds=LEASE, clock=clock)


def _sqlite(tmp: Path, clock: FakeClock) -> SessionStore:
    path = tmp / "sessions.db"
    return SqliteSessionStore(path, ttl_seconds=TTL, lease_seconds=LEASE, clock=clock)


def _redis(_tmp: Path, clock: FakeClock) -> SessionStore:
    url, reason = redis_url_or_skip_reason()
    if url is None:
        pytest.skip(reason)
    return RedisSessionStore.from_url(
        url, prefix=unique_prefix("conf"), ttl_seconds=TTL, lease_seconds=LEASE, clock=clock
    )


# Every implementation; a new backend adds one line here and passes the same suite.
STORES: dict[str, Callable[[Path, FakeClock], SessionStore]] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "redis": _redis,
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ttl() -> float:
    return TTL


@pytest.fixture
def lease() -> float:
    return LEASE


@pytest.fixture(params=sorted(STORES))
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[SessionStore]:
    opened = STORES[request.param](tmp_path, clock)
    yield opened
    await opened.aclose()
    if isinstance(opened, RedisSessionStore):  # leave nothing behind in the shared Redis
        url, _ = redis_url_or_skip_reason()
        assert url is not None
        delete_prefix(url, opened.prefix)
