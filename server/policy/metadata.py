"""Metadata on values (producers, consumers, tags) and labelled values — one definition, used everywhere.

A metadata set is finite or universal. The universal set is represented canonically as
`frozenset({"*"})` (spec sqrt 4.2: a set that would contain `"*"` is universal), so it
serialises as `["*"]` with no special casing. Set operations follow spec sqrt 6.2: co-finite sets
are not represented, so removing names from the universal set leaves it universal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "UNIVERSAL",
    "EMPTY",
    "MetaSet",
    "meta_set",
    "is_universal",
    "set_union",
    "set_intersection",
    "set_difference",
    "set_symmetric_difference",
    "MetaData",
    "Labelled",
    "MetaDataError",
]

MetaSet = frozenset[str]
UNIVERSAL: MetaSet = frozenset({"*"})
EMPTY: MetaSet = frozenset()


class MetaDataError(ValueError):
    """A metadata object in the wire shape was malformed (names the field)."""


def meta_set(items: Iterable[str]) -> MetaSet:
    """Build a metadata set; any `"*"` makes it universal.

    >>> meta_set(["a", "*"]) == UNIVERSAL
    True
    """
    s = frozenset(items)
    return UNIVERSAL if "*" in s else s


def is_universal(s: MetaSet) -> bool:
    return "*" in s


def set_union(a: MetaSet, b: MetaSet) -> MetaSet:
    if is_universal(a) or is_universal(b):
        return UNIVERSAL
    return a | b


def set_intersection(a: MetaSet, b: MetaSet) -> MetaSet:
    if is_universal(a):
        return b
    if is_universal(b):
        return a
    return a & b


def set_difference(a: MetaSet, b: MetaSet) -> MetaSet:
    if is_universal(b):
        return EMPTY
    if is_universal(a):
        return UNIVERSAL
    return a - b


def set_symmetric_difference(a: MetaSet, b: MetaSet) -> MetaSet:
    ua, ub = is_universal(a), is_universal(b)
    if ua and ub:
        return EMPTY
    if ua or ub:
        return UNIVERSAL
    return a ^ b


def _wire_list(s: MetaSet) -> list[str]:
    return ["*"] if is_universal(s) else sorted(s)


@dataclass(frozen=True, slots=True)
class MetaData:
    """The metadata triple. Defaults: no producers, universal consumers, no tags.

    >>> a = MetaData(producers=frozenset({"mail"}), tags=frozenset({"pii"}))
    >>> b = MetaData(consumers=frozenset({"bob"}))
    >>> a.join(b).to_json()
    {'producers': ['mail'], 'consumers': ['bob'], 'tags': ['pii']}
    """

    producers: MetaSet = EMPTY
    consumers: MetaSet = UNIVERSAL
    tags: MetaSet = EMPTY

    def __post_init__(self) -> None:
        # Normalise so that equality and hashing see one representation of the universal set.
        for name in ("producers", "consumers", "tags"):
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                value = frozenset(value)
            if "*" in value and value != UNIVERSAL:
                value = UNIVERSAL
            object.__setattr__(self, name, value)

    def join(self, other: MetaData) -> MetaData:
        """Combine parents: producers union, consumers intersection, tags union."""
        if other is self or other == DEFAULT_META:
            return self
        if self == DEFAULT_META:
            return other
        return MetaData(
            producers=set_union(self.producers, other.producers),
            consumers=set_intersection(self.consumers, other.consumers),
            tags=set_union(self.tags, other.tags),
        )

    @staticmethod
    def join_all(metas: Iterable[MetaData]) -> MetaData:
        """Join of many; the default triple for none."""
        out = DEFAULT_META
        for m in metas:
            out = out.join(m)
        return out

    def to_json(self) -> dict[str, list[str]]:
        """The wire shape `{"producers": [...], "consumers": [...], "tags": [...]}` (sorted)."""
        return {
            "producers": _wire_list(self.producers),
            "consumers": _wire_list(self.consumers),
            "tags": _wire_list(self.tags),
        }

    @staticmethod
    def from_json(data: Mapping[str, Any] | None, *, path: str = "meta") -> MetaData:
        """Parse the wire shape; missing fields take their defaults; unknown keys are errors."""
        if data is None or data == _DEFAULT_JSON:  # the common case, without building sets
            return DEFAULT_META
        key = _cache_key(data)
        if key is not None and (hit := _PARSED.get(key)) is not None:
            return hit
        parsed = MetaData._parse(data, path=path)
        if key is not None:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[key] = parsed
        return parsed

    @staticmethod
    def _parse(data: Mapping[str, Any], *, path: str) -> MetaData:
        if not isinstance(data, Mapping):
            raise MetaDataError(f"{path}: must be an object with producers, consumers, tags")
        unknown = set(data) - {"producers", "consumers", "tags"}
        if unknown:
            raise MetaDataError(
                f"{path}: unknown key(s) {sorted(unknown)}; allowed: producers, consumers, tags"
            )
        values: dict[str, MetaSet] = {}
        for name in ("producers", "consumers", "tags"):
            if name not in data or data[name] is None:
                continue
            items = data[name]
            if not isinstance(items, list | tuple | set | frozenset) or not all(
                isinstance(i, str) for i in items
            ):
                raise MetaDataError(f"{path}.{name}: must be a list of strings")
            values[name] = meta_set(items)
        return MetaData(**values)


DEFAULT_META = MetaData()
_DEFAULT_JSON = {"producers": [], "consumers": ["*"], "tags": []}
# Parsed wire metadata by content: replays parse the same few triples thousands of times. A cache
# that can be rebuilt at any moment (bounded, cleared when full).
_PARSED: dict[tuple[tuple[Any, ...], ...], MetaData] = {}
_PARSED_MAX = 4096


def _cache_key(data: Any) -> tuple[tuple[Any, ...], ...] | None:
    if not isinstance(data, dict) or len(data) != 3:
        return None
    try:
        key = (tuple(data["producers"]), tuple(data["consumers"]), tuple(data["tags"]))
    except (KeyError, TypeError):
        return None
    return key if all(isinstance(i, str) for part in key for i in part) else None
__all__.append("DEFAULT_META")


@dataclass(frozen=True, slots=True)
class Labelled:
    """A value with its metadata. `value` is plain JSON-like data."""

    value: Any
    meta: MetaData = field(default=DEFAULT_META)

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "meta": self.meta.to_json()}

    @staticmethod
    def from_json(data: Mapping[str, Any], *, path: str = "value") -> Labelled:
        if not isinstance(data, Mapping) or "value" not in data:
            raise MetaDataError(f"{path}: must be an object with 'value' and optional 'meta'")
        return Labelled(data["value"], MetaData.from_json(data.get("meta"), path=f"{path}.meta"))
