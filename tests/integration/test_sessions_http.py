"""Sessions over HTTP: ids, lifetime by max_n_turns, leases (409), pending calls, failures that lose nothing."""

from __future__ import annotations

import json
import threading
import uuid

import httpx

from server.fake_upstream import FakeUpstream, Reply, ToolCall
from tests.conftest import OTHER_KEY

CHAT = "chat/openai/v1/chat/completions"
USER = [{"role": "user", "content": "hi"}]


def headers(gateway, *, turns: int | None = None, session: str | None = None, key: str | None = None) -> dict[str, str]:
    h = {
        "Authorization": f"Bearer {key or gateway.key}",
        "X-Features": json.dumps({"agent_arch": "single-llm"}),
    }
    if turns is not None:
        h["X-Config"] = json.dumps({"fsm": {"max_n_turns": turns}})
    if session:
        h["X-Session-ID"] = session
    return h


def chat(gateway, messages=USER, **kw) -> httpx.Response:
    return httpx.post(
        f"{gateway.control}/{CHAT}", json={"model": "m", "messages": messages}, headers=headers(gateway, **kw), timeout=30
    )


def test_single_turn_session_is_gone_after_the_answer(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("one"), Reply.text("two"))
    first = chat(gateway)
    sid = first.headers["x-session-id"]
    assert uuid.UUID(sid) and sid == sid.lower()
    # Reusing the id of a finished session silently starts a new one (spec 6.3).
    second = chat(gateway, session=sid)
    assert second.status_code == 200 and second.headers["x-session-id"] != sid


def test_multi_turn_session_continues_by_header(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("one"), Reply.text("two"), Reply.text("three"))
    sid = chat(gateway, turns=2).headers["x-session-id"]
    assert chat(gateway, turns=2, session=sid).headers["x-session-id"] == sid
    # Two turns done: the session is closed, a third request starts afresh.
    assert chat(gateway, turns=2, session=sid).headers["x-session-id"] != sid


def test_unknown_and_foreign_session_ids_start_new_sessions(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("a"), Reply.text("b"), Reply.text("c"))
    sid = chat(gateway, turns=5).headers["x-session-id"]
    unknown = str(uuid.uuid4())
    assert chat(gateway, session=unknown).headers["x-session-id"] not in (unknown, sid)
    other = chat(gateway, session=sid, key=OTHER_KEY)
    assert other.status_code == 200 and other.headers["x-session-id"] != sid


def test_busy_session_gets_409_before_any_byte(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("start"), Reply.text("slow", delay=1.5), Reply.text("after"))
    sid = chat(gateway, turns=5).headers["x-session-id"]
    slow: dict[str, httpx.Response] = {}
    thread = threading.Thread(target=lambda: slow.setdefault("r", chat(gateway, turns=5, session=sid)))
    thread.start()
    fake_upstream_wait_for_requests(fake_upstream, 2)
    busy = chat(gateway, turns=5, session=sid)
    thread.join()
    assert busy.status_code == 409 and f"session {sid} is busy" in busy.json()["detail"]
    assert slow["r"].status_code == 200
    # The lease is released: the session continues.
    assert chat(gateway, turns=5, session=sid).headers["x-session-id"] == sid


def fake_upstream_wait_for_requests(fake: FakeUpstream, n: int) -> None:
    import time

    deadline = time.monotonic() + 5
    while len(fake.requests) < n and time.monotonic() < deadline:
        time.sleep(0.01)


def _tool_turn(gateway, fake_upstream: FakeUpstream) -> tuple[str, dict]:
    fake_upstream.script("m", Reply.tool_calls(ToolCall("f", {"x": 1})))
    first = chat(gateway)
    call = first.json()["choices"][0]["message"]["tool_calls"][0]
    return first.headers["x-session-id"], call


def test_tool_result_for_a_call_that_is_not_pending_is_400(gateway, fake_upstream: FakeUpstream) -> None:
    sid, call = _tool_turn(gateway, fake_upstream)
    bogus = f"tc-{sid}-{uuid.uuid4()}"
    messages = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [{**call, "id": bogus}]},
        {"role": "tool", "tool_call_id": bogus, "content": "r"},
    ]
    r = chat(gateway, messages)
    assert r.status_code == 400
    assert "does not answer a pending call" in r.json()["detail"] and call["id"] in r.json()["detail"]
    # ...and the session is exactly as it was: the real result still continues it.
    fake_upstream.script("m", Reply.text("done"))
    messages[-2]["tool_calls"][0]["id"] = call["id"]
    messages[-1]["tool_call_id"] = call["id"]
    ok = chat(gateway, messages)
    assert ok.status_code == 200 and ok.headers["x-session-id"] == sid


def test_failed_upstream_call_leaves_the_session_unchanged(gateway, fake_upstream: FakeUpstream) -> None:
    sid, call = _tool_turn(gateway, fake_upstream)
    messages = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "r"},
    ]
    fake_upstream.script("m", Reply.error(500, "flaky"), Reply.text("done"))
    assert chat(gateway, messages).status_code == 502
    retry = chat(gateway, messages)
    assert retry.status_code == 200 and retry.headers["x-session-id"] == sid


def test_session_id_header_on_streams(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("streamed"))
    with httpx.stream(
        "POST", f"{gateway.control}/{CHAT}", json={"model": "m", "messages": USER, "stream": True},
        headers=headers(gateway),
    ) as r:
        assert len(r.headers["x-session-id"]) == 36
        r.read()
