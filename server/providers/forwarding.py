"""One forwarder for every provider SDK: raw JSON bodies through the SDK's generic `post`.

Forwarding the caller's own body (not a rebuilt one) keeps every field the client sent (spec
13.11). Each provider supplies its SDK client, its paths, its stream class and how the key is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from server.names import Provider, WireFormat
from server.providers.base import UpstreamCall
from server.providers.errors import UPSTREAM_EXCEPTIONS, relay_events, translate_upstream_error

__all__ = ["SdkForwarder"]


class SdkForwarder:
    """An `LlmClient` over an SDK client. One SDK client (one connection pool) per provider; the
    key travels per request in a header (`auth(key)`), so BYOK needs no client copy."""

    def __init__(
        self,
        *,
        provider: Provider,
        sdk_client: Any,
        paths: Mapping[WireFormat, str],
        stream_cls: type,
        auth: Callable[[str], dict[str, Any]],
    ) -> None:
        self.provider = provider
        self._client = sdk_client
        self._paths = paths
        self._stream_cls = stream_cls
        self._auth = auth

    def _options(self, call: UpstreamCall) -> dict[str, Any]:
        options: dict[str, Any] = {"headers": {**call.headers, **self._auth(call.api_key)}}
        if call.query:
            options["params"] = dict(call.query)
        return options

    async def send(self, call: UpstreamCall) -> dict[str, Any]:
        try:
            answer = await self._client.post(
                self._paths[call.format], body=dict(call.body), cast_to=object, options=self._options(call)
            )
        except UPSTREAM_EXCEPTIONS as err:
            raise translate_upstream_error(self.provider, err) from err
        return answer if isinstance(answer, dict) else {"value": answer}

    async def stream(self, call: UpstreamCall) -> AsyncIterator[dict[str, Any]]:
        try:
            events = await self._client.post(
                self._paths[call.format],
                body=dict(call.body),
                cast_to=object,
                options=self._options(call),
                stream=True,
                stream_cls=self._stream_cls,
            )
        except UPSTREAM_EXCEPTIONS as err:
            raise translate_upstream_error(self.provider, err) from err
        return relay_events(self.provider, events)

    async def aclose(self) -> None:
        await self._client.close()
