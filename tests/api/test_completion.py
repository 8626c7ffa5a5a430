"""Canonical completions reach every provider in its own wire format and come back as text + usage."""

from __future__ import annotations

import pytest

from server.fake_upstream import FakeUpstream, Reply, Usage as FakeUsage
from server.names import Provider
from server.providers.completion import ChatTurn, complete
from server.providers.registry import build_registry
from tests.conftest import gateway_settings


@pytest.mark.parametrize("provider", list(Provider))
async def test_complete_every_provider(fake_upstream: FakeUpstream, tmp_path, provider: Provider) -> None:
    registry = build_registry(gateway_settings(fake_upstream, tmp_path))
    fake_upstream.script("policy-model", Reply.text("tool \"x\" { must deny always; }", usage=FakeUsage(7, 3)))
    try:
        got = await complete(
            registry.client(provider),
            model="policy-model",
            messages=[ChatTurn("system", "be terse"), ChatTurn("user", "write a policy")],
            api_key="k",
        )
    finally:
        await registry.aclose()
    assert got.text == 'tool "x" { must deny always; }'
    assert got.usage.to_json() == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    sent = fake_upstream.last_request.json
    if provider is Provider.ANTHROPIC:
        assert sent["system"] == "be terse" and sent["messages"] == [{"role": "user", "content": "write a policy"}]
    else:
        assert sent["messages"][0] == {"role": "system", "content": "be terse"}
