"""Runtime values: `(value, MetaData)` pairs, immutable containers with per-element metadata.

Decisions:

- Inside the interpreter a labelled value is a plain 2-tuple `Val = (value, meta)`: frozen and
  about fifteen times cheaper to build than the public `Labelled` dataclass, which is used only at
  the boundaries (gateway, context variables, results).
- Containers (`LList`, `LTuple`, `LDict`, `LSet`) are immutable and hold `Val` elements (dict
  values and set members carry their own metadata; dict keys are plain hashable values whose
  metadata is folded into their entry). The metadata of the container itself is the `meta` of the
  pair holding it and always covers every element (displays join their elements; mutations join
  the new value), so passing a container's metadata to a policy is sound.
- Mutation is copy-on-write: a mutating method builds a new container and the interpreter rebinds
  the place the receiver was read from (a name, or a subscript chain rooted at a name). Hence,
  unlike Python, `b = a; b.append(1)` leaves `a` unchanged: no shared mutable state exists.
- Sets and dicts iterate in insertion order (Python's string hashing is randomised per process,
  which would break deterministic replay).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from server.policy.metadata import DEFAULT_META, MetaData

__all__ = [
    "Val",
    "D",
    "join",
    "join_vals",
    "LList",
    "LTuple",
    "LDict",
    "LSet",
    "CONTAINERS",
    "nesting_depth",
    "ErrorValue",
    "ErrorType",
    "TypeVal",
    "ModuleVal",
    "Builtin",
    "ToolRef",
    "type_name",
]

Val = tuple[Any, MetaData]
D: Final = DEFAULT_META


@lru_cache(maxsize=4096)
def _join_slow(a: MetaData, b: MetaData) -> MetaData:
    return a.join(b)


def join(a: MetaData, b: MetaData) -> MetaData:
    """`a.join(b)` with identity short-cuts for the default (the overwhelmingly common case)."""
    if b is D or a is b:
        return a
    if a is D:
        return b
    return _join_slow(a, b)


def join_vals(vals: Iterable[Val], start: MetaData = D) -> MetaData:
    m = start
    for _, vm in vals:
        if vm is not D and vm is not m:
            m = join(m, vm)
    return m


class _Seq:
    """Shared behaviour of the two sequence types; `items` is a tuple of `Val`."""

    __slots__ = ("items", "depth")
    kind = "sequence"

    def __init__(self, items: tuple[Val, ...]) -> None:
        self.items = items
        self.depth: int | None = None  # memo of `nesting_depth`

    def raw(self) -> list[Any]:
        return [v for v, _ in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return (v for v, _ in self.items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Seq) and type(other) is type(self) and self.raw() == other.raw()

    def _cmp(self, other: object) -> tuple[list[Any], list[Any]]:
        if type(other) is not type(self):
            raise TypeError(
                f"'<' not supported between instances of '{self.kind}' and '{type_name(other)}'"
            )
        return self.raw(), other.raw()

    def __lt__(self, other: object) -> bool:
        a, b = self._cmp(other)
        return a < b

    def __le__(self, other: object) -> bool:
        a, b = self._cmp(other)
        return a <= b

    def __gt__(self, other: object) -> bool:
        a, b = self._cmp(other)
        return a > b

    def __ge__(self, other: object) -> bool:
        a, b = self._cmp(other)
        return a >= b


class LList(_Seq):
    """An immutable list value."""

    __slots__ = ()
    kind = "list"

    def __hash__(self) -> int:
        raise TypeError("unhashable type: 'list'")


class LTuple(_Seq):
    """An immutable tuple value (hashable when its elements are)."""

    __slots__ = ()
    kind = "tuple"

    def __hash__(self) -> int:
        return hash(tuple(self.raw()))


class LDict:
    """An immutable dict value: plain hashable key → `Val`."""

    __slots__ = ("items", "depth")
    kind = "dict"

    def __init__(self, items: dict[Any, Val]) -> None:
        self.items = items
        self.depth: int | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def raw(self) -> dict[Any, Any]:
        return {k: v for k, (v, _) in self.items.items()}

    def __eq__(self, other: object) -> bool:
        return type(other) is LDict and self.raw() == other.raw()

    def __hash__(self) -> int:
        raise TypeError("unhashable type: 'dict'")


class LSet:
    """An immutable set value: plain hashable member → its metadata, in insertion order."""

    __slots__ = ("items", "depth")
    kind = "set"

    def __init__(self, items: dict[Any, MetaData]) -> None:
        self.items = items
        self.depth: int | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __eq__(self, other: object) -> bool:
        return type(other) is LSet and self.items.keys() == other.items.keys()

    def __hash__(self) -> int:
        raise TypeError("unhashable type: 'set'")


CONTAINERS: Final = (LList, LTuple, LDict, LSet)


def nesting_depth(v: Any, limit: int) -> int:
    """How deeply containers nest in `v` (0 for a scalar), at most `limit + 1` (so the walk never
    recurses deeper than the limit). Memoised on each container: values are immutable."""
    t = type(v)
    if t not in _CONTAINER_TYPES:
        return 0
    if v.depth is not None:
        return v.depth  # type: ignore[no-any-return]
    if limit <= 0:
        return 1
    if t is LDict:
        children: Any = [k for k in v.items] + [x for x, _ in v.items.values()]
    elif t is LSet:
        children = list(v.items)
    else:
        children = [x for x, _ in v.items]
    inner = 0
    for c in children:
        if type(c) in _CONTAINER_TYPES:
            inner = max(inner, nesting_depth(c, limit - 1))
            if inner >= limit:
                break
    d = 1 + inner
    if inner < limit:
        v.depth = d  # exact: safe to remember
    return d


_CONTAINER_TYPES: Final = frozenset(CONTAINERS)


@dataclass(frozen=True, slots=True)
class ErrorValue:
    """A program-visible exception value (bound by `except E as e`, built by `ValueError(...)`)."""

    type_name: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class ErrorType:
    """A program-visible exception type such as `ValueError` (see `errors.EXCEPTION_PARENTS`)."""

    name: str


@dataclass(frozen=True, slots=True, eq=False)
class TypeVal:
    """A callable type or class: builtin `str`/`list`/..., `datetime.date`, ...

    `checks` are the runtime classes `isinstance` accepts; `host` is what a tool receives when the
    type itself is passed as an argument (e.g. `parse_with_ai(q, output_schema=int)` → `int`).
    """

    name: str
    checks: tuple[type, ...]
    call: Callable[..., Val]
    host: Any = None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class ModuleVal:
    """An allowlisted module: its attribute table."""

    name: str
    attrs: dict[str, Any]


@dataclass(frozen=True, slots=True, eq=False)
class Builtin:
    """An allowlisted function: `call(st, args, kwargs) -> Val`, args as `Val`s."""

    name: str
    call: Callable[..., Val]


@dataclass(frozen=True, slots=True)
class ToolRef:
    """A tool name, resolved through the gateway when called."""

    name: str


_TYPE_NAMES: Final[dict[type, str]] = {
    type(None): "NoneType",
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    LList: "list",
    LTuple: "tuple",
    LDict: "dict",
    LSet: "set",
    range: "range",
    _dt.datetime: "datetime",
    _dt.date: "date",
    _dt.time: "time",
    _dt.timedelta: "timedelta",
    ErrorValue: "exception",
    TypeVal: "type",
    ErrorType: "type",
    ModuleVal: "module",
    Builtin: "builtin_function",
    ToolRef: "tool",
}


def type_name(v: Any) -> str:
    """The Python-like type name used in error messages."""
    if type(v) is ErrorValue:
        return v.type_name
    return _TYPE_NAMES.get(type(v), type(v).__name__)
