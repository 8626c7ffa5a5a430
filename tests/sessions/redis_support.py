"""Test support: the Redis the tests use (a unique key prefix per use, its keys deleted after)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

__all__ = ["REDIS_URL", "redis_url_or_skip_reason", "unique_prefix", "delete_prefix", "RedisProcess"]

# The Redis of `make test` (.ci/run starts it on the default port when the machine has not).
REDIS_URL = os.environ.get("SEQURITY_CONTROL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_url_or_skip_reason() -> tuple[str | None, str]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return None, f"Redis at {REDIS_URL} unreachable ({exc}); start redis-server"
    return REDIS_URL, ""


def unique_prefix(label: str = "t") -> str:
    return f"sqc-test-{label}-{secrets.token_hex(4)}:"


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under `prefix`; how many there were."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """A private redis-server on a loopback port, for tests that stop and restart Redis.

    It keeps an append-only file in `directory`, so sessions survive a restart like on a
    production Redis with persistence.
    """

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> RedisProcess:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return self
            except redis.RedisError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None
