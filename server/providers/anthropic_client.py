"""The Anthropic Messages upstream on the `anthropic` SDK (its stream decoder drops `ping` events)."""

from __future__ import annotations

from typing import Any

import anthropic

from server.names import Provider, WireFormat
from server.providers.base import pool_limits
from server.providers.forwarding import SdkForwarder

__all__ = ["anthropic_forwarder"]

_PATHS = {WireFormat.MESSAGES: "/v1/messages"}


def _bearer(key: str) -> dict[str, Any]:
    # Exactly as the installed SDK sends its own key.
    return {"Authorization": f"Bearer {key}"}


def anthropic_forwarder(
    *, base_url: str, timeout: float, max_connections: int, max_retries: int
) -> SdkForwarder:
    client = anthropic.AsyncAnthropic(
        api_key="unused",  # replaced per request by the Authorization header
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        http_client=anthropic.DefaultAsyncHttpxClient(limits=pool_limits(max_connections)),
    )
    return SdkForwarder(
        provider=Provider.ANTHROPIC,
        sdk_client=client,
        paths=_PATHS,
        stream_cls=anthropic.AsyncStream[object],
        auth=_bearer,
    )
