"""The HTTP edge of observability: request id, request metrics, one log line per request, a span.

A pure ASGI middleware (no BaseHTTPMiddleware) so streamed answers are timed to their last byte
and nothing is buffered.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.routes import PREFIX, ModelRoute, match_post_route
from server.errors import NotFound
from server.observability.logging import request_id_var
from server.observability.metrics import CONTENT_TYPE_LATEST, Metrics, exposition

__all__ = ["ObservabilityMiddleware", "metrics_endpoint", "route_labels", "REQUEST_ID_HEADER"]

REQUEST_ID_HEADER = "x-request-id"
# A caller's request id is kept when it looks like an id (a load balancer's), else we make one.
_CALLER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("sequrity_control.access")


def route_labels(method: str, path: str) -> tuple[str, str, str]:
    """(family, provider, format) for the metric labels; bounded values only.

    >>> route_labels("POST", "/control/chat/v1/messages")
    ('chat', 'anthropic', 'messages')
    >>> route_labels("GET", "/control/v1/sessions/x/audit")
    ('utility', '', '')
    """
    if method != "POST" or not path.startswith(f"{PREFIX}/") or path.startswith(f"{PREFIX}/v1/"):
        return ("utility", "", "")
    try:
        route = match_post_route(path[len(PREFIX) + 1 :])
    except NotFound:
        return ("unknown", "", "")
    if isinstance(route, ModelRoute):
        return (str(route.family), str(route.provider), str(route.format))
    return ("policy-gen", str(route.provider), "")


class ObservabilityMiddleware:
    """Sets the request id (echoed as X-Request-ID), counts and times the request, logs one line."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, tracer: Any = None) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        method, path = scope["method"], scope["path"]
        labels = route_labels(method, path)
        start = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "session": None, "done": False}
        span, trace_token = self._span(method, path, request_id)

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = list(message.get("headers", []))
                state["session"] = _header(headers, b"x-session-id")
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self._finish(state, labels, method, path, start, span)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            self._finish(state, labels, method, path, start, span)  # error or client gone
            request_id_var.reset(token)
            if trace_token is not None:
                from opentelemetry import context

                context.detach(trace_token)

    def _span(self, method: str, path: str, request_id: str) -> tuple[Any, Any]:
        if self.tracer is None:
            return None, None
        from opentelemetry import context, trace

        span = self.tracer.start_span(
            f"{method} {path}",
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path, "request.id": request_id},
        )
        # Upstream client spans started while serving become children of this one.
        return span, context.attach(trace.set_span_in_context(span))

    def _finish(
        self,
        state: dict[str, Any],
        labels: tuple[str, str, str],
        method: str,
        path: str,
        start: float,
        span: Any,
    ) -> None:
        if state["done"]:
            return
        state["done"] = True
        elapsed = time.perf_counter() - start
        family, provider, fmt = labels
        status = str(state["status"])
        m = self.metrics
        m.requests.labels(family=family, provider=provider, format=fmt, status=status).inc()
        m.request_seconds.labels(family=family, provider=provider, format=fmt).observe(elapsed)
        if span is not None:
            span.set_attribute("http.response.status_code", state["status"])
            span.end()
        access_log.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={
                "method": method,
                "path": path,
                "status": state["status"],
                "duration_ms": round(elapsed * 1000, 3),
                "family": family,
                "provider": provider,
                "format": fmt,
                "session_id": state["session"],
            },
        )


async def metrics_endpoint(_request: Request) -> Response:
    """GET /metrics: Prometheus text exposition (every worker's, in multiprocess mode)."""
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _CALLER_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
