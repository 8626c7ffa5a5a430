"""Shared fixtures: the scripted fake upstream and our real server on loopback, pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.app import create_app
from server.fake_upstream import FakeUpstream
from server.fake_upstream.pytest_fixture import fake_upstream, fake_upstream_server
from server.loopback import LoopbackServer
from server.settings import Settings

__all__ = ["fake_upstream", "fake_upstream_server", "Gateway", "start_gateway"]

KEY = "sqc_test_key_0123456789abcdefghijklmnopqrstuv"
OTHER_KEY = "sqc_other_key_0123456789abcdefghijklmnopqrst"


@dataclass(frozen=True)
class Gateway:
    url: str
    key: str
    settings: Settings

    @property
    def control(self) -> str:
        return f"{self.url}/control"


def gateway_settings(fake: FakeUpstream, tmp: Path, **overrides: object) -> Settings:
    """Settings for a test server: every upstream on the fake, managed keys set, nothing from env."""
    values: dict[str, object] = dict(
        api_keys=f"{KEY},{OTHER_KEY}",
        database_url=f"sqlite:///{tmp}/keys.db",
        session_store=f"sqlite:///{tmp}/sessions.db",
        model_allowlist="",
        openai_base_url=fake.openai_base_url,
        openrouter_base_url=fake.openrouter_base_url,
        anthropic_base_url=fake.anthropic_base_url,
        azure_openai_endpoint=fake.azure_endpoint,
        openai_api_key="managed-openai",
        openrouter_api_key="managed-openrouter",
        anthropic_api_key="managed-anthropic",
        azure_openai_api_key="managed-azure",
        upstream_timeout_seconds=5.0,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def start_gateway(settings: Settings) -> LoopbackServer:
    return LoopbackServer(create_app(settings), timeout_graceful_shutdown=1).start()


@pytest.fixture(scope="session")
def gateway(fake_upstream_server: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Our server with default settings (SQLite keys and sessions), shared by the session's tests."""
    settings = gateway_settings(fake_upstream_server, tmp_path_factory.mktemp("gateway"))
    server = start_gateway(settings)
    try:
        yield Gateway(url=server.url, key=KEY, settings=settings)
    finally:
        server.stop()
