"""Redis faults: down at start (the server refuses to start), lost mid-run (503, then recovery)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.cli import main
from server.errors import StoreUnavailable
from server.fake_upstream import FakeUpstream, Reply
from server.loopback import LoopbackServer
from tests.conftest import KEY, gateway_settings
from tests.scale.conftest import worker_env
from tests.sessions.redis_support import RedisProcess, free_port

CHAT = "/control/chat/openai/v1/chat/completions"
HEADERS = {
    "Authorization": f"Bearer {KEY}",
    "X-Features": json.dumps({"agent_arch": "single-llm"}),
    "X-Config": json.dumps({"fsm": {"max_n_turns": 5}}),
}
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_serve_refuses_to_start_when_redis_is_down(
    fake_upstream_server: FakeUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    env = worker_env(fake_upstream_server, database_url=f"sqlite:///{tmp_path}/k.db", session_store=url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # In-process: `serve` checks the store before uvicorn starts anything, and returns.
    assert main(["serve", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "cannot start: session store redis://:***@127.0.0.1:" in err
    assert "is unavailable" in err and "hunter2" not in err
    assert not (tmp_path / "k.db").exists()  # refused before touching the key database


def test_serve_refuses_a_memory_store_for_several_workers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEQURITY_CONTROL_SESSION_STORE", "memory")
    assert main(["serve", "--workers", "2", "--port", str(free_port())]) == 2
    assert "cannot be shared by 2 workers" in capsys.readouterr().err


async def test_the_app_itself_refuses_to_start_when_redis_is_down(
    fake_upstream_server: FakeUpstream, tmp_path: Path
) -> None:
    """`uvicorn --factory server.app:create_app` users get the same refusal from the lifespan."""
    settings = gateway_settings(
        fake_upstream_server, tmp_path, session_store=f"redis://127.0.0.1:{free_port()}/0"
    )
    app = create_app(settings)
    with pytest.raises(StoreUnavailable, match="session store redis://127.0.0.1:.* is unavailable"):
        async with app.router.lifespan_context(app):
            pass


@pytest.mark.skipif(not RedisProcess.available(), reason="redis-server is not installed")
def test_redis_lost_mid_run_is_503_naming_the_store_then_recovers(
    fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    fake_upstream.default = Reply.text("ok")
    redis = RedisProcess(tmp_path).start()
    again = RedisProcess(tmp_path, port=redis.port)
    settings = gateway_settings(fake_upstream, tmp_path, session_store=redis.url)
    server = LoopbackServer(create_app(settings), timeout_graceful_shutdown=1).start()
    try:
        first = httpx.post(f"{server.url}{CHAT}", json=BODY, headers=HEADERS)
        sid = first.headers["x-session-id"]
        redis.kill()
        lost = httpx.post(f"{server.url}{CHAT}", json=BODY, headers={**HEADERS, "X-Session-ID": sid})
        assert lost.status_code == 503
        assert lost.json()["detail"].startswith(f"session store {redis.url} is unavailable")
        assert lost.json()["error"]["code"] == "store_unavailable"
        assert httpx.get(f"{server.url}/control/health").status_code == 503
        again.start()  # Redis is back, with its append-only file
        deadline = time.monotonic() + 10
        while httpx.get(f"{server.url}/control/health").status_code != 200:
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.05)
        back = httpx.post(f"{server.url}{CHAT}", json=BODY, headers={**HEADERS, "X-Session-ID": sid})
        assert back.status_code == 200 and back.headers["x-session-id"] == sid
        audit = httpx.get(f"{server.url}/control/v1/sessions/{sid}/audit", headers=HEADERS)
        assert audit.json() == {"session_id": sid, "records": []}  # live, uncorrupted, still ours
    finally:
        server.stop()
        redis.kill()
        again.kill()
