"""The policy layer: load a policy in any registered language (through the cache) and check calls.

`load_policy(language, text, presets)` dispatches on `X-Policy.codes.language` through the
`LOADERS` table (Cedar is imported only when first used) and caches compiled policies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from server.policy.cache import Loader, PolicyCache
from server.policy.engine import PolicySet, Presets
from server.policy.errors import PolicyLoadError

__all__ = ["LOADERS", "LANGUAGES", "default_cache", "get_loader", "load_policy"]


def _module_loader(module: str) -> Callable[[], Loader]:
    def resolve() -> Loader:
        loader: Loader = importlib.import_module(module).load_policy
        return loader

    return resolve


LOADERS: dict[str, Callable[[], Loader]] = {
    "sqrt": _module_loader("server.policy.sqrt"),
    "cedar": _module_loader("server.policy.cedar"),
}
LANGUAGES = tuple(sorted(LOADERS))
_DEFAULT_PRESETS = Presets()
_CACHE = PolicyCache()


def default_cache() -> PolicyCache:
    """The process-wide cache (pass your own `cache=` to `load_policy` in tests)."""
    return _CACHE


def get_loader(language: str) -> Loader:
    """The `load_policy(text, presets)` of one language; `PolicyLoadError` for unknown names."""
    factory = LOADERS.get(language)
    if factory is None:
        raise PolicyLoadError(
            f"unknown policy language {language!r}; allowed: {', '.join(LANGUAGES)}",
            language=language,
        )
    try:
        return factory()
    except ImportError as err:  # e.g. a deployment without the Cedar engine or cedarpy
        raise PolicyLoadError(
            f"policy language {language!r} is not available here: {err}", language=language
        ) from None


def load_policy(
    language: str,
    text: str,
    presets: Presets = _DEFAULT_PRESETS,
    *,
    cache: PolicyCache | None = None,
) -> PolicySet:
    """Load (or fetch from the cache) a policy; raises `PolicyLoadError` with line and column.

    >>> load_policy("sqrt", 'tool "t" { hard deny always; }').language
    'sqrt'
    """
    loader = get_loader(language)
    return (cache if cache is not None else _CACHE).get_or_load(language, text, presets, loader)
