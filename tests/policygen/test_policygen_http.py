"""POST /control/policy-gen/{provider?}/v1/generate through the real server, over HTTP and the client."""

from __future__ import annotations

import json

import httpx
import pytest
from sequrity import AsyncSequrityClient, SequrityClient
from sequrity._exceptions import SequrityAPIError

from server.fake_upstream import FakeUpstream, Reply, Usage
from server.policygen.requests import MAX_DESCRIPTION_CHARS, MAX_RETRIES
from tests.policygen.policygen_cases import (
    MODEL,
    ROUTE_BY_TYPE,
    SYNTAX_ERROR,
    TOOLS_BY_TYPE,
    UNKNOWN_ARG,
    VALID,
    body,
    fenced,
)

ROUTES = {
    "policy-gen/v1/generate": "openrouter",
    "policy-gen/openai/v1/generate": "openai",
    "policy-gen/openrouter/v1/generate": "openrouter",
    "policy-gen/anthropic/v1/generate": "anthropic",
    "policy-gen/sequrity_azure/v1/generate": "sequrity_azure",
}


def post(gateway, path: str, payload: object, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.control}/{path}",
        content=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {gateway.key}", "Content-Type": "application/json", **headers},
        timeout=30,
    )


def assert_error(r: httpx.Response, status: int, says: str) -> None:
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert says in detail, detail
    assert r.json()["error"]["message"] == detail and r.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("kind", list(TOOLS_BY_TYPE))
@pytest.mark.parametrize("path", list(ROUTES))
def test_every_type_on_every_route(gateway, fake_upstream: FakeUpstream, path: str, kind: str) -> None:
    """The route picks the upstream, the type only the tool format (spec control-api 8)."""
    fake_upstream.script(MODEL, Reply.text(fenced(VALID), usage=Usage(812, 95)))
    r = post(gateway, path, body(kind))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "policies": VALID,
        "usage": {"prompt_tokens": 812, "completion_tokens": 95, "total_tokens": 907},
    }
    assert "x-session-id" not in r.headers
    assert fake_upstream.last_request.flavor == ROUTES[path]


def test_a_stale_session_header_is_ignored_and_byok_is_used(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(MODEL, Reply.text(fenced(VALID)))
    r = post(gateway, "policy-gen/openai/v1/generate", body(),
             **{"X-Session-ID": "00000000-0000-0000-0000-000000000000", "X-Api-Key": "user-key"})
    assert r.status_code == 200 and "x-session-id" not in r.headers
    assert fake_upstream.last_request.headers["authorization"] == "Bearer user-key"


def test_retry_then_success_over_http(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(MODEL, Reply.text(fenced(UNKNOWN_ARG)), Reply.text(fenced(VALID)))
    r = post(gateway, "policy-gen/anthropic/v1/generate", body("anthropic_messages"))
    assert r.status_code == 200 and r.json()["usage"]["total_tokens"] == 30
    assert 'argument "recipient"' in fake_upstream.last_request.json["messages"][-1]["content"]


def test_all_attempts_failing_is_422(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(MODEL, *[Reply.text(fenced(SYNTAX_ERROR))] * 2)
    r = post(gateway, "policy-gen/v1/generate", body(n_retries=1))
    assert_error(r, 422, "policy generation produced no valid policy after 2 attempts")
    assert "line 1, column 45: expected ';' after check rule (found 'startswith')" in r.json()["detail"]
    assert r.json()["error"]["code"] == "policy_generation_failed"


@pytest.mark.parametrize(
    ("payload", "status", "says"),
    [
        (body("unknown_type"), 400, 'body.type: unknown request type "unknown_type"'),
        (body("oai_responses"), 400, "type 'oai_responses' is not supported by this server"),
        (body(tools=[]), 400, "body.tools: at least one tool is required"),
        (body(description="x" * (MAX_DESCRIPTION_CHARS + 1)), 413, "body.description is 20001 characters"),
        (body(n_retries=MAX_RETRIES + 1), 400, f"body.n_retries: must be <= {MAX_RETRIES}"),
        (body(n_retries=-1), 400, "body.n_retries: must be >= 0"),
        (body(policy_lang="cedar"), 400, "body.policy_lang: must be 'sqrt'"),
        (body(stream=True), 400, "body.stream: unknown field"),
    ],
)
def test_bad_input(gateway, fake_upstream: FakeUpstream, payload: dict, status: int, says: str) -> None:
    assert_error(post(gateway, "policy-gen/v1/generate", payload), status, says)
    assert fake_upstream.requests == []  # rejected before any LLM call


def test_bad_route_and_auth(gateway) -> None:
    assert post(gateway, "policy-gen/llama/v1/generate", body()).status_code == 404
    r = httpx.post(f"{gateway.control}/policy-gen/v1/generate", json=body(), timeout=30)
    assert r.status_code == 401


@pytest.mark.parametrize("kind", list(TOOLS_BY_TYPE))
def test_official_client(gateway, fake_upstream: FakeUpstream, kind: str) -> None:
    fake_upstream.script(MODEL, Reply.text(fenced(SYNTAX_ERROR)), Reply.text(fenced(VALID)))
    with SequrityClient(api_key=gateway.key, base_url=gateway.url) as client:
        answer = client.control.policy.generate(body(kind, internal_tool_names=["parse_with_ai"]))
    assert answer.policies == VALID
    assert answer.usage == {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
    assert fake_upstream.last_request.path.endswith(
        {"anthropic": "/messages"}.get(ROUTE_BY_TYPE[kind].split("/")[1], "/chat/completions")
    )


def test_official_client_errors(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(MODEL, Reply.text(fenced(UNKNOWN_ARG)))
    with SequrityClient(api_key=gateway.key, base_url=gateway.url) as client:
        with pytest.raises(SequrityAPIError) as caught:
            client.control.policy.generate(body(n_retries=0))
    assert caught.value.status_code == 422 and 'argument "recipient"' in caught.value.message


async def test_official_async_client(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script(MODEL, Reply.text(fenced(VALID)))
    async with AsyncSequrityClient(api_key=gateway.key, base_url=gateway.url) as client:
        answer = await client.control.policy.generate(body("sequrity_azure_responses"))
    assert answer.policies == VALID and answer.usage["total_tokens"] == 15
    assert fake_upstream.last_request.flavor == "sequrity_azure"
