"""The retry loop against the scripted fake upstream: errors go back to the model, usage adds up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.errors import BadRequest, Unprocessable, UpstreamFailed
from server.fake_upstream import FakeUpstream, Reply, Usage
from server.names import Provider
from server.policygen import generate_policy
from server.providers.registry import ProviderRegistry, build_registry
from tests.conftest import gateway_settings
from tests.policygen.policygen_cases import (
    MODEL,
    SYNTAX_ERROR,
    UNKNOWN_ARG,
    UNKNOWN_TOOL,
    VALID,
    body,
    fenced,
)


@pytest.fixture
async def registry(fake_upstream: FakeUpstream, tmp_path: Path) -> AsyncIterator[ProviderRegistry]:
    providers = build_registry(gateway_settings(fake_upstream, tmp_path))
    yield providers
    await providers.aclose()


async def generate(registry: ProviderRegistry, provider: Provider = Provider.OPENAI, **fields: Any) -> dict:
    return await generate_policy(body(**fields), provider=provider, providers=registry, byok=None)


def last_user_text(request_json: dict) -> str:
    return request_json["messages"][-1]["content"]


async def test_valid_first_time(registry, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(MODEL, Reply.text(fenced(VALID), usage=Usage(800, 90)))
    answer = await generate(registry)
    assert answer == {
        "policies": VALID,
        "usage": {"prompt_tokens": 800, "completion_tokens": 90, "total_tokens": 890},
    }
    sent = fake_upstream.last_request.json
    system, user = sent["messages"]
    assert system["role"] == "system" and "SQRT in brief" in system["content"]
    assert '- "send_email": Send an email.' in user["content"]
    assert "    - to: string (required) — recipient address" in user["content"]
    assert "Never send emails to addresses outside example.com" in user["content"]
    assert fake_upstream.last_request.headers["authorization"] == "Bearer managed-openai"


async def test_invalid_then_valid_feeds_the_parser_error_back(registry, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(
        MODEL,
        Reply.text(fenced(SYNTAX_ERROR), usage=Usage(100, 10)),
        Reply.text(fenced(VALID), usage=Usage(200, 20)),
    )
    answer = await generate(registry)
    assert answer["policies"] == VALID
    assert answer["usage"] == {"prompt_tokens": 300, "completion_tokens": 30, "total_tokens": 330}
    first, second = (r.json for r in fake_upstream.requests)
    assert len(first["messages"]) == 2
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2] == {"role": "assistant", "content": fenced(SYNTAX_ERROR)}
    feedback = last_user_text(second)
    assert "1. line 1, column 45: expected ';' after check rule (found 'startswith')" in feedback
    assert SYNTAX_ERROR.strip() in feedback  # the offending line, with a caret under it


@pytest.mark.parametrize(
    ("wrong", "says"),
    [
        (UNKNOWN_TOOL, 'tool "send_mail" does not exist; the tools are: "send_email", "read_hr_record"'),
        (UNKNOWN_ARG, 'argument "recipient" does not exist on tool "send_email"; its arguments are: body, to'),
    ],
)
async def test_unknown_tool_or_argument_is_rejected_and_retried(
    registry, fake_upstream: FakeUpstream, wrong: str, says: str
) -> None:
    fake_upstream.script(MODEL, Reply.text(fenced(wrong)), Reply.text(VALID))  # the 2nd without a fence
    answer = await generate(registry, n_retries=1)
    assert answer["policies"] == VALID.strip()
    assert says in last_user_text(fake_upstream.requests[1].json)
    assert answer["usage"]["total_tokens"] == 30  # two attempts of the fake's 10 + 5


async def test_all_attempts_fail_is_422_listing_the_last_errors(registry, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(
        MODEL, Reply.text(fenced(SYNTAX_ERROR)), Reply.text(fenced(UNKNOWN_TOOL)), Reply.text(fenced(UNKNOWN_ARG))
    )
    with pytest.raises(Unprocessable) as caught:
        await generate(registry, n_retries=2)
    message = caught.value.message
    assert caught.value.status == 422 and caught.value.code == "policy_generation_failed"
    assert message.startswith(
        "policy generation produced no valid policy after 3 attempts (45 tokens used); "
        "the last attempt's errors:\n- "
    )
    assert '- line 1, column 36: argument "recipient" does not exist on tool "send_email"' in message
    assert "send_mail" not in message  # only the last attempt's errors
    assert len(fake_upstream.requests) == 3 and fake_upstream.remaining.get(MODEL, 0) == 0


async def test_zero_retries_means_one_attempt(registry, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(MODEL, Reply.text("I cannot help with that."), Reply.text(VALID))
    with pytest.raises(Unprocessable, match=r"after 1 attempt \(15 tokens used\);"):
        await generate(registry, n_retries=0)
    assert len(fake_upstream.requests) == 1


async def test_an_empty_answer_is_a_failed_attempt(registry, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(MODEL, Reply.text(""), Reply.text(fenced(VALID)))
    assert (await generate(registry))["policies"] == VALID
    assert "the answer contained no policy" in last_user_text(fake_upstream.requests[1].json)


async def test_upstream_failures_are_not_retried(registry, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(MODEL, Reply.error(500, "boom"), Reply.text(VALID))
    with pytest.raises(UpstreamFailed):
        await generate(registry)
    assert len(fake_upstream.requests) == 1


@pytest.mark.parametrize("provider", list(Provider))
async def test_every_provider_in_its_own_wire_format(registry, fake_upstream: FakeUpstream, provider) -> None:
    fake_upstream.script(MODEL, Reply.text(fenced(SYNTAX_ERROR)), Reply.text(fenced(VALID)))
    answer = await generate(registry, provider, internal_tool_names=["parse_with_ai"])
    assert answer["policies"] == VALID and answer["usage"]["total_tokens"] == 30
    retry = fake_upstream.last_request
    assert retry.flavor == provider
    if provider is Provider.ANTHROPIC:
        assert "SQRT in brief" in retry.json["system"]
        assert [m["role"] for m in retry.json["messages"]] == ["user", "assistant", "user"]
        assert "Internal tools of the service" in retry.json["messages"][0]["content"]
    else:
        assert [m["role"] for m in retry.json["messages"]] == ["system", "user", "assistant", "user"]


async def test_byok_and_the_allow_list(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    providers = build_registry(gateway_settings(fake_upstream, tmp_path, model_allowlist="gpt-*"))
    try:
        with pytest.raises(BadRequest, match="policy-model"):
            await generate(providers)
        assert fake_upstream.requests == []
        fake_upstream.script(MODEL, Reply.text(VALID))
        await generate_policy(body(), provider=Provider.OPENAI, providers=providers, byok="user-key")
        assert fake_upstream.last_request.headers["authorization"] == "Bearer user-key"
    finally:
        await providers.aclose()
