"""Redis-only behaviour: key layout and namespacing, Redis' own expiry, outages and recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis.asyncio as aredis

from server.errors import StoreUnavailable
from server.sessions import Session
from server.sessions.redis import GC_GRACE_MS, RedisSessionStore
from tests.sessions.redis_support import (
    RedisProcess,
    delete_prefix,
    redis_url_or_skip_reason,
    unique_prefix,
)

OWNER = "key-a"


@pytest.fixture
def url() -> str:
    found, reason = redis_url_or_skip_reason()
    if found is None:
        pytest.skip(reason)
    return found


@pytest.fixture
async def raw(url: str) -> AsyncIterator[aredis.Redis]:
    client = aredis.Redis.from_url(url, decode_responses=True)
    yield client
    await client.aclose()


def _store(url: str, prefix: str, **options: object) -> RedisSessionStore:
    return RedisSessionStore.from_url(url, prefix=prefix, **options)  # type: ignore[arg-type]


async def test_keys_live_under_the_prefix_and_deployments_do_not_see_each_other(
    url: str, raw: aredis.Redis
) -> None:
    a, b = unique_prefix("a"), unique_prefix("b")
    one, two = _store(url, a), _store(url, b)
    try:
        created = await one.create(Session.new(owner=OWNER, arch="single-llm"))
        await one.bind_alias("resp_1", created.id)
        keys = sorted([k async for k in raw.scan_iter(match=f"{a}*")])
        assert keys == [f"{a}a:resp_1", f"{a}s:{created.id}", f"{a}sa:{created.id}"]
        assert await two.get(created.id) is None
        assert await two.acquire(created.id, owner=OWNER) is None
        assert await two.resolve_alias("resp_1") is None
        assert [k async for k in raw.scan_iter(match=f"{b}*")] == []
    finally:
        await one.aclose()
        await two.aclose()
        delete_prefix(url, a)


async def test_redis_drops_expired_keys_itself(url: str, raw: aredis.Redis) -> None:
    prefix = unique_prefix("gc")
    store = _store(url, prefix, ttl_seconds=5.0, lease_seconds=1.0)
    try:
        created = await store.create(Session.new(owner=OWNER, arch="single-llm"))
        await store.bind_alias("resp_x", created.id)
        ttl_ms = await raw.pttl(f"{prefix}s:{created.id}")
        assert 5_000 < ttl_ms <= 5_000 + GC_GRACE_MS + 1_000
        # The alias expires with its session; its TTL is set a moment later (allow 50 ms of clock).
        assert 0 < await raw.pttl(f"{prefix}a:resp_x") <= ttl_ms + 50
        saved = await store.save(replace(created, turn=1))
        assert saved.version == 1
    finally:
        await store.aclose()
        delete_prefix(url, prefix)


async def test_unreachable_redis_is_a_503_naming_the_store() -> None:
    store = RedisSessionStore.from_url("redis://127.0.0.1:1/0", prefix=unique_prefix())
    with pytest.raises(StoreUnavailable) as caught:
        await store.acquire(Session.new(owner=OWNER, arch="single-llm").id, owner=OWNER)
    assert caught.value.status == 503
    assert caught.value.message.startswith("session store redis://127.0.0.1:1/0 is unavailable")
    await store.aclose()


@pytest.mark.skipif(not RedisProcess.available(), reason="redis-server is not installed")
async def test_lost_redis_is_503_then_the_store_recovers_with_nothing_lost(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path).start()
    restarted = RedisProcess(tmp_path, port=server.port)
    store = _store(server.url, unique_prefix("outage"))
    try:
        created = await store.create(Session.new(owner=OWNER, arch="single-llm"))
        saved = await store.save(replace(created, turn=3, state={"ledger": ["x" * 100]}))
        await store.release(saved.id, lease=saved.lease)
        server.kill()
        with pytest.raises(StoreUnavailable, match=f"session store {server.url} is unavailable"):
            await store.acquire(saved.id, owner=OWNER)
        with pytest.raises(StoreUnavailable):
            await store.ping()
        restarted.start()  # same port, same append-only file
        for _ in range(50):  # the pool reconnects on the next command
            try:
                await store.ping()
                break
            except StoreUnavailable:
                await asyncio.sleep(0.05)
        again = await store.acquire(saved.id, owner=OWNER)
        assert again == saved and again.state == {"ledger": ["x" * 100]}
    finally:
        await store.aclose()
        server.kill()
        restarted.kill()
