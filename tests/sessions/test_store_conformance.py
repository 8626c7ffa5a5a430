"""One conformance suite that every SessionStore implementation passes."""

from __future__ import annotations

import asyncio
import multiprocessing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server.errors import Conflict, StoreUnavailable
from server.sessions import (
    Session,
    SessionBusy,
    SessionExists,
    SessionStore,
    SqliteSessionStore,
    VersionConflict,
)

OWNER = "key-a"


def _new(**changes: object) -> Session:
    base = Session.new(owner=OWNER, arch="single-llm", now=5.0)
    return replace(base, **changes)  # type: ignore[arg-type]


async def _stored(store: SessionStore, **changes: object) -> Session:
    """A stored session whose lease is already released."""
    created = await store.create(_new(**changes))
    await store.release(created.id, lease=created.lease)
    return created


async def test_store_satisfies_protocol(store: SessionStore) -> None:
    assert isinstance(store, SessionStore)


async def test_create_then_acquire_round_trips_every_field(store: SessionStore, clock: Any) -> None:
    session = _new(
        turn=2,
        session_meta={"producers": ["web"], "consumers": ["*"], "tags": ["pii"]},
        pending_calls=("tc-a", "tc-b"),
        state={"ledger": [{"call": "x", "result": [1, "é", None]}], "ids": {"tc-a": "call_1"}},
    )
    created = await store.create(session)
    assert created == replace(session, updated_at=clock.now) and created.lease
    await store.release(session.id, lease=created.lease)
    acquired = await store.acquire(session.id, owner=OWNER)
    assert acquired == created
    assert acquired is not None and acquired.lease and acquired.lease != created.lease
    assert await store.get(session.id) == created


async def test_create_stamps_missing_times(store: SessionStore, clock: Any) -> None:
    bare = Session(id=_new().id, owner=OWNER, arch="dual-llm")
    created = await store.create(bare)
    assert created.created_at == created.updated_at == clock.now


async def test_unknown_id_acquires_nothing(store: SessionStore) -> None:
    assert await store.acquire(_new().id, owner=OWNER) is None
    assert await store.get(_new().id) is None


async def test_foreign_owner_gets_none_even_while_busy(store: SessionStore) -> None:
    created = await store.create(_new())  # leased
    assert await store.acquire(created.id, owner="key-b") is None


async def test_second_acquire_is_busy_with_the_spec_message(store: SessionStore) -> None:
    stored = await _stored(store)
    assert await store.acquire(stored.id, owner=OWNER) is not None
    with pytest.raises(SessionBusy) as caught:
        await store.acquire(stored.id, owner=OWNER)
    assert isinstance(caught.value, Conflict) and caught.value.status == 409
    assert caught.value.message == f"session {stored.id} is busy"


async def test_create_leases_the_new_session(store: SessionStore) -> None:
    created = await store.create(_new())
    with pytest.raises(SessionBusy):
        await store.acquire(created.id, owner=OWNER)


async def test_create_of_a_live_id_is_refused(store: SessionStore) -> None:
    stored = await _stored(store)
    with pytest.raises(SessionExists, match=stored.id):
        await store.create(_new(id=stored.id))


async def test_save_increments_version_and_keeps_the_lease(store: SessionStore, clock: Any) -> None:
    created = await store.create(_new())
    clock.advance(1)
    saved = await store.save(replace(created, turn=1, pending_calls=("tc-x",)))
    assert (saved.version, saved.turn, saved.updated_at) == (1, 1, clock.now)
    assert saved.lease == created.lease
    again = await store.save(replace(saved, turn=2))
    assert again.version == 2
    with pytest.raises(SessionBusy):  # still leased by this request
        await store.acquire(created.id, owner=OWNER)
    await store.release(created.id, lease=again.lease)
    fresh = await store.acquire(created.id, owner=OWNER)
    assert fresh is not None and (fresh.version, fresh.turn) == (2, 2)


async def test_save_with_a_stale_version_conflicts(store: SessionStore) -> None:
    created = await store.create(_new())
    await store.save(created)
    with pytest.raises(VersionConflict) as caught:
        await store.save(replace(created, turn=9))
    assert (caught.value.stored, caught.value.given) == (1, 0)
    assert "stored version is 1" in caught.value.message and caught.value.status == 409
    stored = await store.get(created.id)
    assert stored is not None and stored.turn == 0


async def test_save_without_the_lease_while_another_holds_it_is_busy(store: SessionStore) -> None:
    stored = await _stored(store)
    assert await store.acquire(stored.id, owner=OWNER) is not None
    with pytest.raises(SessionBusy):
        await store.save(replace(stored, turn=1))


async def test_save_of_a_deleted_session_conflicts(store: SessionStore) -> None:
    created = await store.create(_new())
    await store.delete(created.id)
    with pytest.raises(VersionConflict, match="no longer stored"):
        await store.save(created)


async def test_release_leaves_the_session_exactly_as_it_was(store: SessionStore) -> None:
    stored = await _stored(store, turn=3, state={"ledger": [1, 2]})
    before = await store.get(stored.id)
    acquired = await store.acquire(stored.id, owner=OWNER)
    assert acquired is not None
    # The failed request changed its copy but never saved it.
    _ = replace(acquired, turn=99, state={})
    await store.release(stored.id, lease=acquired.lease)
    after = await store.get(stored.id)
    assert after is not None and before is not None
    assert after == before and after.version == before.version
    assert await store.acquire(stored.id, owner=OWNER) is not None


async def test_in_place_changes_to_a_copy_never_reach_the_store(store: SessionStore) -> None:
    stored = await _stored(store, state={"ledger": [1]})
    acquired = await store.acquire(stored.id, owner=OWNER)
    assert acquired is not None
    acquired.state["ledger"].append(2)  # a careless agent mutates in place, then fails
    acquired.session_meta["tags"].append("x")
    await store.release(stored.id, lease=acquired.lease)
    assert await store.get(stored.id) == stored


async def test_state_that_is_not_json_is_refused_by_name(store: SessionStore) -> None:
    created = await store.create(_new())
    with pytest.raises(ValueError, match=f"session {created.id} holds data that is not JSON"):
        await store.save(replace(created, state={"when": object()}))
    assert await store.get(created.id) == created


async def test_release_with_a_stale_lease_keeps_the_new_holders_lease(
    store: SessionStore, clock: Any, lease: float
) -> None:
    stored = await _stored(store)
    first = await store.acquire(stored.id, owner=OWNER)
    clock.advance(lease + 1)
    second = await store.acquire(stored.id, owner=OWNER)
    assert first is not None and second is not None
    await store.release(stored.id, lease=first.lease)
    with pytest.raises(SessionBusy):
        await store.acquire(stored.id, owner=OWNER)


async def test_a_caller_cancelled_while_acquiring_leaves_no_lease(store: SessionStore) -> None:
    stored = await _stored(store)
    task = asyncio.create_task(store.acquire(stored.id, owner=OWNER))
    await asyncio.sleep(0)  # the acquire has started
    task.cancel()
    try:
        got = await task
    except asyncio.CancelledError:
        got = None
    await store.ping()  # lets a backend finish the abandoned acquire and drop its lease
    if got is None:
        assert await store.acquire(stored.id, owner=OWNER) is not None
    else:  # the acquire finished before the cancel: the caller holds the lease
        with pytest.raises(SessionBusy):
            await store.acquire(stored.id, owner=OWNER)


async def test_lease_expires(store: SessionStore, clock: Any, lease: float) -> None:
    stored = await _stored(store)
    assert await store.acquire(stored.id, owner=OWNER) is not None
    clock.advance(lease - 0.5)
    with pytest.raises(SessionBusy):
        await store.acquire(stored.id, owner=OWNER)
    clock.advance(1)
    assert await store.acquire(stored.id, owner=OWNER) is not None


async def test_idle_ttl_expires_sessions_and_save_refreshes_it(
    store: SessionStore, clock: Any, ttl: float, lease: float
) -> None:
    kept, dropped = await _stored(store), await _stored(store)
    clock.advance(ttl - 1)
    leased = await store.acquire(kept.id, owner=OWNER)
    assert leased is not None
    await store.save(leased)
    await store.release(kept.id)
    clock.advance(2)
    assert await store.acquire(dropped.id, owner=OWNER) is None
    assert await store.get(dropped.id) is None
    assert await store.acquire(kept.id, owner=OWNER) is not None
    clock.advance(ttl + lease)
    assert await store.get(kept.id) is None


async def test_a_held_lease_keeps_its_session_alive(
    store: SessionStore, clock: Any, ttl: float
) -> None:
    created = await store.create(_new())
    clock.advance(ttl - 1)
    leased_copy = await store.save(created)
    assert leased_copy.version == 1
    clock.advance(ttl - 1)  # lease (10 s) long expired, ttl refreshed by the save
    assert await store.get(created.id) is not None


async def test_expired_id_can_be_created_again(store: SessionStore, clock: Any, ttl: float) -> None:
    stored = await _stored(store, turn=4)
    await store.bind_alias("resp_old", stored.id)
    clock.advance(ttl + 1)
    fresh = await store.create(_new(id=stored.id))
    assert fresh.turn == 0
    assert await store.resolve_alias("resp_old") is None


async def test_alias_resolves_and_expires_with_its_session(
    store: SessionStore, clock: Any, ttl: float
) -> None:
    stored = await _stored(store)
    await store.bind_alias("resp_1", stored.id)
    await store.bind_alias("resp_2", stored.id)
    assert await store.resolve_alias("resp_1") == stored.id
    assert await store.resolve_alias("resp_2") == stored.id
    assert await store.resolve_alias("resp_unknown") is None
    clock.advance(ttl + 1)
    assert await store.resolve_alias("resp_1") is None


async def test_alias_can_be_rebound(store: SessionStore) -> None:
    first, second = await _stored(store), await _stored(store)
    await store.bind_alias("resp", first.id)
    await store.bind_alias("resp", second.id)
    await store.delete(first.id)
    assert await store.resolve_alias("resp") == second.id


async def test_delete_removes_session_and_aliases(store: SessionStore) -> None:
    stored = await _stored(store)
    await store.bind_alias("resp_1", stored.id)
    await store.delete(stored.id)
    await store.delete(stored.id)  # twice is fine
    assert await store.acquire(stored.id, owner=OWNER) is None
    assert await store.resolve_alias("resp_1") is None


async def test_concurrent_acquires_exactly_one_wins(store: SessionStore) -> None:
    stored = await _stored(store)
    results = await asyncio.gather(
        *(store.acquire(stored.id, owner=OWNER) for _ in range(12)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Session)]
    losers = [r for r in results if isinstance(r, SessionBusy)]
    assert (len(winners), len(losers)) == (1, 11)


async def test_concurrent_saves_of_one_version_exactly_one_wins(store: SessionStore) -> None:
    created = await store.create(_new())
    results = await asyncio.gather(
        *(store.save(replace(created, turn=n)) for n in range(8)), return_exceptions=True
    )
    assert sum(isinstance(r, Session) for r in results) == 1
    assert sum(isinstance(r, VersionConflict) for r in results) == 7


async def test_ping_then_closed_store_is_unavailable(store: SessionStore) -> None:
    await store.ping()
    await store.aclose()
    with pytest.raises(StoreUnavailable, match="unavailable") as caught:
        await store.ping()
    assert caught.value.status == 503
    with pytest.raises(StoreUnavailable):
        await store.acquire(_new().id, owner=OWNER)
    await store.aclose()  # closing twice is fine


# -- SQLite only: several processes (uvicorn workers) sharing one file ----------------------------

PROCESSES = 4


def _race(kind: str, path: str, session_id: str, barrier: Any, results: Any) -> None:
    async def run() -> str:
        store = SqliteSessionStore(path)
        try:
            if kind == "acquire":
                barrier.wait()
                return "won" if await store.acquire(session_id, owner=OWNER) else "none"
            current = await store.get(session_id)
            assert current is not None
            barrier.wait()
            await store.save(replace(current, state={"by": multiprocessing.current_process().name}))
            return "won"
        except (SessionBusy, VersionConflict) as exc:
            return type(exc).__name__
        finally:
            await store.aclose()

    results.put(asyncio.run(run()))


def _run_race(kind: str, path: Path, session_id: str) -> list[str]:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    workers = [
        ctx.Process(target=_race, args=(kind, str(path), session_id, barrier, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=20) for _ in workers)
    for worker in workers:
        worker.join(timeout=20)
        assert worker.exitcode == 0
    return outcomes


def _seed(path: Path) -> Session:
    async def run() -> Session:
        store = SqliteSessionStore(path)
        created = await store.create(Session.new(owner=OWNER, arch="single-llm"))
        await store.release(created.id)
        await store.aclose()
        return created

    return asyncio.run(run())


def test_processes_racing_for_one_lease_exactly_one_wins(tmp_path: Path) -> None:
    session = _seed(tmp_path / "shared.db")
    outcomes = _run_race("acquire", tmp_path / "shared.db", session.id)
    assert outcomes == ["SessionBusy"] * (PROCESSES - 1) + ["won"]


def test_processes_saving_one_version_exactly_one_wins(tmp_path: Path) -> None:
    session = _seed(tmp_path / "shared.db")
    outcomes = _run_race("save", tmp_path / "shared.db", session.id)
    assert outcomes == ["VersionConflict"] * (PROCESSES - 1) + ["won"]

    async def stored_version() -> int:
        store = SqliteSessionStore(tmp_path / "shared.db")
        current = await store.get(session.id)
        await store.aclose()
        assert current is not None
        return current.version

    assert asyncio.run(stored_version()) == 1
