"""Translate provider SDK exceptions into our error tree, in one place, by a table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anthropic
import httpx2
import openai

from server.errors import (
    ControlError,
    RateLimited,
    UpstreamFailed,
    UpstreamRejected,
    UpstreamTimeout,
)
from server.names import Provider

__all__ = ["translate_upstream_error", "upstream_message", "relay_events"]

_MAX_MESSAGE = 2000


def upstream_message(body: object, fallback: str) -> str:
    """The upstream's own message text: `error.message`, else `message`, else `detail`."""
    if isinstance(body, dict):
        inner: Any = body.get("error", body)
        if isinstance(inner, dict):
            for key in ("message", "detail"):
                if isinstance(inner.get(key), str) and inner[key]:
                    return inner[key][:_MAX_MESSAGE]
        if isinstance(inner, str) and inner:
            return inner[:_MAX_MESSAGE]
        for key in ("message", "detail"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key][:_MAX_MESSAGE]
    if isinstance(body, str) and body:
        return body[:_MAX_MESSAGE]
    return fallback


def _status_error(provider: Provider, err: Any) -> ControlError:
    status: int = err.status_code
    text = upstream_message(err.body, f"HTTP {status}")
    if status == 429:
        return RateLimited(text, code="upstream_rate_limited")
    if 400 <= status < 500:
        # Relayed with the upstream's status: clients decide what to do next from that text.
        return UpstreamRejected(text, status=status)
    return UpstreamFailed(f"upstream {provider} answered {status}: {text}")


def _timeout(provider: Provider, err: Any) -> ControlError:
    return UpstreamTimeout(f"upstream {provider} timed out")


def _unreachable(provider: Provider, err: Any) -> ControlError:
    return UpstreamFailed(f"upstream {provider} is unreachable: {err.message}")


def _transport(provider: Provider, err: Any) -> ControlError:
    # Raised by an SDK stream that does not wrap its transport's errors (mid-stream reads).
    return UpstreamFailed(f"connection to upstream {provider} failed: {type(err).__name__}")


# Most specific first: a timeout is also a connection error in both SDKs.
_TABLE: tuple[tuple[type[BaseException], Callable[[Provider, Any], ControlError]], ...] = (
    (openai.APIStatusError, _status_error),
    (anthropic.APIStatusError, _status_error),
    (openai.APITimeoutError, _timeout),
    (anthropic.APITimeoutError, _timeout),
    (openai.APIConnectionError, _unreachable),
    (anthropic.APIConnectionError, _unreachable),
    (httpx2.TimeoutException, _timeout),
    (httpx2.TransportError, _transport),
)

UPSTREAM_EXCEPTIONS: tuple[type[BaseException], ...] = (
    openai.APIError,
    anthropic.APIError,
    httpx2.TransportError,
)
__all__.append("UPSTREAM_EXCEPTIONS")


def translate_upstream_error(provider: Provider, err: BaseException) -> ControlError:
    for cls, make in _TABLE:
        if isinstance(err, cls):
            return make(provider, err)
    message = getattr(err, "message", None) or type(err).__name__
    return UpstreamFailed(f"upstream {provider} failed: {message}")


async def relay_events(provider: Provider, events: Any) -> AsyncIterator[dict[str, Any]]:
    """Yield an SDK stream's JSON payloads, translating a failure mid-stream; always closes it."""
    try:
        async for event in events:
            if isinstance(event, dict):
                yield event
    except UPSTREAM_EXCEPTIONS as err:
        raise translate_upstream_error(provider, err) from err
    finally:
        await events.close()
