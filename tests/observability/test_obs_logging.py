"""Structured logs: JSON lines with the request id, and never a bearer key or an X-Api-Key."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from server.fake_upstream import FakeUpstream, Reply
from server.observability.logging import JsonFormatter, log_config, redact, request_id_var
from tests.conftest import KEY, gateway_settings, start_gateway

BYOK = "sk-byok-secret-0123456789abcdef"
WRONG_KEY = "sqc_wrong_key_0123456789abcdefghijkl"
CHAT = "/control/chat/openai/v1/chat/completions"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every log record of every logger, DEBUG and up, formatted as the server formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_no_secret_reaches_any_log_line(
    captured: io.StringIO, fake_upstream: FakeUpstream, tmp_path
) -> None:
    fake_upstream.script("m", Reply.text("ok"), Reply.error(401, "bad upstream key"), Reply.text("s"))
    server = start_gateway(gateway_settings(fake_upstream, tmp_path))
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    try:
        good = {"Authorization": f"Bearer {KEY}", "X-Features": '{"agent_arch":"single-llm"}'}
        assert httpx.post(f"{server.url}{CHAT}", json=body, headers=good).status_code == 200
        byok = {**good, "X-Api-Key": BYOK}
        assert httpx.post(f"{server.url}{CHAT}", json=body, headers=byok).status_code == 401
        stream_body = {**body, "stream": True}
        assert httpx.post(f"{server.url}{CHAT}", json=stream_body, headers=byok).status_code == 200
        wrong = {"Authorization": f"Bearer {WRONG_KEY}"}
        assert httpx.post(f"{server.url}{CHAT}", json=body, headers=wrong).status_code == 401
        bad_header = {**good, "X-Config": f'{{"oops": "{BYOK}"}}'}
        assert httpx.post(f"{server.url}{CHAT}", json=body, headers=bad_header).status_code == 400
    finally:
        server.stop()
    text = captured.getvalue()
    assert fake_upstream.requests[1].headers["authorization"] == f"Bearer {BYOK}"  # it was sent
    for secret in (KEY, BYOK, WRONG_KEY, "managed-openai"):
        assert secret not in text
    access = [json.loads(line) for line in text.splitlines() if '"sequrity_control.access"' in line]
    assert len(access) == 5
    assert all(len(entry["request_id"]) == 32 for entry in access)
    assert [entry["status"] for entry in access] == [200, 401, 200, 401, 400]
    assert access[0]["path"] == CHAT and access[0]["family"] == "chat" and access[0]["session_id"]


def test_json_lines_carry_the_request_id_and_extra_fields() -> None:
    formatter = JsonFormatter()
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "upstream said Bearer %s", "args": (KEY,),
         "status": 502}
    )
    token = request_id_var.set("req-1")
    try:
        entry = json.loads(formatter.format(record))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "req-1" and entry["status"] == 502
    assert entry["message"] == "upstream said Bearer ***" and KEY not in json.dumps(entry)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        (f"key {KEY}!", "key sqc_***!"),
        ("x-api-key sk-ant-api03-abcdefghijk", "x-api-key sk-ant-***"),
        ("nothing secret", "nothing secret"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_uvicorn_log_config_is_valid() -> None:
    import logging.config

    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "sequrity_control")
    saved = {n: (lg.handlers[:], lg.level, lg.propagate) for n in names if (lg := logging.getLogger(n))}
    try:
        for fmt in ("json", "text"):
            config = log_config(level="info", fmt=fmt)
            logging.config.dictConfig({**config, "root": {"level": "WARNING", "handlers": []}})
            handler = logging.getLogger("sequrity_control").handlers[0]
            line = handler.format(logging.makeLogRecord({"msg": f"Bearer {KEY}"}))
            assert KEY not in line
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
