"""Pytest fixtures: one fake upstream per session, reset around every test that asks for it.

Use from a conftest: `from server.fake_upstream.pytest_fixture import fake_upstream, fake_upstream_server`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.fake_upstream.server import FakeUpstream

__all__ = ["fake_upstream", "fake_upstream_server"]


@pytest.fixture(scope="session")
def fake_upstream_server() -> Iterator[FakeUpstream]:
    """The session's running fake upstream; prefer `fake_upstream`, which is reset per test."""
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def fake_upstream(fake_upstream_server: FakeUpstream) -> Iterator[FakeUpstream]:
    """The fake upstream with no scripts, no recorded requests and fresh id counters."""
    fake_upstream_server.reset()
    yield fake_upstream_server
    fake_upstream_server.reset()
