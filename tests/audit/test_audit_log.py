"""AuditLog: queued without blocking, written in batches, read back per session and owner."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

import server.audit as audit_package
from server.audit import AuditLog, read_session_audit
from server.errors import StoreUnavailable
from server.keys.schema import make_engine

SID = "0192f1c4-7a2b-7c3d-8e4f-0123456789ab"


def _decision(audit: AuditLog, **changes: object) -> None:
    values: dict[str, object] = dict(
        session_id=SID,
        owner="key_a",
        tool="send_email",
        verdict="hard_denied",
        fired=["no_mail_to_strangers", {"rule": "r2", "line": 4, "description": "second"}],
        call_id="tc-x",
        source="sqrt",
        message="denied",
        arguments={"to": "eve@example.com", "body": "secret plans"},
    )
    values.update(changes)
    audit.record(**values)  # type: ignore[arg-type]


async def test_records_round_trip_without_argument_values(engine: sa.Engine) -> None:
    audit = AuditLog(engine)
    _decision(audit)
    _decision(audit, tool="read_file", verdict="allowed", fired=[])
    assert read_session_audit(engine, SID) == []  # queued, not written yet
    await audit.flush()
    first, second = read_session_audit(engine, SID)
    assert (first.tool, first.verdict, first.owner, first.call_id) == (
        "send_email", "hard_denied", "key_a", "tc-x")
    assert first.fired == (
        {"rule": "no_mail_to_strangers", "line": None, "description": None},
        {"rule": "r2", "line": 4, "description": "second"},
    )
    assert first.arguments is None and "secret plans" not in str(first.to_json())
    assert (second.tool, second.fired) == ("read_file", ())
    assert first.at <= second.at and first.at.tzinfo is not None
    await audit.aclose()


async def test_argument_values_only_when_enabled(engine: sa.Engine) -> None:
    audit = AuditLog(engine, include_values=True)
    _decision(audit, arguments={"to": "eve@example.com", "when": object()})
    await audit.aclose()
    (record,) = read_session_audit(engine, SID)
    assert record.arguments is not None and record.arguments["to"] == "eve@example.com"
    assert record.arguments["when"].startswith("<object object")


async def test_owner_filter(engine: sa.Engine) -> None:
    audit = AuditLog(engine)
    _decision(audit, owner="key_a")
    _decision(audit, owner="key_b")
    await audit.aclose()
    assert [r.owner for r in read_session_audit(engine, SID, owner="key_b")] == ["key_b"]
    assert len(read_session_audit(engine, SID)) == 2


async def test_background_writer_flushes_by_itself(engine: sa.Engine) -> None:
    audit = AuditLog(engine, flush_seconds=0.05)
    await audit.start()
    _decision(audit)
    for _ in range(100):
        if read_session_audit(engine, SID):
            break
        await asyncio.sleep(0.02)
    assert len(read_session_audit(engine, SID)) == 1
    await audit.aclose()


async def test_record_is_cheap_and_never_blocks_the_loop(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/a.db")
    audit = AuditLog(engine)
    await audit.start()
    start = time.perf_counter()
    for n in range(10_000):
        _decision(audit, call_id=f"tc-{n}")
    per_record_us = (time.perf_counter() - start) / 10_000 * 1e6
    # ~10 µs on an idle core; the bound is loose for a busy CI machine, and still far below the
    # milliseconds of one database commit that record() must never wait for.
    assert per_record_us < 500, f"record() took {per_record_us:.1f} µs"
    await audit.aclose()
    assert len(read_session_audit(engine, SID)) == 10_000
    engine.dispose()


async def test_database_down_keeps_records_for_retry_and_drops_past_the_limit(tmp_path) -> None:
    path = tmp_path / "a.db"
    engine = make_engine(f"sqlite:///{path}")
    dropped: list[int] = []
    audit = AuditLog(engine, max_pending=3, on_drop=lambda: dropped.append(1))
    with engine.begin() as db:  # the table disappears under the writer: writes fail
        db.execute(sa.text("ALTER TABLE control_audit RENAME TO control_audit_away"))
    for n in range(5):
        _decision(audit, call_id=f"tc-{n}")
    assert (audit.pending, len(dropped)) == (3, 2)
    with pytest.raises(StoreUnavailable, match="audit database sqlite:///.*a.db is unavailable"):
        await audit.flush()
    assert audit.pending == 3
    with engine.begin() as db:
        db.execute(sa.text("ALTER TABLE control_audit_away RENAME TO control_audit"))
    await audit.flush()
    assert [r.call_id for r in read_session_audit(engine, SID)] == ["tc-0", "tc-1", "tc-2"]
    engine.dispose()


def test_public_surface_is_pinned() -> None:
    assert sorted(audit_package.__all__) == ["AuditLog", "AuditRecord", "read_session_audit"]


async def test_records_are_written_when_the_default_executor_is_already_gone(engine: sa.Engine) -> None:
    """A server stopped from an atexit hook: the executor shut down first; nothing may be lost."""
    audit = AuditLog(engine)
    _decision(audit)
    await asyncio.get_running_loop().shutdown_default_executor()
    await audit.aclose()
    assert len(read_session_audit(engine, SID)) == 1
