"""Run-time semantics of SQRT values: matchers, covering, set comparisons, instants, equality (spec 6)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import regex

from server.policy.errors import PolicyRuntimeError

__all__ = [
    "Instant", "RegexMatcher", "NumberMatcher", "DomainMatcher", "SetValue",
    "compile_pattern", "is_linear", "regex_expansion", "wildcard_to_regex", "to_instant", "parse_instant", "covers",
    "overlaps", "subset_of", "superset_of", "values_equal", "matchers_of",
]

SetValue = frozenset[Any]  # strings and matchers; any "*" makes it universal
_MAX_INSTANT_TEXT = 64


@dataclass(frozen=True, slots=True)
class Instant:
    """A `d"..."` literal's value: an absolute point in time."""

    at: datetime


@dataclass(frozen=True, slots=True)
class RegexMatcher:
    """A regex or wildcard element; equal only to the same kind with the same pattern.

    `matches(v)` is a closure built once: without a timer for patterns that cannot backtrack
    badly (`is_linear`; a timer costs ~3 us a match), else with `timeout` seconds per match.
    """

    kind: str  # "regex" | "wildcard"
    pattern: str
    matches: Callable[[Any], bool] = field(compare=False, hash=False, repr=False)

    @staticmethod
    def build(kind: str, pattern: str, compiled: Any, timeout: float | None) -> RegexMatcher:
        fullmatch = compiled.fullmatch
        if timeout is None:
            return RegexMatcher(kind, pattern, lambda v: type(v) is str and fullmatch(v) is not None)
        shown = f'{"r" if kind == "regex" else "w"}"{pattern}"'

        def timed(v: Any) -> bool:
            if type(v) is not str:
                return False
            try:
                return fullmatch(v, timeout=timeout) is not None
            except TimeoutError:
                raise PolicyRuntimeError(f"{kind} {shown} timed out after {timeout}s") from None

        return RegexMatcher(kind, pattern, timed)


@dataclass(frozen=True, slots=True)
class NumberMatcher:
    value: int | float

    def matches(self, v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and v == self.value


@dataclass(frozen=True, slots=True)
class DomainMatcher:
    """A type domain element; `key` is its normalised source text (its identity in set algebra)."""

    key: str
    matches: Callable[[Any], bool] = field(compare=False, hash=False, repr=False)
    is_datetime: bool = field(compare=False, hash=False, default=False)


def compile_pattern(pattern: str) -> Any:
    """Compile a regex with Python `re` syntax and dot-all (spec 6.3); raises `regex.error`."""
    return regex.compile(pattern, regex.DOTALL | regex.VERSION0)


_COUNTED = regex.compile(r"\{(\d*)(?:,(\d*))?\}")


@functools.lru_cache(maxsize=4096)
def regex_expansion(pattern: str) -> int:
    """An upper estimate of the program size counted repeats expand to (`(a{1000}){1000}`: 1e6).

    The `regex` package compiles counted repeats by expansion, so a short pattern can take
    seconds or gigabytes to compile; callers reject patterns whose estimate is too large.
    """
    levels, last, i, n = [0], 1, 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "(":
            levels.append(0)
            i += 1
            continue
        if ch == ")" and len(levels) > 1:
            last = max(levels.pop(), 1)
            levels[-1] += last
            i += 1
            continue
        m = _COUNTED.match(pattern, i) if ch == "{" else None
        if m is not None and (m.group(1) or m.group(2)):
            bound = int(m.group(2) or m.group(1) or "0")
            levels[-1] += last * max(bound - 1, 0)
            last *= max(bound, 1)
            i = m.end()
            continue
        if ch == "[":  # a class is one atom; skip to its closing bracket
            j = i + 1 + (pattern[i + 1 : i + 2] == "^")
            j += pattern[j : j + 1] == "]"
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
        else:
            i += 2 if ch == "\\" else 1
        last = 1
        levels[-1] += 1
    return sum(levels)


_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_BACKREFS = {"GROUPREF", "GROUPREF_EXISTS", "GROUPREF_IGNORE", "GROUPREF_LOC_IGNORE",
             "GROUPREF_UNI_IGNORE"}
MAX_LINEAR_BRANCHES = 64


@functools.lru_cache(maxsize=4096)
def is_linear(pattern: str) -> bool:
    """Whether a full match of `pattern` runs in time linear in the subject, so needs no timer.

    True for patterns with at most one repetition whose body has no alternation, no
    backreferences, and few alternation paths outside it (e.g. `[a-z][a-z0-9_]*`, `/etc/.*`);
    anything the standard parser cannot read is treated as non-linear.
    """
    try:
        import re._parser as sre_parse  # Python's own regex parser (3.11+)

        tree = sre_parse.parse(pattern, 0)
    except Exception:  # noqa: BLE001 - syntax only `regex` knows, or an unavailable module
        return False
    repeats, paths = 0, 1
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, in_repeat = stack.pop()
        for op, av in node:
            name = str(op)
            if name in _BACKREFS:
                return False
            if name in _REPEATS:
                repeats += 1
                if repeats > 1:
                    return False
                stack.append((av[2], True))
            elif name == "BRANCH":
                if in_repeat:
                    return False
                paths *= len(av[1])
                stack.extend((branch, in_repeat) for branch in av[1])
            elif name == "SUBPATTERN":
                stack.append((av[3], in_repeat))
            elif name in ("ASSERT", "ASSERT_NOT"):
                stack.append((av[1], in_repeat))
            elif name == "ATOMIC_GROUP":
                stack.append((av, in_repeat))
    return paths <= MAX_LINEAR_BRANCHES


def wildcard_to_regex(pattern: str) -> str:
    r"""`*` any run, `?` one character, `\c` the character c, everything else itself."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if not out or out[-1] != ".*":  # collapse runs of stars: same language, less backtracking
                out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(regex.escape(pattern[i]))
        else:
            out.append(regex.escape(ch))
        i += 1
    return "".join(out)


def parse_instant(text: str) -> datetime | None:
    """ISO-8601 with `Z` or offsets; a date alone is midnight; no offset means UTC."""
    if len(text) > _MAX_INSTANT_TEXT:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def epoch_instant(seconds: int | float) -> datetime | None:
    if isinstance(seconds, bool):
        return None
    try:
        if not math.isfinite(seconds):
            return None
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def to_instant(v: Any) -> datetime | None:
    """The instant a value denotes (spec 6.4), or None."""
    if isinstance(v, Instant):
        return v.at
    if isinstance(v, str):
        return parse_instant(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return epoch_instant(v)
    return None


def matchers_of(s: SetValue) -> tuple[Any, ...]:
    return tuple(e for e in s if not isinstance(e, str))


def covers(s: SetValue, v: Any, matchers: tuple[Any, ...] | None = None) -> bool:
    """Whether set `s` covers value `v` (spec 6.3, 6.5)."""
    if type(v) is str:  # the common case first
        if v in s or "*" in s:
            return True
        for m in matchers_of(s) if matchers is None else matchers:
            if m.matches(v):
                return True
        return False
    if v is None or isinstance(v, list | tuple | dict | Mapping):
        return False
    if "*" in s:
        return True
    if isinstance(v, Instant):
        ms = matchers_of(s) if matchers is None else matchers
        return any(isinstance(m, DomainMatcher) and m.is_datetime and m.matches(v) for m in ms)
    if isinstance(v, str) and v in s:
        return True
    for m in matchers_of(s) if matchers is None else matchers:
        if m.matches(v):
            return True
    return False


def overlaps(a: SetValue, b: SetValue, bm: tuple[Any, ...] | None = None) -> bool:
    if "*" in a:
        return len(b) > 0
    if "*" in b:
        return len(a) > 0
    if not a.isdisjoint(b):
        return True
    ms = matchers_of(b) if bm is None else bm
    return bool(ms) and any(m.matches(x) for m in ms for x in a)


def subset_of(a: SetValue, b: SetValue, bm: tuple[Any, ...] | None = None) -> bool:
    if "*" in b:
        return True
    if "*" in a:
        return False
    ms = matchers_of(b) if bm is None else bm
    return all(x in b or any(m.matches(x) for m in ms) for x in a)


def superset_of(a: SetValue, b: SetValue) -> bool:
    if "*" in a:
        return True
    if "*" in b:
        return False
    for e in b:
        if isinstance(e, str):
            if e not in a:
                return False
        elif not any(e.matches(x) for x in a):
            return False
    return True


def _scalar_equal(x: Any, y: Any) -> bool | None:
    """Equality of two scalars, or None when both are containers of the same kind."""
    if isinstance(x, bool) or isinstance(y, bool):
        return type(x) is bool and type(y) is bool and x == y
    if isinstance(x, int | float) and isinstance(y, int | float):
        return bool(x == y)
    if isinstance(x, str) or isinstance(y, str):
        return isinstance(x, str) and isinstance(y, str) and x == y
    if x is None or y is None:
        return x is None and y is None
    if isinstance(x, list | tuple) and isinstance(y, list | tuple):
        return None if len(x) == len(y) else False
    if isinstance(x, Mapping) and isinstance(y, Mapping):
        return None if x.keys() == y.keys() else False
    return False


def values_equal(a: Any, b: Any) -> bool:
    """Value `==` (spec 6.5): no coercion, booleans only equal booleans, null equals nothing."""
    if a is None or b is None:
        return False
    if isinstance(a, Instant) or isinstance(b, Instant):
        ia, ib = to_instant(a), to_instant(b)
        return ia is not None and ib is not None and ia == ib
    stack = [(a, b)]  # iterative: argument values may be nested arbitrarily deep
    while stack:
        x, y = stack.pop()
        same = _scalar_equal(x, y)
        if same is False:
            return False
        if same is None:
            if isinstance(x, Mapping):
                stack.extend((x[k], y[k]) for k in x)
            else:
                stack.extend(zip(x, y, strict=True))
    return True
