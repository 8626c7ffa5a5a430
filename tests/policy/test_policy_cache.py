"""The policy cache and the language registry: keys, LRU eviction, cached load errors, dispatch."""

from __future__ import annotations

import pytest

import server.policy as policy_pkg
from server.policy import LANGUAGES, get_loader, load_policy
from server.policy.cache import PolicyCache, cache_key
from server.policy.engine import PolicySet, Presets
from server.policy.errors import PolicyLoadError


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str, presets: Presets) -> PolicySet:
        self.calls += 1
        from server.policy.sqrt import load_policy as sqrt_load

        return sqrt_load(text, presets)


def test_key_distinguishes_language_text_and_presets() -> None:
    keys = {cache_key("sqrt", "a", Presets()), cache_key("cedar", "a", Presets()),
            cache_key("sqrt", "b", Presets()), cache_key("sqrt", "a", Presets(default_allow=False))}
    assert len(keys) == 4
    assert cache_key("sqrt", "a", Presets()) == cache_key("sqrt", "a", Presets())


def test_hit_returns_the_same_object_without_loading() -> None:
    cache, loader = PolicyCache(), _Counting()
    first = cache.get_or_load("sqrt", 'tool "t" { hard deny always; }', Presets(), loader)
    again = cache.get_or_load("sqrt", 'tool "t" { hard deny always; }', Presets(), loader)
    assert first is again and loader.calls == 1 and (cache.hits, cache.misses) == (1, 1)


def test_lru_eviction() -> None:
    cache, loader = PolicyCache(maxsize=2), _Counting()
    for text in ("", "// a", ""):
        cache.get_or_load("sqrt", text, Presets(), loader)
    cache.get_or_load("sqrt", "// b", Presets(), loader)  # evicts "// a", the least recent
    assert len(cache) == 2 and loader.calls == 3
    cache.get_or_load("sqrt", "", Presets(), loader)
    assert loader.calls == 3
    cache.get_or_load("sqrt", "// a", Presets(), loader)
    assert loader.calls == 4


def test_load_errors_are_cached_and_reraised() -> None:
    cache, loader = PolicyCache(), _Counting()
    for _ in range(3):
        with pytest.raises(PolicyLoadError, match="line 1"):
            cache.get_or_load("sqrt", "let", Presets(), loader)
    assert loader.calls == 1


def test_invalid_maxsize() -> None:
    with pytest.raises(ValueError, match="maxsize must be >= 1"):
        PolicyCache(maxsize=0)


def test_registry_dispatches_by_language() -> None:
    assert LANGUAGES == ("cedar", "sqrt")
    cache = PolicyCache()
    assert load_policy("sqrt", "", cache=cache).language == "sqrt"
    assert load_policy("cedar", "", cache=cache).language == "cedar"
    assert len(cache) == 2


def test_unknown_language() -> None:
    with pytest.raises(PolicyLoadError, match="unknown policy language 'rego'; allowed: cedar, sqrt"):
        get_loader("rego")


def test_registry_table_can_be_extended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(policy_pkg.LOADERS, "test", lambda: _Counting())
    assert load_policy("test", "", cache=PolicyCache()).language == "sqrt"


def test_default_cache_is_shared() -> None:
    assert policy_pkg.default_cache() is policy_pkg.default_cache()


def test_missing_language_module_is_a_load_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(policy_pkg.LOADERS, "gone", policy_pkg._module_loader("server.nope"))
    with pytest.raises(PolicyLoadError, match="policy language 'gone' is not available"):
        get_loader("gone")
