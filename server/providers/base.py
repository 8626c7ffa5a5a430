"""The upstream seam: one `LlmClient` protocol for every provider, and the request it forwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2  # the transport both provider SDKs are built on

from server.names import Provider, WireFormat

__all__ = ["UpstreamCall", "LlmClient", "pool_limits"]


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """One forwarded request: the wire format picks the upstream path, `body` goes as JSON.

    `headers` are provider headers the client sent and the upstream needs (`anthropic-beta`, ...);
    `api_key` is the BYOK key or the server-managed one (never logged, never stored).
    """

    format: WireFormat
    body: Mapping[str, Any]
    api_key: str
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)


class LlmClient(Protocol):
    """An upstream LLM provider. Errors are raised as `server.errors.ControlError` subclasses."""

    provider: Provider

    async def send(self, call: UpstreamCall) -> dict[str, Any]:
        """Forward a non-streaming request; the upstream's JSON answer."""
        ...

    async def stream(self, call: UpstreamCall) -> AsyncIterator[dict[str, Any]]:
        """Forward a streaming request. Returns once the upstream accepted it (errors raise here,
        before any byte goes to our client); the iterator yields each event's JSON payload."""
        ...

    async def aclose(self) -> None: ...


def pool_limits(max_connections: int) -> httpx2.Limits:
    """One shared pool per provider, sized for concurrency, connections kept alive for reuse."""
    return httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
