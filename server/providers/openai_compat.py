"""OpenAI-compatible upstreams (OpenAI, OpenRouter, Azure OpenAI v1, local servers) on the `openai` SDK."""

from __future__ import annotations

from typing import Any

import openai

from server.names import Provider, WireFormat
from server.providers.base import pool_limits
from server.providers.forwarding import SdkForwarder

__all__ = ["openai_compatible"]

_PATHS = {WireFormat.CHAT_COMPLETIONS: "/chat/completions", WireFormat.RESPONSES: "/responses"}


def _bearer(key: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {key}"}


def _azure(key: str) -> dict[str, Any]:
    # Azure's v1 surface takes the key in `api-key`; no Bearer header goes with it.
    return {"api-key": key, "Authorization": openai.Omit()}


def openai_compatible(
    *,
    provider: Provider,
    base_url: str,
    timeout: float,
    max_connections: int,
    max_retries: int,
    azure: bool = False,
) -> SdkForwarder:
    """A forwarder for any OpenAI-compatible API; `azure` sends the key as Azure expects."""
    client = openai.AsyncOpenAI(
        api_key="unused",  # replaced per request by the auth header
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        http_client=openai.DefaultAsyncHttpxClient(limits=pool_limits(max_connections)),
    )
    return SdkForwarder(
        provider=provider,
        sdk_client=client,
        paths=_PATHS,
        stream_cls=openai.AsyncStream[object],
        auth=_azure if azure else _bearer,
    )
