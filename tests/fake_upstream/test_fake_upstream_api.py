"""The fake upstream's public surface, pinned."""

from __future__ import annotations

import server.fake_upstream as package
from server.fake_upstream import ROUTES, FakeUpstream


def test_public_names() -> None:
    assert sorted(package.__all__) == sorted([
        "FakeUpstream", "Reply", "ToolCall", "Usage", "Thinking", "UpstreamError", "Quirks",
        "RecordedRequest", "Responder", "ROUTES",
    ])  # fmt: skip


def test_base_urls_match_routes() -> None:
    fake = FakeUpstream(port=0)
    fake._port = 1234  # no server needed to check the address arithmetic
    assert fake.openai_base_url == "http://127.0.0.1:1234/v1"
    assert fake.openrouter_base_url == "http://127.0.0.1:1234/api/v1"
    assert fake.anthropic_base_url == fake.azure_endpoint == "http://127.0.0.1:1234"
    assert fake.azure_base_url == "http://127.0.0.1:1234/openai/v1"
    bases = (fake.openai_base_url, fake.openrouter_base_url, fake.azure_base_url)
    for path in ROUTES:
        url = f"{fake.url}{path}"
        assert url.startswith(bases) or url == f"{fake.anthropic_base_url}/v1/messages"
