"""OpenAI-compatible upstreams (OpenAI, OpenRouter, Azure OpenAI v1, local servers) on the `openai` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai

from server.names import Provider, WireFormat
from server.providers.base import UpstreamCall, pool_limits
from server.providers.errors import UPSTREAM_EXCEPTIONS, relay_events, translate_upstream_error

__all__ = ["OpenAICompatibleClient"]

_PATHS = {WireFormat.CHAT_COMPLETIONS: "/chat/completions", WireFormat.RESPONSES: "/responses"}


class OpenAICompatibleClient:
    """Forwards raw JSON bodies so that every field the client sent reaches the upstream.

    `auth_header` is `Authorization` (Bearer) for OpenAI and OpenRouter, `api-key` for Azure.
    One SDK client (and so one connection pool) per provider, shared by every request; the key
    travels per request in a header, so BYOK needs no client copy.
    """

    def __init__(
        self,
        *,
        provider: Provider,
        base_url: str,
        timeout: float,
        max_connections: int,
        max_retries: int,
        auth_header: str = "Authorization",
    ) -> None:
        self.provider = provider
        self._auth_header = auth_header
        self._client = openai.AsyncOpenAI(
            api_key="unused",  # replaced per request by the auth header
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=_http_client(max_connections),
        )

    def _options(self, call: UpstreamCall) -> dict[str, Any]:
        value = f"Bearer {call.api_key}" if self._auth_header == "Authorization" else call.api_key
        headers = {**call.headers, self._auth_header: value}
        if self._auth_header != "Authorization":
            headers["Authorization"] = openai.Omit()  # type: ignore[assignment]
        options: dict[str, Any] = {"headers": headers}
        if call.query:
            options["params"] = dict(call.query)
        return options

    async def send(self, call: UpstreamCall) -> dict[str, Any]:
        try:
            answer = await self._client.post(
                _PATHS[call.format], body=dict(call.body), cast_to=object, options=self._options(call)
            )
        except UPSTREAM_EXCEPTIONS as err:
            raise translate_upstream_error(self.provider, err) from err
        return answer if isinstance(answer, dict) else {"value": answer}

    async def stream(self, call: UpstreamCall) -> AsyncIterator[dict[str, Any]]:
        try:
            events = await self._client.post(
                _PATHS[call.format],
                body=dict(call.body),
                cast_to=object,
                options=self._options(call),
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
        except UPSTREAM_EXCEPTIONS as err:
            raise translate_upstream_error(self.provider, err) from err
        return relay_events(self.provider, events)

    async def aclose(self) -> None:
        await self._client.close()



def _http_client(max_connections: int) -> openai.DefaultAsyncHttpxClient:
    return openai.DefaultAsyncHttpxClient(limits=pool_limits(max_connections))
