"""Scale-out figures: passthrough throughput with 1 and 2 workers on SQLite and Redis, and the store cost.

Run: `.venv/bin/python bench/scale.py [--seconds S] [--concurrency C] [--redis URL] [--skip-http]`.

1. Throughput: `sequrity-control serve --workers N` in front of the instant fake upstream
   (`python -m server.fake_upstream`), driven by a closed loop of C clients for S seconds. Each
   client runs single-LLM sessions of 5 turns (X-Session-ID), so 4 of every 5 requests lease,
   load and save their session in the store and the 5th deletes it. On a 2-core machine the
   server workers, the upstream and the load generator share the cores, so the 1 -> 2 worker
   ratio shows overhead, not scaling.
2. Store cost: lease + load (`acquire`) + `save` of a session whose state holds a ledger of 20
   tool calls with 1 KB results each (~21 KB of JSON), measured directly on each store (target:
   median under 1 ms on Redis over loopback); the `release` that ends a request is shown apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.sessions import MemorySessionStore, Session, SqliteSessionStore  # noqa: E402
from server.sessions.redis import RedisSessionStore  # noqa: E402
from server.sessions.store import SessionStore  # noqa: E402

KEY = "sqc_bench_key_0123456789abcdef0123456789"
TARGET_STORE_MEDIAN_MS = 1.0
TURNS = 5
LEDGER_CALLS = 20
RESULT_BYTES = 1024
CHAT = "/control/chat/openai/v1/chat/completions"
BODY = {"model": "bench-model", "messages": [{"role": "user", "content": "What is 2+2?"}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/control/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


@dataclass
class Throughput:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


async def drive(url: str, *, seconds: float, concurrency: int) -> Throughput:
    latencies: list[float] = []
    errors = 0
    # Clients first (each builds an SSL context, slow on a busy machine), then the clock.
    clients = [httpx.AsyncClient(timeout=30, verify=False) for _ in range(concurrency)]
    stop_at = time.perf_counter() + seconds
    base = {
        "Authorization": f"Bearer {KEY}",
        "X-Features": json.dumps({"agent_arch": "single-llm"}),
        "X-Config": json.dumps({"fsm": {"max_n_turns": TURNS}}),
    }

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors
        session: str | None = None
        turn = 0
        while time.perf_counter() < stop_at:
            headers = {**base, "X-Session-ID": session} if session else base
            start = time.perf_counter()
            r = await client.post(f"{url}{CHAT}", json=BODY, headers=headers)
            latencies.append(time.perf_counter() - start)
            if r.status_code != 200:
                errors += 1
                session, turn = None, 0
                continue
            turn += 1
            session = None if turn == TURNS else r.headers["x-session-id"]
            turn %= TURNS

    began = time.perf_counter()
    try:
        await asyncio.gather(*(client_loop(c) for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]
    return Throughput(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[int(len(ordered) * 0.99) - 1] * 1000,
        errors=errors,
    )


def run_server(*, workers: int, store: str, upstream: str, tmp: Path, prefix: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEQURITY_CONTROL_", "OPENAI_"))}
    env.update(
        SEQURITY_CONTROL_API_KEYS=KEY,
        SEQURITY_CONTROL_DATABASE_URL=f"sqlite:///{tmp}/control-{port}.db",
        SEQURITY_CONTROL_SESSION_STORE=store,
        SEQURITY_CONTROL_REDIS_PREFIX=prefix,
        SEQURITY_CONTROL_LOG_FORMAT="json",
        OPENAI_BASE_URL=f"{upstream}/v1",
        OPENAI_API_KEY="bench",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    return proc, url


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)


def throughput_table(args: argparse.Namespace, tmp: Path) -> None:
    upstream = subprocess.Popen(
        [sys.executable, "-m", "server.fake_upstream", "--port", "0", "--reply-text", "4"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert upstream.stdout is not None
    upstream_url = upstream.stdout.readline().strip().rsplit(" ", 1)[-1]
    prefix = f"sqc-bench-{secrets.token_hex(4)}:"
    print(f"\nPassthrough throughput: {args.concurrency} clients, {args.seconds:.0f} s each, "
          f"sessions of {TURNS} turns, {os.cpu_count()} cores shared by everything")
    print(f"{'store':<8}{'workers':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs 1 worker':>13}")
    try:
        for store_name, store in (("sqlite", f"sqlite:///{tmp}/sessions.db"), ("redis", args.redis)):
            base: float | None = None
            for workers in (1, 2):
                proc, url = run_server(workers=workers, store=store, upstream=upstream_url, tmp=tmp, prefix=prefix)
                try:
                    asyncio.run(drive(url, seconds=1.0, concurrency=args.concurrency))  # warm-up
                    figures = asyncio.run(drive(url, seconds=args.seconds, concurrency=args.concurrency))
                finally:
                    stop(proc)
                base = base or figures.rps
                print(f"{store_name:<8}{workers:>8}{figures.rps:>10.0f}{figures.p50_ms:>9.2f}"
                      f"{figures.p99_ms:>9.2f}{figures.errors:>8}{figures.rps / base:>12.2f}x")
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
        _delete_prefix(args.redis, prefix)


def _delete_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


async def store_cost(store: SessionStore, *, rounds: int) -> tuple[list[float], list[float]]:
    """(lease + load + save, release) timings per round, on a session holding the ledger."""
    ledger = [{"call": f"tool_{n}", "args": {"n": n}, "result": "x" * RESULT_BYTES} for n in range(LEDGER_CALLS)]
    created = await store.create(Session.new(owner="bench", arch="dual-llm"))
    session = await store.save(replace(created, state={"ledger": ledger}))
    await store.release(session.id, lease=session.lease)
    work, release = [], []
    for n in range(rounds):
        start = time.perf_counter()
        leased = await store.acquire(session.id, owner="bench")
        assert leased is not None
        saved = await store.save(replace(leased, turn=n))
        saved_at = time.perf_counter()
        await store.release(saved.id, lease=saved.lease)
        work.append(saved_at - start)
        release.append(time.perf_counter() - saved_at)
    await store.delete(session.id)
    return work, release


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q) - 1)] * 1000


def store_table(args: argparse.Namespace, tmp: Path) -> None:
    prefix = f"sqc-bench-{secrets.token_hex(4)}:"
    stores: list[tuple[str, SessionStore]] = [
        ("memory", MemorySessionStore()),
        ("sqlite", SqliteSessionStore(tmp / "cost.db")),
        ("redis", RedisSessionStore.from_url(args.redis, prefix=prefix)),
    ]
    size = len(json.dumps([{"result": "x" * RESULT_BYTES}] * LEDGER_CALLS))
    print(f"\nSession store cost per request, ledger of {LEDGER_CALLS} calls x {RESULT_BYTES} B "
          f"(~{size // 1024} KB), {args.rounds} rounds; lease+load+save = acquire + save")
    print(f"{'store':<8}{'l+l+s p50':>11}{'p99':>8}{'release p50':>13}{'target':>8}{'p50/target':>12}")
    for name, store in stores:
        work, release = asyncio.run(_measure(store, args.rounds))
        p50 = _p(work, 0.5)
        target = f"{TARGET_STORE_MEDIAN_MS:.1f}" if name == "redis" else "-"
        ratio = f"{p50 / TARGET_STORE_MEDIAN_MS:.2f}" if name == "redis" else "-"
        print(f"{name:<8}{p50:>11.3f}{_p(work, 0.99):>8.3f}{_p(release, 0.5):>13.3f}{target:>8}{ratio:>12}")


async def _measure(store: SessionStore, rounds: int) -> tuple[list[float], list[float]]:
    try:
        await store_cost(store, rounds=50)  # warm-up: connections, scripts loaded
        return await store_cost(store, rounds=rounds)
    finally:
        await store.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-http", action="store_true", help="only the store cost")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sqc-bench-") as tmp:
        store_table(args, Path(tmp))
        if not args.skip_http:
            throughput_table(args, Path(tmp))


if __name__ == "__main__":
    main()
