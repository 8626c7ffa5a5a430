"""A bounded LRU of loaded policies keyed by a SHA-256 of (language, text) and the presets."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from server.policy.engine import PolicySet, Presets
from server.policy.errors import PolicyLoadError

__all__ = ["PolicyCache", "Loader", "cache_key"]

Loader = Callable[[str, Presets], PolicySet]
CacheKey = tuple[str, bytes, Presets]


def cache_key(language: str, text: str, presets: Presets) -> CacheKey:
    """The key of one policy: the text is hashed, so a 10 KB header costs one SHA-256.

    >>> cache_key("sqrt", "", Presets())[1].hex()[:8]
    'e3b0c442'
    """
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return (language, digest, presets)


class PolicyCache:
    """Loaded policies, least recently used evicted first; load errors are cached too.

    Caching a failed load means a client resending a broken (or hostile) policy costs one hash,
    not one parse, per request. Thread-safe; two threads missing at once may both load.
    """

    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ValueError(f"PolicyCache maxsize must be >= 1 (got {maxsize})")
        self.maxsize = maxsize
        self._entries: OrderedDict[CacheKey, PolicySet | PolicyLoadError] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get_or_load(self, language: str, text: str, presets: Presets, loader: Loader) -> PolicySet:
        """The cached policy for (language, text, presets), loading it with `loader` on a miss.

        Raises the (cached) `PolicyLoadError` when the text does not load.
        """
        key = cache_key(language, text, presets)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if entry is None:
            self.misses += 1
            try:
                entry = loader(text, presets)
            except PolicyLoadError as err:
                entry = err
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)
        if isinstance(entry, PolicyLoadError):
            raise entry
        return entry
