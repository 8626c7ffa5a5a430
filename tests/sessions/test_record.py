"""The Session record: plain JSON, frozen, validated on construction."""

from __future__ import annotations

import dataclasses
import json

import pytest

from server.sessions import Session

SID = "0192f1c4-7a2b-7c3d-8e4f-0123456789ab"


def test_new_session_defaults() -> None:
    session = Session.new(owner="key-1", arch="dual-llm", now=12.5)
    assert (session.version, session.turn, session.pending_calls, session.state) == (0, 0, (), {})
    assert session.session_meta == {"producers": [], "consumers": [], "tags": []}
    assert session.created_at == session.updated_at == 12.5 and session.lease is None


def test_json_round_trip_is_plain_data_without_the_lease() -> None:
    session = dataclasses.replace(
        Session.new(owner="key-1", arch="single-llm", session_id=SID, now=1.0),
        turn=2,
        pending_calls=("tc-1",),
        state={"ids": {"tc-1": "call_1"}, "ledger": [None, True, 1.5, "ü"]},
        lease="token",
    )
    data = json.loads(session.to_json())
    assert data["pending_calls"] == ["tc-1"] and "lease" not in data
    again = Session.from_json(session.to_json())
    assert again == session and again.lease is None and again.pending_calls == ("tc-1",)


def test_frozen() -> None:
    session = Session.new(owner="key-1", arch="single-llm")
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.turn = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "nope"}, "Session.id must be a lowercase hyphenated UUID, got 'nope'"),
        ({"owner": ""}, "Session.owner must be a non-empty key id"),
        ({"arch": "triple"}, "Session.arch must be one of single-llm, dual-llm, got 'triple'"),
    ],
)
def test_invalid_fields_are_named(changes: dict[str, object], message: str) -> None:
    data = {"id": SID, "owner": "key-1", "arch": "single-llm", **changes}
    with pytest.raises(ValueError) as caught:
        Session(**data)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "stored session must be a JSON object, got list"),
        ('{"id": "x"}', "stored session lacks owner, arch"),
        (
            json.dumps({"id": SID, "owner": "k", "arch": "single-llm", "extra": 1}),
            "stored session has unknown fields extra",
        ),
    ],
)
def test_from_json_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Session.from_json(text)
    assert str(caught.value) == message
