"""Real server processes (`python -m server.cli serve`) sharing one Redis and one key database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from server.fake_upstream import FakeUpstream
from tests.conftest import KEY, OTHER_KEY
from tests.sessions.redis_support import delete_prefix, free_port, redis_url_or_skip_reason, unique_prefix

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 90.0  # imports take seconds; much longer on a busy 2-core machine
# Variables of the outer environment that would change what the workers do.
_OURS = ("SEQURITY_CONTROL_", "OPENAI_", "OPENROUTER_", "ANTHROPIC_", "AZURE_OPENAI_", "OTEL_",
         "PROMETHEUS_MULTIPROC_DIR")


def worker_env(fake: FakeUpstream, *, database_url: str, session_store: str, prefix: str = "",
               **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(
        SEQURITY_CONTROL_API_KEYS=f"{KEY},{OTHER_KEY}",
        SEQURITY_CONTROL_DATABASE_URL=database_url,
        SEQURITY_CONTROL_SESSION_STORE=session_store,
        SEQURITY_CONTROL_UPSTREAM_TIMEOUT_SECONDS="10",
        OPENAI_BASE_URL=fake.openai_base_url,
        OPENAI_API_KEY="managed-openai-secret",
        ANTHROPIC_BASE_URL=fake.anthropic_base_url,
        ANTHROPIC_API_KEY="managed-anthropic-secret",
        PYTHONUNBUFFERED="1",
    )
    if prefix:
        env["SEQURITY_CONTROL_REDIS_PREFIX"] = prefix
    env.update(extra)
    return env


@dataclass
class Worker:
    """One `sequrity-control serve` process (its own process group), logging to `log`."""

    env: dict[str, str]
    log: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> Worker:
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port),
                   "--workers", str(self.workers)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=out,
                                         start_new_session=True)
        return self

    def wait_ready(self) -> Worker:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log.read_text()}")
            started = self.log.read_text().count("Application startup complete")
            try:
                healthy = httpx.get(f"{self.url}/control/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy and started >= self.workers:  # every uvicorn worker is serving
                return self
            time.sleep(0.05)
        raise RuntimeError(f"worker on {self.port} not ready:\n{self.log.read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the worker's process group (uvicorn's supervisor and its workers)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture(scope="module")
def redis_url() -> str:
    url, reason = redis_url_or_skip_reason()
    if url is None:
        pytest.skip(reason)
    return url


@dataclass
class Cluster:
    """Workers A and B; the module's last test SIGKILLs A."""

    a: Worker
    b: Worker
    prefix: str
    redis_url: str
    database_url: str


class FixedUpstream:
    """`python -m server.fake_upstream`: an instant fixed-reply upstream in its own process.

    Load tests use it (as the OpenRouter upstream) so the pytest process, which also runs the
    scripted fake and the load generator, is not the bottleneck.
    """

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.fake_upstream", "--port", "0", "--reply-text", "ok"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip().rsplit(" ", 1)[-1]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(
    redis_url: str, fake_upstream_server: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two server processes on two ports, one Redis (a prefix of their own), one key database."""
    tmp = tmp_path_factory.mktemp("cluster")
    prefix = unique_prefix("scale")
    database_url = f"sqlite:///{tmp}/control.db"
    fixed = FixedUpstream()
    env = worker_env(fake_upstream_server, database_url=database_url, session_store=redis_url,
                     prefix=prefix, OPENROUTER_BASE_URL=f"{fixed.url}/api/v1",
                     OPENROUTER_API_KEY="managed-openrouter-secret")
    workers = [Worker(env=env, log=tmp / f"worker-{name}.log") for name in "ab"]
    try:
        for w in workers:
            w.spawn()
        for w in workers:
            w.wait_ready()
        yield Cluster(*workers, prefix=prefix, redis_url=redis_url, database_url=database_url)
    finally:
        for w in workers:
            w.stop()
        fixed.stop()
        delete_prefix(redis_url, prefix)
