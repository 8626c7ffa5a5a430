"""Two server processes sharing Redis: sessions move between them, survive a SIGKILL, never run twice.

Single-LLM multi-turn sessions (X-Config fsm.max_n_turns) carry a turn counter and a pending
tool-call map; dual-LLM sessions carry their ledger. Both must survive a change of worker.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from server.audit import AuditLog
from server.fake_upstream import FakeUpstream, Reply, ToolCall
from server.keys import KeyStore
from server.keys.schema import make_engine
from server.sessions import Session
from server.sessions.redis import RedisSessionStore
from tests.conftest import KEY, OTHER_KEY
from tests.scale.conftest import Cluster

CHAT = "/control/chat/openai/v1/chat/completions"  # the scripted fake upstream
FAST_CHAT = "/control/chat/openrouter/v1/chat/completions"  # the fixed-reply upstream process
USER = [{"role": "user", "content": "hi"}]
SESSIONS = 200


def headers(*, turns: int = 5, session: str | None = None, key: str = KEY, **extra: str) -> dict[str, str]:
    h = {
        "Authorization": f"Bearer {key}",
        "X-Features": json.dumps({"agent_arch": "single-llm"}),
        "X-Config": json.dumps({"fsm": {"max_n_turns": turns}}),
        **extra,
    }
    if session:
        h["X-Session-ID"] = session
    return h


def chat(url: str, messages: list | None = None, model: str = "m", **kw: object) -> httpx.Response:
    return httpx.post(f"{url}{CHAT}", json={"model": model, "messages": messages or USER},
                      headers=headers(**kw), timeout=30)  # type: ignore[arg-type]


async def stored(cluster: Cluster, session_id: str) -> Session | None:
    store = RedisSessionStore.from_url(cluster.redis_url, prefix=cluster.prefix)
    try:
        return await store.get(session_id)
    finally:
        await store.aclose()


async def test_a_session_started_on_one_worker_continues_on_the_other(
    cluster: Cluster, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.default = Reply.text("ok")
    sid = chat(cluster.a.url, turns=3).headers["x-session-id"]
    second = chat(cluster.b.url, turns=3, session=sid)
    assert second.status_code == 200 and second.headers["x-session-id"] == sid
    session = await stored(cluster, sid)
    assert session is not None and session.turn == 2 and session.version == 1
    third = chat(cluster.a.url, turns=3, session=sid)
    assert third.headers["x-session-id"] == sid
    assert await stored(cluster, sid) is None  # turn 3 of 3 closed it, whichever worker served it


async def test_200_concurrent_sessions_across_both_workers(cluster: Cluster) -> None:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(n: int) -> tuple[str, str, int]:
            first, then = (cluster.a, cluster.b) if n % 2 else (cluster.b, cluster.a)
            body = {"model": "m", "messages": USER}
            r1 = await client.post(f"{first.url}{FAST_CHAT}", json=body, headers=headers(turns=3))
            sid = r1.headers["x-session-id"]
            r2 = await client.post(
                f"{then.url}{FAST_CHAT}", json=body, headers=headers(turns=3, session=sid)
            )
            return sid, r2.headers["x-session-id"], r2.status_code

        results = await asyncio.gather(*(one(n) for n in range(SESSIONS)))
    assert all(status == 200 for _, _, status in results)
    assert all(first == second for first, second, _ in results)
    assert len({sid for sid, _, _ in results}) == SESSIONS
    sessions = await asyncio.gather(*(stored(cluster, sid) for sid, _, _ in results[:50]))
    assert all(s is not None and (s.turn, s.version) == (2, 1) for s in sessions)


def test_two_concurrent_requests_on_one_session_one_wins_one_409(
    cluster: Cluster, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.default = Reply.text("ok")
    sid = chat(cluster.a.url).headers["x-session-id"]
    fake_upstream.script("slow", Reply.text("slow", delay=1.0))
    answers: dict[str, httpx.Response] = {}

    def send(name: str, url: str) -> None:
        answers[name] = chat(url, model="slow", session=sid)

    threads = [threading.Thread(target=send, args=(n, w.url)) for n, w in (("a", cluster.a), ("b", cluster.b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in answers.values())
    assert statuses == [200, 409]
    busy = next(r for r in answers.values() if r.status_code == 409)
    assert busy.json()["detail"] == f"session {sid} is busy"


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_metrics_counters_move_on_the_worker_that_served(cluster: Cluster, fake_upstream: FakeUpstream) -> None:
    fake_upstream.default = Reply.text("ok")
    name = "sequrity_control_requests_total"
    labels = tuple(sorted({"family": "chat", "provider": "openai", "format": "chat/completions",
                           "status": "200"}.items()))
    upstream = ("sequrity_control_upstream_duration_seconds_count",
                (("format", "chat/completions"), ("provider", "openai")))
    before = _samples(cluster.a.url)
    for _ in range(3):
        assert chat(cluster.a.url).status_code == 200
    after = _samples(cluster.a.url)
    assert after[(name, labels)] - before.get((name, labels), 0) == 3
    assert after[upstream] - before.get(upstream, 0) == 3


def test_audit_records_are_readable_only_by_the_owning_key(cluster: Cluster) -> None:
    keys = KeyStore(cluster.database_url)
    owner = keys.authenticate(KEY)
    keys.close()
    assert owner is not None
    sid = str(uuid.uuid4())
    engine = make_engine(cluster.database_url)

    async def write() -> None:  # as worker A's agent would; read back through worker B
        audit = AuditLog(engine)
        audit.record(session_id=sid, owner=owner.id, tool="send_email", verdict="soft_denied",
                     fired=["ask_first"])
        await audit.aclose()

    asyncio.run(write())
    engine.dispose()
    url = f"{cluster.b.url}/control/v1/sessions/{sid}/audit"
    mine = httpx.get(url, headers={"Authorization": f"Bearer {KEY}"})
    assert mine.status_code == 200 and mine.json()["records"][0]["verdict"] == "soft_denied"
    assert httpx.get(url, headers={"Authorization": f"Bearer {OTHER_KEY}"}).status_code == 404


def test_worker_logs_are_json_with_request_ids_and_never_hold_secrets(
    cluster: Cluster, fake_upstream: FakeUpstream
) -> None:
    byok = "sk-byok-do-not-log-0123456789"
    fake_upstream.default = Reply.error(401, "invalid x-api-key")
    assert chat(cluster.a.url, **{"X-Api-Key": byok}).status_code == 401
    assert chat(cluster.b.url, key="sqc_not_a_key_0123456789abcdefghij").status_code == 401
    for log in (cluster.a.log, cluster.b.log):
        text = log.read_text()
        for secret in (KEY, OTHER_KEY, byok, "sqc_not_a_key", "managed-openai-secret",
                       "managed-openrouter-secret"):
            assert secret not in text, f"{secret[:8]}... in {log.name}"
        entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        access = [e for e in entries if e["logger"] == "sequrity_control.access"]
        assert access and all(e.get("request_id") for e in access)


DUAL_SESSIONS = 20
PROGRAM = """```python
inbox = read_inbox()
address = parse_with_ai(query=f"Which address should get the summary? {inbox}", output_schema=str)
send_email(to=address, body=f"Summary: {inbox}")
final_return_value = "sent to " + address
```"""
TOOLS = [
    {"type": "function", "function": {"name": "read_inbox", "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "send_email", "parameters": {
        "type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}},
        "required": ["to", "body"]}}},
]


def _dual_headers(session: str | None = None) -> dict[str, str]:
    h = {
        "Authorization": f"Bearer {KEY}",
        "X-Features": json.dumps({"agent_arch": "dual-llm"}),
        "X-Config": json.dumps({"fsm": {"max_n_turns": 5}}),
    }
    return {**h, "X-Session-ID": session} if session else h


def _dual_responder(body: dict, _fmt: object) -> Reply | None:
    if body.get("model") == "planner-model":
        return Reply.text(PROGRAM)
    if body.get("model") == "quarantine-model":
        return Reply.text(json.dumps({"answer": "boss@company.com"}))
    return None


async def test_dual_llm_sessions_hop_between_workers_with_their_ledgers_intact(
    cluster: Cluster, fake_upstream: FakeUpstream
) -> None:
    """Each session: planner on one worker, tool result on the other, last result on the first."""
    fake_upstream.responder = _dual_responder
    user = [{"role": "user", "content": "Send a summary of my inbox to the address it mentions."}]

    async def one(client: httpx.AsyncClient, n: int) -> tuple[str, dict]:
        first_worker, other = (cluster.a, cluster.b) if n % 2 else (cluster.b, cluster.a)

        async def post(url: str, messages: list, session: str | None) -> httpx.Response:
            body = {"model": "planner-model,quarantine-model", "messages": messages, "tools": TOOLS}
            r = await client.post(f"{url}{CHAT}", json=body, headers=_dual_headers(session))
            assert r.status_code == 200, r.text
            return r

        first = await post(first_worker.url, user, None)
        sid = first.headers["x-session-id"]
        read = first.json()["choices"][0]["message"]["tool_calls"][0]
        history = [*user, {"role": "assistant", "content": "", "tool_calls": [read]},
                   {"role": "tool", "tool_call_id": read["id"], "content": "mail boss@company.com"}]
        second = await post(other.url, history, sid)
        send = second.json()["choices"][0]["message"]["tool_calls"][0]
        assert send["function"]["name"] == "send_email"
        history += [{"role": "assistant", "content": "", "tool_calls": [send]},
                    {"role": "tool", "tool_call_id": send["id"], "content": "sent"}]
        third = await post(first_worker.url, history, sid)
        assert third.headers["x-session-id"] == sid
        return sid, json.loads(third.json()["choices"][0]["message"]["content"])

    async with httpx.AsyncClient(timeout=60) as client:
        results = await asyncio.gather(*(one(client, n) for n in range(DUAL_SESSIONS)))
    assert len({sid for sid, _ in results}) == DUAL_SESSIONS
    for _, content in results:
        assert content["status"] == "success", content
        assert content["final_return_value"]["value"] == "sent to boss@company.com"
    session = await stored(cluster, results[0][0])
    assert session is not None and session.arch == "dual-llm"


async def test_sigkill_of_a_worker_between_two_requests_loses_nothing(
    cluster: Cluster, fake_upstream: FakeUpstream
) -> None:
    c = cluster.a  # the last test of the module: A is gone afterwards
    fake_upstream.responder = _dual_responder
    user = [{"role": "user", "content": "Send a summary of my inbox to the address it mentions."}]
    dual_body = {"model": "planner-model,quarantine-model", "messages": user, "tools": TOOLS}
    try:
        fake_upstream.script("m", Reply.tool_calls(ToolCall("lookup", {"q": 1})), Reply.text("done"))
        first = chat(c.url, turns=3)
        sid = first.headers["x-session-id"]
        call = first.json()["choices"][0]["message"]["tool_calls"][0]
        assert call["id"].startswith(f"tc-{sid}-")
        dual = httpx.post(f"{c.url}{CHAT}", json=dual_body, headers=_dual_headers(), timeout=30)
        read = dual.json()["choices"][0]["message"]["tool_calls"][0]
    finally:
        c.kill()  # SIGKILL: no shutdown, no cleanup
    messages = [*USER, {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": "42"}]
    # No X-Session-ID: worker B finds the session from the tool-call id alone (spec 6.3).
    result = chat(cluster.b.url, messages, turns=3)
    assert result.status_code == 200 and result.headers["x-session-id"] == sid
    assert result.json()["choices"][0]["message"]["content"] == "done"
    upstream_ids = [m.get("tool_call_id") for m in fake_upstream.last_request.json["messages"]]
    assert upstream_ids[-1].startswith("call_")  # the pending-call map came from Redis
    session = await stored(cluster, sid)
    assert session is not None and session.turn == 1 and session.pending_calls == ()
    # The dual-LLM session suspended on A resumes on B from its ledger, to the end.
    history = [*user, {"role": "assistant", "content": "", "tool_calls": [read]},
               {"role": "tool", "tool_call_id": read["id"], "content": "mail boss@company.com"}]
    second = httpx.post(f"{cluster.b.url}{CHAT}", json={**dual_body, "messages": history},
                        headers=_dual_headers(), timeout=30)  # found by the tool-call id
    send = second.json()["choices"][0]["message"]["tool_calls"][0]
    history += [{"role": "assistant", "content": "", "tool_calls": [send]},
                {"role": "tool", "tool_call_id": send["id"], "content": "sent"}]
    third = httpx.post(f"{cluster.b.url}{CHAT}", json={**dual_body, "messages": history},
                       headers=_dual_headers(), timeout=30)
    content = json.loads(third.json()["choices"][0]["message"]["content"])
    assert content["final_return_value"]["value"] == "sent to boss@company.com"
    assert third.headers["x-session-id"] == dual.headers["x-session-id"]
