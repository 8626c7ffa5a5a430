"""Compiles SQRT literals, set elements and type domains (spec 2.3, 6.3, 6.4) into run-time values."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import regex

from server.policy.errors import PolicyLoadError
from server.policy.sqrt import ast as A
from server.policy.sqrt.limits import Limits
from server.policy.sqrt.spans import load_error
from server.policy.sqrt.values import (
    DomainMatcher, Instant, NumberMatcher, RegexMatcher, compile_pattern, epoch_instant, is_linear,
    parse_instant, regex_expansion, to_instant, wildcard_to_regex,
)

__all__ = ["DomainCompiler", "range_test"]

_ISO_HINT = "expected an ISO-8601 instant such as 2025-01-06T09:00:00Z or 2025-01-06"


def range_test(low: Any, high: Any, low_open: bool, high_open: bool) -> Callable[[Any], bool]:
    """Membership in a range with optional bounds (None means unbounded)."""

    def test(x: Any) -> bool:
        if low is not None and (x < low or (low_open and x == low)):
            return False
        return not (high is not None and (x > high or (high_open and x == high)))

    return test


class DomainCompiler:
    """Turns literal AST nodes into values and matchers, compiling regexes once at load time."""

    def __init__(self, *, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits

    def fail(self, message: str, span: A.Span) -> PolicyLoadError:
        return load_error(self.source, message, span)

    def regex(self, lit: A.RegexLit | A.WildcardLit) -> RegexMatcher:
        kind = "regex" if isinstance(lit, A.RegexLit) else "wildcard"
        if len(lit.pattern) > self.limits.max_regex_chars:
            raise self.fail(f"{kind} pattern is {len(lit.pattern)} characters long; at most "
                            f"{self.limits.max_regex_chars} allowed", lit.span)
        text = lit.pattern if kind == "regex" else wildcard_to_regex(lit.pattern)
        size = regex_expansion(text)
        if size > self.limits.max_regex_expansion:
            raise self.fail(f"{kind} pattern expands to about {size} steps through counted "
                            f"repeats such as {{1000}}; at most {self.limits.max_regex_expansion} "
                            "allowed (use + or * instead)", lit.span)
        timeout = None if is_linear(text) else self.limits.regex_timeout
        return RegexMatcher.build(kind, lit.pattern, self.compile(text, lit.span), timeout)

    def compile(self, pattern: str, span: A.Span) -> Any:
        try:
            return compile_pattern(pattern)
        except (regex.error, OverflowError, RecursionError, ValueError) as err:
            raise self.fail(f"invalid regex r\"{pattern}\": {err}", span) from None

    def instant(self, lit: A.DatetimeLit | A.StringLit | A.NumberLit) -> datetime:
        if isinstance(lit, A.NumberLit):
            if math.isinf(lit.value):
                raise self.fail("an epoch datetime cannot be infinite", lit.span)
            at = epoch_instant(lit.value)
            if at is None:
                raise self.fail(f"epoch datetime {lit.value} is out of range", lit.span)
            return at
        at = parse_instant(lit.text if isinstance(lit, A.DatetimeLit) else lit.value)
        if at is None:
            shown = lit.text if isinstance(lit, A.DatetimeLit) else lit.value
            raise self.fail(f"invalid datetime {shown!r}: {_ISO_HINT}", lit.span)
        return at

    def constant(self, lit: A.StringLit | A.DatetimeLit | A.NumberLit | A.BoolLit) -> Any:
        if isinstance(lit, A.DatetimeLit):
            return Instant(self.instant(lit))
        return lit.value

    def element(self, el: A.Element) -> Any:
        if isinstance(el, A.StringLit):
            return el.value
        if isinstance(el, A.RegexLit | A.WildcardLit):
            return self.regex(el)
        if isinstance(el, A.NumberLit):
            return NumberMatcher(el.value)
        return DomainMatcher(" ".join(el.span.text(self.source).split()), self.domain(el),
                             is_datetime=isinstance(el, A.DatetimeDomain))

    def _range(self, r: A.Range, bound: Callable[[Any], Any]) -> Callable[[Any], bool]:
        low = None if r.low is None else bound(r.low)
        high = None if r.high is None else bound(r.high)
        return range_test(low, high, r.low_open, r.high_open)

    def domain(self, d: A.Domain) -> Callable[[Any], bool]:
        if isinstance(d, A.BoolDomain):
            want = d.value
            return lambda x: x is want
        if isinstance(d, A.IntDomain):
            rng = self._range(d.range, lambda b: b.value)
            return lambda x: type(x) is int and rng(x)
        if isinstance(d, A.FloatDomain):
            rng = self._range(d.range, lambda b: b.value)
            return lambda x: (type(x) is int or type(x) is float) and x == x and rng(x)
        if isinstance(d, A.StrDomain):
            return self._str_domain(d)
        rng = self._range(d.range, self.instant)

        def in_window(x: Any) -> bool:
            at = to_instant(x)
            return at is not None and rng(at)

        return in_window

    def _str_domain(self, d: A.StrDomain) -> Callable[[Any], bool]:
        length = None if d.length is None else self._range(d.length, lambda b: b.value)
        if isinstance(d.pattern, A.StringLit):
            text = d.pattern.value
            shape: Callable[[str], bool] = lambda x: x == text  # noqa: E731
        else:
            shape = self.regex(d.pattern).matches
        if length is None:
            return lambda x: type(x) is str and shape(x)
        return lambda x: type(x) is str and length(len(x)) and shape(x)
