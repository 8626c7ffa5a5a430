"""The Anthropic Messages upstream on the `anthropic` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic

from server.names import Provider, WireFormat
from server.providers.base import UpstreamCall, pool_limits
from server.providers.errors import UPSTREAM_EXCEPTIONS, relay_events, translate_upstream_error

__all__ = ["AnthropicClient"]

_PATHS = {WireFormat.MESSAGES: "/v1/messages"}


class AnthropicClient:
    """Forwards raw Messages bodies; the SDK's stream decoder drops `ping` events for us.

    The key goes as `Authorization: Bearer`, exactly as the installed SDK sends its own key.
    """

    def __init__(
        self, *, base_url: str, timeout: float, max_connections: int, max_retries: int
    ) -> None:
        self.provider = Provider.ANTHROPIC
        self._client = anthropic.AsyncAnthropic(
            api_key="unused",  # replaced per request by the Authorization header
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=anthropic.DefaultAsyncHttpxClient(limits=pool_limits(max_connections)),
        )

    @staticmethod
    def _options(call: UpstreamCall) -> dict[str, Any]:
        options: dict[str, Any] = {"headers": {**call.headers, "Authorization": f"Bearer {call.api_key}"}}
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
                stream_cls=anthropic.AsyncStream[object],
            )
        except UPSTREAM_EXCEPTIONS as err:
            raise translate_upstream_error(self.provider, err) from err
        return relay_events(self.provider, events)

    async def aclose(self) -> None:
        await self._client.close()

