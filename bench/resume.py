"""Server CPU per request when a dual-LLM attempt resumes with 20 recorded tool calls.

Run: `.venv/bin/python bench/resume.py [--sessions N]`.
A program calls a client tool 20 times; each request answers one call and the server replays the
program from the top with the ledger. The figure is the CPU time of the request that answers the
20th call (replaying 20 recorded calls, then finishing), measured with `time.process_time()` around
the server's ASGI app itself (the session store's thread included, the HTTP client excluded).
The upstream (the planner) answers instantly and is called once per session, before the measure.
Target: median under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from server.app import create_app
from server.fake_upstream import FakeUpstream, Reply
from server.settings import Settings

TARGET_MS = 5.0
KEY = "sqc_bench_resume_0123456789abcdefghijklmnop"
CALLS = 20
PROGRAM = f"""```python
total = 0
for i in range({CALLS}):
    r = fetch(i=i)
    total = total + len(str(r))
final_return_value = total
```"""
TOOLS = [{"type": "function", "function": {"name": "fetch", "parameters": {
    "type": "object", "properties": {"i": {"type": "integer"}}}}}]
HEADERS = {
    "Authorization": f"Bearer {KEY}",
    "X-Features": json.dumps({"agent_arch": "dual-llm"}),
    "X-Config": json.dumps({"fsm": {"max_n_turns": 2}}),
}
RESULT = "x" * 1024  # a 1 KB tool result


class CpuMeter:
    """ASGI wrapper: the process CPU time spent inside the app during the last request."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        started = time.process_time()
        await self.app(scope, receive, send)  # type: ignore[operator]
        if scope["type"] == "http":
            self.last = time.process_time() - started


async def one_session(client: httpx.AsyncClient, meter: CpuMeter) -> float:
    messages: list[dict] = [{"role": "user", "content": "sum the twenty results"}]
    body = {"model": "planner-model,quarantine-model", "messages": messages, "tools": TOOLS}
    r = await client.post("/control/chat/openai/v1/chat/completions", json=body, headers=HEADERS)
    session = r.headers["x-session-id"]
    cpu = 0.0
    for n in range(CALLS):
        call = r.json()["choices"][0]["message"]["tool_calls"][0]
        messages += [{"role": "assistant", "content": "", "tool_calls": [call]},
                     {"role": "tool", "tool_call_id": call["id"], "content": RESULT}]
        r = await client.post("/control/chat/openai/v1/chat/completions", json=body,
                              headers={**HEADERS, "X-Session-ID": session})
        cpu = meter.last
        assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["finish_reason"] == "stop", r.text
    return cpu * 1000  # the last request: 20 recorded calls replayed


async def main(sessions: int) -> None:
    with FakeUpstream(default=Reply.text(PROGRAM)) as fake, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            api_keys=KEY,
            database_url=f"sqlite:///{Path(tmp)}/keys.db",
            openai_base_url=fake.openai_base_url,
            openai_api_key="fake",
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            meter = CpuMeter(app)
            transport = httpx.ASGITransport(app=meter)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=30) as client:
                await one_session(client, meter)  # warm up
                figures = [await one_session(client, meter) for _ in range(sessions)]
    median = statistics.median(figures)
    print(f"resume with {CALLS} recorded tool calls (1 KB results), SQLite session store:")
    print(f"  server CPU per request: median {median:.2f} ms, min {min(figures):.2f} ms, max {max(figures):.2f} ms"
          f" over {sessions} sessions")
    print(f"  target < {TARGET_MS} ms; ratio {median / TARGET_MS:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    asyncio.run(main(parser.parse_args().sessions))
