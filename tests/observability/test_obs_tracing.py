"""OpenTelemetry: off without OTEL_EXPORTER_OTLP_ENDPOINT; with it, spans reach an OTLP/HTTP collector."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.fake_upstream import FakeUpstream, Reply
from server.loopback import LoopbackServer
from server.observability.tracing import setup_tracing
from tests.conftest import KEY, gateway_settings, start_gateway

pytest.importorskip("opentelemetry.sdk", reason="the `otel` extra is not installed")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="the `otel` extra is not installed")


class Collector:
    """A fake OTLP/HTTP collector: keeps the bodies POSTed to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()

        async def traces(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.bodies.append(body)
            return Response(b"", media_type="application/x-protobuf")

        self.app = Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])


def test_tracing_is_off_without_an_endpoint() -> None:
    assert setup_tracing("") is None


def test_spans_for_the_request_and_its_upstream_call_are_exported(
    fake_upstream: FakeUpstream, tmp_path
) -> None:
    collector = Collector()
    sink = LoopbackServer(collector.app, lifespan="off").start()
    fake_upstream.script("m", Reply.text("hi"))
    settings = gateway_settings(fake_upstream, tmp_path, otel_exporter_otlp_endpoint=sink.url)
    server = start_gateway(settings)
    try:
        r = httpx.post(
            f"{server.url}/control/chat/openai/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": f"Bearer {KEY}", "X-Features": json.dumps({"agent_arch": "single-llm"})},
        )
        assert r.status_code == 200
    finally:
        server.stop()  # the lifespan's end flushes the spans
        sink.stop()
    exported = b"".join(collector.bodies)
    assert b"POST /control/chat/openai/v1/chat/completions" in exported
    assert b"upstream openai chat/completions" in exported
    assert r.headers["x-request-id"].encode() in exported
