"""Bad input gets a 4xx in the error shape of spec section 10 that says what was wrong — never a 500."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from server.fake_upstream import FakeUpstream, Reply

SINGLE = json.dumps({"agent_arch": "single-llm"})
CHAT_BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def post(gateway, path: str, body: object = CHAT_BODY, *, key: str | None = "default", **headers: str) -> httpx.Response:
    h = {"X-Features": SINGLE, **headers}
    if key is not None:
        h["Authorization"] = f"Bearer {gateway.key if key == 'default' else key}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{gateway.control}/{path}", content=data, headers=h, timeout=30)


def assert_error(r: httpx.Response, status: int, says: str, *, messages_shape: bool = False) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert says in body["detail"], body["detail"]
    if messages_shape:
        assert body["type"] == "error" and body["error"]["message"] == body["detail"]
    else:
        assert body["error"]["message"] == body["detail"]
        assert body["error"]["type"] in {
            "invalid_request_error", "authentication_error", "rate_limit_error", "api_error"
        }


CHAT = "chat/openai/v1/chat/completions"


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "says"),
    [
        (CHAT, b"{not json", {}, 400, "not valid JSON at line 1, column 2"),
        (CHAT, b"[1, 2]", {}, 400, "must be a JSON object (got list)"),
        (CHAT, b"", {}, 400, "body is empty"),
        (CHAT, {"messages": []}, {}, 400, "body.model: field required"),
        (CHAT, {"model": 5, "messages": []}, {}, 400, "body.model: must be a model name string (got int)"),
        (CHAT, {"model": "m", "messages": "hi"}, {}, 400, "body.messages: must be a list of messages"),
        (CHAT, {"model": " , ", "messages": []}, {}, 400, "model"),
        (CHAT, CHAT_BODY, {"X-Config": json.dumps({"fsm": {"max_n_turns": 0}})}, 400,
         "Invalid X-Config header: fsm.max_n_turns: must be >= 1 (got 0)"),
        (CHAT, CHAT_BODY, {"X-Features": "{oops"}, 400, "Invalid X-Features header"),
        (CHAT, CHAT_BODY, {"X-Policy": json.dumps({"mode": "ultra-strict"})}, 400, "Invalid X-Policy header: mode"),
        (CHAT, CHAT_BODY, {"X-Features": json.dumps({"agent_arch": "single-llm", "nope": 1})}, 400, "nope"),
        ("chat/anthropic/v1/chat/completions", CHAT_BODY, {}, 404, "allowed: 'openai', 'openrouter', 'sequrity_azure'"),
        ("chat/v1/nonsense", CHAT_BODY, {}, 404, "unknown format 'nonsense'"),
    ],
)
def test_bad_requests(gateway, path, body, headers, status, says) -> None:
    assert_error(post(gateway, path, body, **headers), status, says)


def test_messages_route_errors_use_the_anthropic_shape(gateway) -> None:
    r = post(gateway, "chat/anthropic/v1/messages", {"model": "m", "messages": []})
    assert_error(r, 400, "body.max_tokens: field required", messages_shape=True)
    client = anthropic.Anthropic(base_url=f"{gateway.control}/chat/anthropic", api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError, match="unknown or revoked bearer key"):
        client.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}])


@pytest.mark.parametrize(("key", "says"), [(None, "missing bearer key"), ("sqc_nope", "unknown or revoked")])
def test_auth(gateway, key, says) -> None:
    assert_error(post(gateway, CHAT, key=key), 401, says)


def test_no_auth_needed_for_utility_routes(gateway) -> None:
    assert httpx.get(f"{gateway.control}/").status_code == 200
    assert httpx.get(f"{gateway.url}/health").status_code == 200
    r = httpx.post(f"{gateway.control}/v1/validate-headers", json={"x_features": SINGLE})
    assert r.status_code == 200 and r.json()["x_features"]["valid"] is True


def test_unknown_get_path_is_404_in_error_shape(gateway) -> None:
    assert_error(httpx.get(f"{gateway.url}/nowhere"), 404, "GET /control/ lists every route")


def test_body_over_the_limit_is_413(fake_upstream_server, tmp_path) -> None:
    from tests.conftest import KEY, gateway_settings, start_gateway

    server = start_gateway(gateway_settings(fake_upstream_server, tmp_path, max_body_bytes=1000))
    try:
        big = {"model": "m", "messages": [{"role": "user", "content": "x" * 2000}]}
        r = httpx.post(
            f"{server.url}/control/{CHAT}", json=big,
            headers={"Authorization": f"Bearer {KEY}", "X-Features": SINGLE},
        )
        assert_error(r, 413, "at most 1000")
        # Chunked upload with no Content-Length is counted while reading.
        r = httpx.post(
            f"{server.url}/control/{CHAT}",
            content=iter([json.dumps(big).encode()]),
            headers={"Authorization": f"Bearer {KEY}", "X-Features": SINGLE},
        )
        assert_error(r, 413, "exceeds 1000 bytes")
    finally:
        server.stop()


# -- upstream failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "status", "says"),
    [
        (Reply.error(400, "Input should be 'user' or 'assistant'"), 400, "Input should be 'user' or 'assistant'"),
        (Reply.error(404, "model not found"), 404, "model not found"),
        (Reply.error(429, "slow down"), 429, "slow down"),
        (Reply.error(500, "boom"), 502, "upstream openai answered 500: boom"),
        (Reply.error(503, "overloaded"), 502, "answered 503: overloaded"),
    ],
)
def test_upstream_errors_are_mapped(gateway, fake_upstream: FakeUpstream, reply, status, says) -> None:
    fake_upstream.script("m", reply)
    assert_error(post(gateway, CHAT), status, says)


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_error_before_first_byte_of_a_stream_is_json(gateway, fake_upstream: FakeUpstream, stream) -> None:
    fake_upstream.script("m", Reply.error(400, "bad thing"))
    r = post(gateway, CHAT, {**CHAT_BODY, "stream": stream})
    assert_error(r, 400, "bad thing")


def test_openai_sdk_sees_relayed_status(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.error(400, "Input should be 'user' or 'assistant'"))
    client = openai.OpenAI(
        base_url=f"{gateway.control}/chat/openai/v1", api_key=gateway.key,
        default_headers={"X-Features": SINGLE}, max_retries=0,
    )
    with pytest.raises(openai.BadRequestError, match="Input should be 'user' or 'assistant'"):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


def test_upstream_timeout_is_504(fake_upstream_server, tmp_path) -> None:
    from tests.conftest import KEY, gateway_settings, start_gateway

    fake_upstream_server.reset()
    fake_upstream_server.script("m", Reply.text("late", delay=3.0))
    server = start_gateway(gateway_settings(fake_upstream_server, tmp_path, upstream_timeout_seconds=0.5))
    try:
        r = httpx.post(
            f"{server.url}/control/{CHAT}", json=CHAT_BODY,
            headers={"Authorization": f"Bearer {KEY}", "X-Features": SINGLE}, timeout=10,
        )
        assert_error(r, 504, "timed out")
    finally:
        server.stop()
        fake_upstream_server.reset()


def test_unreachable_upstream_is_502(fake_upstream_server, tmp_path) -> None:
    from tests.conftest import KEY, gateway_settings, start_gateway

    settings = gateway_settings(fake_upstream_server, tmp_path, openai_base_url="http://127.0.0.1:9/v1")
    server = start_gateway(settings)
    try:
        r = httpx.post(
            f"{server.url}/control/{CHAT}", json=CHAT_BODY,
            headers={"Authorization": f"Bearer {KEY}", "X-Features": SINGLE}, timeout=10,
        )
        assert_error(r, 502, "upstream openai is unreachable")
    finally:
        server.stop()


# -- keys: BYOK, managed keys and the allow list -----------------------------------------------


def test_byok_key_goes_upstream(gateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.script("m", Reply.text("ok"))
    assert post(gateway, CHAT, **{"X-Api-Key": "sk-user-own"}).status_code == 200
    assert fake_upstream.last_request.headers["authorization"] == "Bearer sk-user-own"


def test_allow_list_and_missing_managed_key(fake_upstream_server, tmp_path) -> None:
    from tests.conftest import KEY, gateway_settings, start_gateway

    fake_upstream_server.reset()
    settings = gateway_settings(
        fake_upstream_server, tmp_path, model_allowlist="gpt-5*,claude-sonnet-4-5", anthropic_api_key=None
    )
    server = start_gateway(settings)
    headers = {"Authorization": f"Bearer {KEY}", "X-Features": SINGLE}
    try:
        r = httpx.post(f"{server.url}/control/{CHAT}", json=CHAT_BODY, headers=headers)
        assert_error(r, 400, "model: 'm' not allowed with the server-managed key")
        fake_upstream_server.script("m", Reply.text("ok"))
        r = httpx.post(f"{server.url}/control/{CHAT}", json=CHAT_BODY, headers={**headers, "X-Api-Key": "own"})
        assert r.status_code == 200, "BYOK lifts the allow list"
        r = httpx.post(
            f"{server.url}/control/chat/anthropic/v1/messages",
            json={"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": CHAT_BODY["messages"]},
            headers=headers,
        )
        assert_error(r, 400, "ANTHROPIC_API_KEY", messages_shape=True)
    finally:
        server.stop()
        fake_upstream_server.reset()


def test_deeply_nested_body_is_400(gateway) -> None:
    deep = b'{"model": "m", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_error(post(gateway, CHAT, deep), 400, "nested too deeply")


def test_deeply_nested_tool_arguments_are_400_in_dual_llm(gateway) -> None:
    args = "[" * 100_000 + "]" * 100_000
    body = {"model": "p,q", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                                                               "function": {"name": "f", "arguments": args}}]}]}
    r = post(gateway, CHAT, body, **{"X-Features": json.dumps({"agent_arch": "dual-llm"})})
    assert_error(r, 400, "must be a JSON object")
