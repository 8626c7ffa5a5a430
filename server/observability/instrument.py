"""Wrappers that measure the seams without changing them: upstream LLM clients and the session store.

Wired in `create_app`: the agents keep calling `providers.client(...)` and the `SessionStore`
protocol, and the metrics move.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from server.errors import ControlError
from server.observability.metrics import Metrics
from server.providers.base import LlmClient, UpstreamCall
from server.providers.registry import ProviderRegistry
from server.sessions.record import Session
from server.sessions.store import SessionStore

__all__ = ["MeteredClient", "metered_registry", "MeteredSessionStore"]


class MeteredClient:
    """An `LlmClient` that times every upstream call (to a stream's end) and counts failures."""

    def __init__(self, inner: LlmClient, metrics: Metrics, tracer: Any = None) -> None:
        self.inner = inner
        self.provider = inner.provider
        self._metrics = metrics
        self._tracer = tracer

    def __getattr__(self, name: str) -> Any:  # anything else the concrete client offers
        return getattr(self.inner, name)

    async def send(self, call: UpstreamCall) -> dict[str, Any]:
        span = self._span(call)
        start = time.perf_counter()
        try:
            return await self.inner.send(call)
        except ControlError as err:
            self._failed(call, err, span)
            raise
        finally:
            self._observe(call, start, span)

    async def stream(self, call: UpstreamCall) -> AsyncIterator[dict[str, Any]]:
        span = self._span(call)
        start = time.perf_counter()
        try:
            events = await self.inner.stream(call)
        except ControlError as err:
            self._failed(call, err, span)
            self._observe(call, start, span)
            raise
        except BaseException:
            self._observe(call, start, span)
            raise
        return self._timed(events, call, start, span)

    async def _timed(
        self, events: AsyncIterator[dict[str, Any]], call: UpstreamCall, start: float, span: Any
    ) -> AsyncIterator[dict[str, Any]]:
        try:
            async for event in events:
                yield event
        except ControlError as err:
            self._failed(call, err, span)
            raise
        finally:
            self._observe(call, start, span)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def _span(self, call: UpstreamCall) -> Any:
        if self._tracer is None:
            return None
        from opentelemetry.trace import SpanKind

        return self._tracer.start_span(
            f"upstream {self.provider} {call.format}",
            kind=SpanKind.CLIENT,
            attributes={"llm.provider": str(self.provider), "llm.format": str(call.format)},
        )

    def _failed(self, call: UpstreamCall, err: ControlError, span: Any) -> None:
        self._metrics.upstream_errors.labels(
            provider=str(self.provider), format=str(call.format), status=str(err.status)
        ).inc()
        if span is not None:
            span.set_attribute("error.status", err.status)

    def _observe(self, call: UpstreamCall, start: float, span: Any) -> None:
        self._metrics.upstream_seconds.labels(
            provider=str(self.provider), format=str(call.format)
        ).observe(time.perf_counter() - start)
        if span is not None:
            span.end()


def metered_registry(
    registry: ProviderRegistry, metrics: Metrics, tracer: Any = None
) -> ProviderRegistry:
    """The same registry with every client wrapped in a `MeteredClient`."""
    clients = {p: MeteredClient(c, metrics, tracer) for p, c in registry.clients.items()}
    return replace(registry, clients=clients)


class MeteredSessionStore:
    """A SessionStore that keeps the `active_sessions` gauge: leases held by requests in flight.

    Every call goes to the wrapped store unchanged; the gauge follows the leases it hands out
    (acquire, create) and takes back (release, delete).
    """

    def __init__(self, inner: SessionStore, metrics: Metrics) -> None:
        self.inner = inner
        self._gauge = metrics.active_sessions
        self._held: dict[str, str] = {}  # lease token -> session id

    def __repr__(self) -> str:
        return f"MeteredSessionStore({self.inner!r})"

    async def acquire(self, session_id: str, *, owner: str) -> Session | None:
        session = await self.inner.acquire(session_id, owner=owner)
        if session is not None:
            self._hold(session)
        return session

    async def create(self, session: Session) -> Session:
        created = await self.inner.create(session)
        self._hold(created)
        return created

    async def get(self, session_id: str) -> Session | None:
        return await self.inner.get(session_id)

    async def save(self, session: Session) -> Session:
        return await self.inner.save(session)

    async def release(self, session_id: str, *, lease: str | None = None) -> None:
        try:
            await self.inner.release(session_id, lease=lease)
        finally:
            self._drop(session_id, lease)

    async def delete(self, session_id: str) -> None:
        try:
            await self.inner.delete(session_id)
        finally:
            self._drop(session_id, None)

    async def bind_alias(self, alias: str, session_id: str) -> None:
        await self.inner.bind_alias(alias, session_id)

    async def resolve_alias(self, alias: str) -> str | None:
        return await self.inner.resolve_alias(alias)

    async def ping(self) -> None:
        await self.inner.ping()

    async def aclose(self) -> None:
        self._gauge.dec(len(self._held))
        self._held.clear()
        await self.inner.aclose()

    def _hold(self, session: Session) -> None:
        if session.lease and session.lease not in self._held:
            self._held[session.lease] = session.id
            self._gauge.inc()

    def _drop(self, session_id: str, lease: str | None) -> None:
        tokens = [lease] if lease else [t for t, sid in self._held.items() if sid == session_id]
        for token in tokens:
            if self._held.pop(token, None) is not None:
                self._gauge.dec()
