"""Session and tool-call ids (spec 6.2, 6.3 rule 3, 13.5)."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from server.sessions.ids import (
    client_tool_call_id,
    is_session_id,
    new_session_id,
    session_of_tool_call_id,
    upstream_tool_call_id,
)

SID = "0192f1c4-7a2b-7c3d-8e4f-0123456789ab"


def test_new_session_ids_are_lowercase_time_ordered_uuids() -> None:
    ids = [new_session_id() for _ in range(200)]
    assert len(set(ids)) == 200
    for sid in ids:
        parsed = uuid.UUID(sid)
        assert str(parsed) == sid and len(sid) == 36
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert [sid[:13] for sid in ids] == sorted(sid[:13] for sid in ids)  # millisecond prefix


def test_client_tool_call_id_is_76_chars_and_carries_the_session() -> None:
    tool_id = client_tool_call_id(SID)
    assert len(tool_id) == 76 and tool_id.startswith(f"tc-{SID}-")
    assert session_of_tool_call_id(tool_id) == SID
    assert client_tool_call_id(SID) != tool_id


@pytest.mark.parametrize("bad", ["", "abc", SID.upper(), SID.replace("-", ""), None])
def test_client_tool_call_id_rejects_a_bad_session(bad: object) -> None:
    with pytest.raises(ValueError, match="session id must be a lowercase hyphenated 36-char UUID"):
        client_tool_call_id(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tool_call_id", "session"),
    [
        (f"tc-{SID}-{uuid.uuid4()}", SID),
        (f"tc-{SID}", SID),  # exactly 39 chars
        (f"tc-{SID}-anything", SID),
        (f"tc-{SID.upper()}-x", SID),
        (f"tc-{SID[:-1]}", None),  # 38 chars
        (f"TC-{SID}-x", None),
        (f"tc-{SID.replace('-', '_')}-x", None),
        ("tc-" + "g" * 36 + "-x", None),
        ("call_abc", None),
        ("toolu_01ABC", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_session_of_tool_call_id(tool_call_id: object, session: str | None) -> None:
    assert session_of_tool_call_id(tool_call_id) == session


def test_upstream_tool_call_id_is_the_stateless_hash_of_13_5() -> None:
    client = client_tool_call_id(SID, "1")
    expected = "call_" + hashlib.sha256(client.encode()).hexdigest()[:32]
    assert upstream_tool_call_id(client) == expected
    assert len(expected) == 37 and upstream_tool_call_id(client) == upstream_tool_call_id(client)


def test_is_session_id() -> None:
    assert is_session_id(SID) and not is_session_id(SID.upper()) and not is_session_id(1)
