"""Fixtures for sequrity_langgraph: co-located server settings pointing at the fake upstream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sequrity_langgraph.local import stop_shared_servers
from server.fake_upstream import FakeUpstream


@pytest.fixture(scope="session")
def local_settings(fake_upstream_server: FakeUpstream) -> Iterator[dict[str, Any]]:
    """Overrides for `server="local"`: every upstream on the fake, managed keys set."""
    yield {
        "openai_base_url": fake_upstream_server.openai_base_url,
        "anthropic_base_url": fake_upstream_server.anthropic_base_url,
        "openrouter_base_url": fake_upstream_server.openrouter_base_url,
        "openai_api_key": "managed-openai",
        "anthropic_api_key": "managed-anthropic",
        "openrouter_api_key": "managed-openrouter",
        "model_allowlist": "",
    }
    stop_shared_servers()
