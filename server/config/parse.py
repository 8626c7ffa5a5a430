"""Parse an X-Features / X-Policy / X-Config header text into its frozen model (bounded cache).

The same header text usually arrives on every request of a client, so parsed models are cached by
(header, text) in an LRU of `HEADER_CACHE_SIZE` entries. Texts longer than
`MAX_CACHED_HEADER_CHARS` (a large X-Policy) are parsed every time, so the cache never holds more
than about `HEADER_CACHE_SIZE * MAX_CACHED_HEADER_CHARS` characters. Cached models are frozen,
so sharing them between requests is safe; failures are not cached (they are rare and cheap).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, overload

from pydantic import ValidationError

from server.config.errors import clauses
from server.config.models import ConfigHeader, FeaturesHeader, HeaderModel, PolicyHeader
from server.errors import InvalidHeader
from server.names import Header

__all__ = [
    "HEADER_CACHE_SIZE",
    "MAX_CACHED_HEADER_CHARS",
    "HEADER_MODELS",
    "HEADER_DISPLAY_NAMES",
    "parse_header",
    "clear_cache",
]

HEADER_CACHE_SIZE = 256
MAX_CACHED_HEADER_CHARS = 64 * 1024

HEADER_MODELS: dict[Header, type[HeaderModel]] = {
    Header.FEATURES: FeaturesHeader,
    Header.POLICY: PolicyHeader,
    Header.CONFIG: ConfigHeader,
}

# `Header` values are lower-case wire names; errors use the spelling of the spec and the client.
HEADER_DISPLAY_NAMES: dict[Header, str] = {
    Header.FEATURES: "X-Features",
    Header.POLICY: "X-Policy",
    Header.CONFIG: "X-Config",
}


@overload
def parse_header(header: Literal[Header.FEATURES], raw: str | None) -> FeaturesHeader | None: ...
@overload
def parse_header(header: Literal[Header.POLICY], raw: str | None) -> PolicyHeader | None: ...
@overload
def parse_header(header: Literal[Header.CONFIG], raw: str | None) -> ConfigHeader | None: ...
@overload
def parse_header(header: Header, raw: str | None) -> HeaderModel | None: ...


def parse_header(header: Header, raw: str | None) -> HeaderModel | None:
    """The header's model, or None when it is absent, empty or the JSON `null` (spec 2.1).

    Raises `InvalidHeader` with one clause per problem.

    >>> parse_header(Header.CONFIG, '{"fsm": {"max_n_turns": 5}}').fsm.max_n_turns
    5
    """
    if raw is None:
        return None
    header = Header(str(header).lower())
    if header not in HEADER_MODELS:
        raise ValueError(f"{header!r} is not a config header; use one of {list(HEADER_MODELS)}")
    if len(raw) <= MAX_CACHED_HEADER_CHARS:
        return _parse_cached(header, raw)
    return _parse(header, raw)


@lru_cache(maxsize=HEADER_CACHE_SIZE)
def _parse_cached(header: Header, raw: str) -> HeaderModel | None:
    return _parse(header, raw)


def _parse(header: Header, raw: str) -> HeaderModel | None:
    text = raw.strip()
    if not text or text == "null":
        return None
    try:
        return HEADER_MODELS[header].model_validate_json(text)
    except ValidationError as exc:
        raise InvalidHeader(HEADER_DISPLAY_NAMES[header], clauses(exc)) from None


def clear_cache() -> None:
    """Forget every cached header (tests; a deployment never needs it)."""
    _parse_cached.cache_clear()
