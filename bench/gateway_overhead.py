"""Gateway overhead: an instant fake upstream called directly, through our server, and through LiteLLM.

Run: `.venv/bin/python bench/gateway_overhead.py [--requests N] [--runs R] [--no-litellm] [--guards]`.
Each path gets the same fixed request count at concurrency 1 and 32, every load worker on its own
connection; paths are interleaved within each run and medians are taken over the runs. Our server
is pinned to core 0, the upstream and the load generator to core 1 (where `taskset` exists).
"Added latency" = p50 through the gateway - p50 direct, in the same run.

`--guards` adds "sequrity+guards": the same single-LLM path with `pii_redaction`, `url_blocker` and
`file_blocker` (local guards only, no tag LLM) on a conversation carrying one tool call and its
~1 KB result with an e-mail, a phone number, URLs and a path (`GUARDED_BODY`); it prints the added
p50 latency over the plain passthrough (target < 3 ms at concurrency 1). The fixed-reply upstream
answers with text, so this measures the result side (guards on every result in the request); the
argument side runs the same `run_guards` on a call's arguments.

LiteLLM's proxy is measured when `litellm[proxy]` installs into a throwaway venv
(`/tmp/litellm-bench-venv`); otherwise its column says why it is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY = "sqc_bench_key_0123456789abcdef0123456789"
TARGET_ADDED_P50_MS = 2.0
TARGET_THROUGHPUT_VS_DIRECT = 0.25
TARGET_THROUGHPUT_VS_LITELLM = 3.0
LITELLM_VENV = Path("/tmp/litellm-bench-venv")
LITELLM_KEY = "sk-bench-litellm-master-key-0123456789"

BODY = {"model": "bench-model", "messages": [{"role": "user", "content": "What is 2+2?"}]}
TARGET_GUARDS_ADDED_P50_MS = 3.0
GUARD_FEATURES = {
    "agent_arch": "single-llm",
    "content_classifiers": [{"name": "pii_redaction"}],
    "content_blockers": [{"name": "url_blocker"}, {"name": "file_blocker"}],
}
_RESULT = (
    "Ticket 4711 (opened 2024-03-15): the customer Jane Roe wrote from jane.roe@example.org and asked for a "
    "call back on +1 415 555 2671 before 16:00. She attached the export from "
    "https://portal.example.com/exports/2024/q1?id=93 and said the old link www.example.net/old no longer "
    "works. Logs are in /var/log/app/export.log and ~/exports/q1.csv; the invoice total was 8,750.00 and "
    "the release was v2.4.1. The research group shared notes on summarisation quality; reviewers preferred "
    "shorter, plainer answers, and the retro moved to room 3.14 on the third floor next to the kitchen. "
) * 2
GUARDED_BODY = {
    "model": "bench-model",
    "messages": [
        {"role": "user", "content": "Summarise the ticket."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "read_ticket", "arguments": '{"id": 4711}'}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": _RESULT},
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], core: int) -> list[str]:
    return ["taskset", "-c", str(core), *cmd] if shutil.which("taskset") else cmd


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


@dataclass
class Path_:
    name: str
    url: str
    headers: dict[str, str]
    body: dict | None = None  # None: BODY


@dataclass
class Figures:
    p50_ms: float
    p99_ms: float
    rps: float


async def load(path: Path_, *, requests: int, concurrency: int) -> Figures:
    latencies: list[float] = []
    per_worker = requests // concurrency

    async def worker() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
            for _ in range(per_worker):
                t0 = time.perf_counter()
                r = await client.post(path.url, json=path.body or BODY, headers=path.headers)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(f"{path.name}: HTTP {r.status_code} {r.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return Figures(
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000,
        rps=len(latencies) / elapsed,
    )


def start_litellm(upstream: str, port: int, workdir: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    python = LITELLM_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        got = subprocess.run(
            [str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"],
            capture_output=True,
            timeout=900,
        )
        if got.returncode != 0:
            shutil.rmtree(LITELLM_VENV, ignore_errors=True)
            return None, "litellm[proxy] did not install: " + got.stderr.decode()[-200:]
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: bench-model\n"
        "    litellm_params:\n"
        "      model: openai/bench-model\n"
        f"      api_base: {upstream}/v1\n"
        "      api_key: fake\n"
        "litellm_settings:\n  telemetry: false\n"
    )
    env = {**os.environ, "LITELLM_LOG": "ERROR", "NO_DOCS": "True", "LITELLM_MASTER_KEY": LITELLM_KEY}
    proc = subprocess.Popen(
        pinned([str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--port", str(port)], 0),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/health/liveliness", timeout=120)
    except RuntimeError as err:
        proc.terminate()
        return None, str(err)
    return proc, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1920)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--guards", action="store_true", help="add the sequrity+guards path")
    args = parser.parse_args()

    procs: list[subprocess.Popen[bytes]] = []
    workdir = Path(tempfile.mkdtemp(prefix="sqc-bench-"))
    up_port, gw_port, ll_port = free_port(), free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    try:
        procs.append(
            subprocess.Popen(
                pinned([sys.executable, "-m", "server.fake_upstream", "--port", str(up_port)], 1),
                cwd=ROOT,
            )
        )
        env = {
            **os.environ,
            "SEQURITY_CONTROL_API_KEYS": KEY,
            "SEQURITY_CONTROL_DATABASE_URL": f"sqlite:///{workdir}/bench.db",
            "OPENROUTER_BASE_URL": f"{upstream}/api/v1",
            "OPENROUTER_API_KEY": "fake-managed-key",
        }
        procs.append(
            subprocess.Popen(
                pinned(
                    [sys.executable, "-m", "server.cli", "serve", "--port", str(gw_port),
                     "--log-level", "warning"],
                    0,
                ),
                cwd=ROOT,
                env=env,
            )
        )
        wait_ready(f"{upstream}/v1/models")
        wait_ready(f"http://127.0.0.1:{gw_port}/health")
        paths = [
            Path_("direct", f"{upstream}/api/v1/chat/completions", {"Authorization": "Bearer x"}),
            Path_(
                "sequrity",
                f"http://127.0.0.1:{gw_port}/control/chat/openrouter/v1/chat/completions",
                {
                    "Authorization": f"Bearer {KEY}",
                    "X-Features": json.dumps({"agent_arch": "single-llm"}),
                    "X-Policy": json.dumps({"codes": {"code": "", "language": "sqrt"}}),
                },
            ),
        ]
        if args.guards:
            paths.append(Path_(
                "sequrity+guards",
                paths[1].url,
                {**paths[1].headers, "X-Features": json.dumps(GUARD_FEATURES)},
                GUARDED_BODY,
            ))
        litellm_note = "skipped (--no-litellm)"
        if not args.no_litellm:
            proc, litellm_note = start_litellm(upstream, ll_port, workdir)
            if proc is not None:
                procs.append(proc)
                paths.append(
                    Path_("litellm", f"http://127.0.0.1:{ll_port}/v1/chat/completions",
                          {"Authorization": f"Bearer {LITELLM_KEY}"})
                )
        run_benchmark(paths, args.requests, args.runs, litellm_note)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def run_benchmark(paths: list[Path_], requests: int, runs: int, litellm_note: str) -> None:
    results: dict[tuple[str, int], list[Figures]] = {}
    for path in paths:  # warm up every path (connections, imports, caches)
        asyncio.run(load(path, requests=64, concurrency=4))
    for _ in range(runs):
        for concurrency in (1, 32):
            n = requests if concurrency == 32 else max(requests // 4, 100)
            for path in paths:  # interleaved: every path in every run
                figures = asyncio.run(load(path, requests=n, concurrency=concurrency))
                results.setdefault((path.name, concurrency), []).append(figures)

    def med(name: str, c: int, attr: str) -> float:
        return statistics.median(getattr(f, attr) for f in results[(name, c)])

    print(f"\n{'path':<16} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for (name, c) in results:
        print(f"{name:<16} {c:>4} {med(name, c, 'p50_ms'):>8.2f} {med(name, c, 'p99_ms'):>8.2f} "
              f"{med(name, c, 'rps'):>8.0f}")
    added = statistics.median(
        s.p50_ms - d.p50_ms for s, d in zip(results[("sequrity", 1)], results[("direct", 1)])
    )
    ratio_direct = med("sequrity", 32, "rps") / med("direct", 32, "rps")
    print(f"\nadded p50 latency at concurrency 1: {added:.2f} ms "
          f"(target < {TARGET_ADDED_P50_MS} ms; ratio {added / TARGET_ADDED_P50_MS:.2f})")
    print(f"throughput at concurrency 32 vs direct: {ratio_direct:.2f}x "
          f"(target >= {TARGET_THROUGHPUT_VS_DIRECT}x; ratio {ratio_direct / TARGET_THROUGHPUT_VS_DIRECT:.2f})")
    if ("sequrity+guards", 1) in results:
        added_guards = statistics.median(
            g.p50_ms - s.p50_ms for g, s in zip(results[("sequrity+guards", 1)], results[("sequrity", 1)])
        )
        print(f"guards added p50 latency over the plain passthrough at concurrency 1: {added_guards:.2f} ms "
              f"(target < {TARGET_GUARDS_ADDED_P50_MS} ms; ratio {added_guards / TARGET_GUARDS_ADDED_P50_MS:.2f})")
    if ("litellm", 32) in results:
        added_ll = statistics.median(
            s.p50_ms - d.p50_ms for s, d in zip(results[("litellm", 1)], results[("direct", 1)])
        )
        ratio_ll = med("sequrity", 32, "rps") / med("litellm", 32, "rps")
        print(f"litellm added p50 latency at concurrency 1: {added_ll:.2f} ms")
        print(f"throughput at concurrency 32 vs litellm: {ratio_ll:.2f}x "
              f"(target >= {TARGET_THROUGHPUT_VS_LITELLM}x; ratio {ratio_ll / TARGET_THROUGHPUT_VS_LITELLM:.2f})")
    else:
        print(f"litellm: {litellm_note}")


if __name__ == "__main__":
    main()
