"""The `re` module of programs, on the `regex` package: every match runs with a timeout.

Decisions: a match that times out ends the run (`LimitExceeded`; a timeout is not deterministic,
so it must not be catchable). Compiling cannot be interrupted, so patterns are bounded before
compiling: at most `MAX_PATTERN_LENGTH` characters and an estimated compiled size (nested repeat
counts multiplied, e.g. `(a{1000}){1000}` → 10^6) of at most `MAX_PATTERN_WEIGHT`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import regex

from server.agents.dual_llm.interpreter.builtins import expect
from server.agents.dual_llm.interpreter.convert import check_size, check_str
from server.agents.dual_llm.interpreter.errors import LimitExceeded
from server.agents.dual_llm.interpreter.methods import Method
from server.agents.dual_llm.interpreter.state import State
from server.agents.dual_llm.interpreter.values import Builtin, LDict, LList, LTuple, Val, join, join_vals, type_name

__all__ = ["RE_ATTRS", "RE_METHODS", "PatternVal", "MatchVal", "compile_pattern", "pattern_weight"]

Fn = Callable[[State, list[Val], Mapping[str, Val]], Val]
MAX_PATTERN_LENGTH: Final = 5_000
MAX_PATTERN_WEIGHT: Final = 100_000
_REPEAT = regex.compile(r"\{(\d*)(?:,(\d*))?\}")


def _raw(a: list[Val], kw: Mapping[str, Val]) -> tuple[list[Any], dict[str, Any], Any]:
    return [v for v, _ in a], {k: v for k, (v, _) in kw.items()}, join_vals(kw.values(), join_vals(a))


def pattern_weight(pattern: str) -> int:
    """Estimated compiled size: atoms count 1, groups sum their atoms, repeats multiply."""
    frames: list[list[int]] = [[0, 0]]  # per group: [total, weight of the last atom]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            frames[-1][0] += 1
            frames[-1][1] = 1
            continue
        if c == "[":
            j = i + 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            frames[-1][0] += 1
            frames[-1][1] = 1
            continue
        if c == "(":
            frames.append([0, 0])
        elif c == ")" and len(frames) > 1:
            total = max(frames.pop()[0], 1)
            frames[-1][0] += total
            frames[-1][1] = total
        elif c == "{":
            m = _REPEAT.match(pattern, i)
            if m is not None:
                low, high = m.group(1), m.group(2)
                if high is None:  # {n}
                    count = int(low or 1)
                elif high == "":  # {n,}: open-ended repeats compile as loops
                    count = 2 * int(low or 1)
                else:  # {m,n}
                    count = int(high)
                last = frames[-1][1]
                frames[-1][0] += last * (max(count, 1) - 1)
                frames[-1][1] = last * max(count, 1)
                i = m.end()
                continue
            frames[-1][0] += 1
        elif c not in "*+?|^$":
            frames[-1][0] += 1
            frames[-1][1] = 1
        i += 1
    return sum(f[0] for f in frames)


def compile_pattern(pattern: Any, flags: Any) -> Any:
    """A compiled `regex` pattern, refusing patterns too large to compile quickly."""
    if type(pattern) is PatternVal:
        return pattern.compiled
    if type(pattern) is not str or type(flags) not in (int, bool):
        raise TypeError("a pattern must be a string and flags an integer")
    if len(pattern) > MAX_PATTERN_LENGTH or pattern_weight(pattern) > MAX_PATTERN_WEIGHT:
        raise LimitExceeded(
            "regex_timeout_seconds",
            f"a regular expression too large to compile safely (over {MAX_PATTERN_LENGTH} "
            f"characters or about {MAX_PATTERN_WEIGHT} compiled elements)",
        )
    return regex.compile(pattern, flags | regex.VERSION0)

# ---- re --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class PatternVal:
    """A compiled pattern (`re.compile`)."""

    pattern: str
    flags: int
    compiled: Any


@dataclass(frozen=True, slots=True, eq=False)
class MatchVal:
    """A match object; its methods answer from the recorded match."""

    match: Any

    def __bool__(self) -> bool:
        return True


def _timed(st: State, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, timeout=st.limits.regex_timeout_seconds, **kwargs)
    except TimeoutError:
        raise LimitExceeded(
            "regex_timeout_seconds",
            f"a regular expression ran longer than {st.limits.regex_timeout_seconds} s",
        ) from None


def _wrap(r: Any, m: Any, st: State) -> Val:
    if r is None:
        return (None, m)
    if isinstance(r, str):
        return (check_str(r, st.limits.max_string_length), m)
    if isinstance(r, regex.Match):
        return (MatchVal(r), m)
    if isinstance(r, tuple):
        return (LTuple(tuple(_wrap(x, m, st) for x in r)), m)
    if isinstance(r, list):
        check_size(len(r), st.limits.max_container_size)
        return (LList(tuple(_wrap(x, m, st) for x in r)), m)
    return (r, m)


def _check_sub(st: State, pat: Any, repl: str, s: str) -> None:
    """Refuse a substitution whose result could exceed the string limit, before running it.

    Upper bound: a pattern that can match the empty string matches at most `len(s) + 1` times;
    otherwise each match consumes a character. A group reference may expand to `len(s)`.
    """
    lim = st.limits.max_string_length
    per = len(repl) + (len(s) if "\\" in repl else 0)
    if _timed(st, pat.fullmatch, "") is not None:
        bound = len(s) + (len(s) + 1) * per
    else:
        bound = len(s) + len(s) * max(per - 1, 0)
        if bound > lim:  # count the matches to be precise
            bound = len(s) + len(_timed(st, pat.findall, s)) * per
    if bound > lim:
        raise LimitExceeded("max_string_length", f"re.sub() could build more than {lim} characters")


_RE_SIGNATURES: Final[dict[str, tuple[str, ...]]] = {
    "match": ("string", "pos", "endpos"),
    "search": ("string", "pos", "endpos"),
    "fullmatch": ("string", "pos", "endpos"),
    "findall": ("string", "pos", "endpos"),
    "finditer": ("string", "pos", "endpos"),
    "split": ("string", "maxsplit"),
    "sub": ("repl", "string", "count"),
}


def _apply(st: State, pat: Any, name: str, raw: list[Any], m: Any) -> Val:
    for x in raw:
        if type(x) not in (str, int, bool):
            raise TypeError(f"re.{name}() takes strings and integers, not '{type_name(x)}'")
    if name == "sub":
        _check_sub(st, pat, raw[0], raw[1])
    fn = getattr(pat, "finditer" if name == "finditer" else name)
    r = _timed(st, fn, *raw)
    if name == "finditer":
        r = list(r)
    return _wrap(r, m, st)


_MODULE_SIGNATURES: Final[dict[str, tuple[tuple[str, ...], int]]] = {
    "match": (("string", "flags"), 1),
    "search": (("string", "flags"), 1),
    "fullmatch": (("string", "flags"), 1),
    "findall": (("string", "flags"), 1),
    "finditer": (("string", "flags"), 1),
    "split": (("string", "maxsplit", "flags"), 1),
    "sub": (("repl", "string", "count", "flags"), 2),
}


def _re_function(name: str) -> Fn:
    """`re.NAME(pattern, ...)` with the standard library's signature."""
    sig, required = _MODULE_SIGNATURES[name]

    def fn(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(f"re.{name}", a, kw, 1, 1 + len(sig), sig)
        raw, kwraw, m = _raw(a, kw)
        bound = dict(zip(("pattern", *sig), raw))
        for k, v in kwraw.items():
            if k in bound:
                raise TypeError(f"re.{name}() got multiple values for argument '{k}'")
            bound[k] = v
        if sum(1 for p in sig[:required] if p in bound) < required:
            raise TypeError(f"re.{name}() missing required argument(s): {', '.join(sig[:required])}")
        pat = compile_pattern(bound.pop("pattern"), bound.pop("flags", 0))
        return _apply(st, pat, name, [bound[p] for p in sig if p in bound], m)

    return fn


def _re_compile(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("re.compile", a, kw, 1, 2, ("flags",))
    raw, kwraw, m = _raw(a, kw)
    flags = raw[1] if len(raw) > 1 else kwraw.get("flags", 0)
    return (PatternVal(raw[0], flags, compile_pattern(raw[0], flags)), m)


def _re_escape(st: State, a: list[Val], kw: Mapping[str, Val]) -> Val:
    expect("re.escape", a, kw, 1, 1)
    if type(a[0][0]) is not str:
        raise TypeError("re.escape() takes a string")
    return (check_str(regex.escape(a[0][0]), st.limits.max_string_length), a[0][1])


def _pattern_method(name: str) -> Method:
    def fn(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
        params = _RE_SIGNATURES[name]
        expect(name, a, kw, 1, len(params), params)
        raw, kwraw, m = _raw(a, kw)
        args = raw + [kwraw[p] for p in params[len(raw):] if p in kwraw]
        return _apply(st, rv[0].compiled, name, args, join(m, rv[1]))

    return fn


def _match_method(name: str) -> Method:
    def fn(st: State, rv: Val, a: list[Val], kw: Mapping[str, Val]) -> Val:
        expect(name, a, kw, 0, 8, ("default",))
        raw, kwraw, m = _raw(a, kw)
        for x in raw:
            if type(x) not in (str, int):
                raise TypeError(f"{name}() takes group numbers or names")
        r = getattr(rv[0].match, name)(*raw, **kwraw)
        if isinstance(r, dict):
            return (LDict({k: (v, join(m, rv[1])) for k, v in r.items()}), join(m, rv[1]))
        return _wrap(r, join(m, rv[1]), st)

    return fn


RE_METHODS: Final[dict[type, dict[str, Method]]] = {
    PatternVal: {n: _pattern_method(n) for n in _RE_SIGNATURES},
    MatchVal: {n: _match_method(n) for n in ("group", "groups", "groupdict", "start", "end", "span")},
}

_RE_FLAGS: Final = {
    "IGNORECASE": int(regex.IGNORECASE), "I": int(regex.IGNORECASE),
    "MULTILINE": int(regex.MULTILINE), "M": int(regex.MULTILINE),
    "DOTALL": int(regex.DOTALL), "S": int(regex.DOTALL),
    "VERBOSE": int(regex.VERBOSE), "X": int(regex.VERBOSE),
    "ASCII": int(regex.ASCII), "A": int(regex.ASCII),
}


RE_ATTRS: Final[dict[str, Any]] = (
    {n: Builtin(f"re.{n}", _re_function(n)) for n in _MODULE_SIGNATURES}
    | {"compile": Builtin("re.compile", _re_compile), "escape": Builtin("re.escape", _re_escape)}
    | _RE_FLAGS
)
