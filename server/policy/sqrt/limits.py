"""Named limits that keep a hostile policy text from exhausting the server (issue 3, "Bad input")."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "DEFAULT_LIMITS"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds applied at load and evaluation time; pass your own to `load_policy` in tests."""

    max_policy_chars: int = 256_000
    """Longest accepted policy text (characters)."""
    max_depth: int = 64
    """Deepest accepted expression nesting (parentheses, `not`, operators of different levels)."""
    max_regex_chars: int = 2_000
    """Longest accepted regex or wildcard pattern."""
    max_regex_expansion: int = 20_000
    """Largest accepted size of a regex once counted repeats are expanded (`(a{100}){200}`)."""
    regex_timeout: float = 0.05
    """Seconds one regex/wildcard match may run before the rule fails closed."""
    max_plan_cache: int = 1_024
    """Tool names whose matching declarations are remembered per compiled policy."""


DEFAULT_LIMITS = Limits()
