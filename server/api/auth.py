"""Bearer-key authentication against the key database, with a short per-process cache."""

from __future__ import annotations

import hashlib
import time
from typing import Protocol

from starlette.requests import Request

from server.errors import Unauthorized
from server.keys import KeyRecord

__all__ = ["Authenticator", "CACHE_SECONDS"]

# A revoked key stops working on every worker within this many seconds.
CACHE_SECONDS = 5.0
_MAX_CACHED = 10_000


class _KeyLookup(Protocol):
    def authenticate(self, secret: str) -> KeyRecord | None: ...


class Authenticator:
    """Maps `Authorization: Bearer <key>` to its key record, or raises 401.

    The cache is keyed by the SHA-256 of the secret (the secret itself is never kept), so a hot
    key costs one hash per request instead of a database round trip.
    """

    def __init__(self, keys: _KeyLookup, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._keys = keys
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[float, KeyRecord]] = {}

    def __call__(self, request: Request) -> KeyRecord:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized(
                "missing bearer key: send 'Authorization: Bearer <key>' "
                "(create one with `sequrity-control keys create`)"
            )
        digest = hashlib.sha256(secret.strip().encode()).hexdigest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        record = self._keys.authenticate(secret.strip())
        if record is None:
            self._cache.pop(digest, None)
            raise Unauthorized("unknown or revoked bearer key")
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, record)
        return record
