"""`serve --workers 2` on one machine: SQLite (WAL) sessions shared by uvicorn workers, summed metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.fake_upstream import FakeUpstream, Reply
from tests.conftest import KEY
from tests.scale.conftest import Worker, worker_env

CHAT = "/control/chat/openai/v1/chat/completions"
SESSIONS = 20


@pytest.fixture(scope="module")
def two_workers(
    fake_upstream_server: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    tmp = tmp_path_factory.mktemp("sqlite-workers")
    env = worker_env(fake_upstream_server, database_url=f"sqlite:///{tmp}/control.db", session_store="")
    worker = Worker(env=env, log=tmp / "serve.log", workers=2).spawn()
    try:
        yield worker.wait_ready()
    finally:
        worker.stop()


def _requests_total(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "sequrity_control_requests_total" and s.labels.get("family") == "chat"
    )


async def test_sessions_continue_across_uvicorn_workers_and_metrics_sum_them(
    two_workers: Worker, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.default = Reply.text("ok")
    before = _requests_total(two_workers.url)
    headers = {
        "Authorization": f"Bearer {KEY}",
        "X-Features": json.dumps({"agent_arch": "single-llm"}),
        "X-Config": json.dumps({"fsm": {"max_n_turns": 3}}),
    }
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    # A fresh connection per request, so the kernel spreads them over both workers.
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:

        async def session() -> list[str]:
            ids = []
            for _ in range(3):
                extra = {"X-Session-ID": ids[0]} if ids else {}
                r = await client.post(f"{two_workers.url}{CHAT}", json=body, headers={**headers, **extra})
                assert r.status_code == 200
                ids.append(r.headers["x-session-id"])
            return ids

        runs = await asyncio.gather(*(session() for _ in range(SESSIONS)))
    assert all(len(set(ids)) == 1 for ids in runs)
    assert len({ids[0] for ids in runs}) == SESSIONS
    # Every worker's requests are counted, whichever worker answers the scrape.
    assert _requests_total(two_workers.url) - before == SESSIONS * 3
    pids = {line for line in two_workers.log.read_text().splitlines() if "Started server process" in line}
    assert len(pids) == 2
