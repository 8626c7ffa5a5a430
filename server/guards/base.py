"""Shared vocabulary of the guards: entity kinds, findings, named limits, the exception tree, text intake.

    ControlError (server.errors)
    └── GuardError              422  a value could not be guarded
        └── GuardTimeout        422  a detector ran out of its time budget (names value and detector)

Limits are named here: `MAX_SCAN_CHARS` caps the characters scanned per string, `TIME_BUDGET_S`
bounds one guard run, `REGEX_TIMEOUT_S` each regular-expression call (the `regex` package raises
`TimeoutError`, translated here). Every pattern is linear; the budget is the belt over the braces
for inputs that are linear but huge in matches (a 200 KB run of `4111 4111 ...`).

The run's deadline lives in a context variable set by `time_budget()` rather than in every
finder's signature, so finders stay `text -> findings`; without a budget only the per-call regex
timeout applies.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import regex

from server.errors import ControlError

__all__ = [
    "Direction",
    "EntityKind",
    "Finding",
    "GuardError",
    "GuardTimeout",
    "MAX_SCAN_CHARS",
    "REGEX_TIMEOUT_S",
    "TIME_BUDGET_S",
    "as_text",
    "check_time",
    "matches",
    "time_budget",
    "has_digit",
    "safe_utf8",
]

MAX_SCAN_CHARS = 100_000  # per string; the unscanned tail of a masked value is cut (see run.py)
TIME_BUDGET_S = 1.0  # per run_guards call
REGEX_TIMEOUT_S = 0.25  # per regex call

_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("guard_deadline", default=None)


class Direction(StrEnum):
    """Which side of a tool call is guarded: its arguments (before) or its result (after)."""

    ARGUMENTS = "arguments"
    RESULT = "result"


class EntityKind(StrEnum):
    """What a finding is; the placeholder is `[<VALUE>_<n>]`, e.g. `[EMAIL_1]`."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CARD = "CARD"
    IBAN = "IBAN"
    NATIONAL_ID = "NATIONAL_ID"
    IP_ADDRESS = "IP_ADDRESS"
    STREET_ADDRESS = "STREET_ADDRESS"
    URL = "URL"
    FILE = "FILE"


@dataclass(frozen=True, slots=True)
class Finding:
    """A span `text[start:end]` of `kind`, with the detector's confidence in [0, 1].

    Confidence is what a classifier threshold is compared with: a checksum-verified IBAN is 1.0,
    a bare ten-digit phone number 0.6 (see the detector tables in pii.py).
    """

    kind: EntityKind
    start: int
    end: int
    confidence: float = 1.0
    detail: str = ""  # e.g. the national-id scheme ("us.ssn"); never the matched text


class GuardError(ControlError):
    """A value could not be guarded; the caller denies the call with this message."""

    status: ClassVar[int] = 422
    default_code: ClassVar[str | None] = "guard_failed"


class GuardTimeout(GuardError):
    """A detector ran out of time (`REGEX_TIMEOUT_S` per call, the run's `time_budget`)."""

    default_code = "guard_timeout"

    def __init__(self, *, detector: str, chars: int) -> None:
        super().__init__(
            f"guard '{detector}' could not finish scanning a {chars}-character value within its "
            "time budget; shorten the value or split it"
        )
        self.detector = detector
        self.chars = chars


_DIGIT = re.compile(r"\d")
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_digit(text: str) -> bool:
    """The cheap prefilter: every number-shaped detector is skipped for digit-free text.

    Ten substring searches (memchr speed) find ASCII digits; only non-ASCII text (`isascii` is a
    flag lookup) needs the Unicode `\\d` scan, for digits such as Arabic-Indic ones.
    """
    if any(d in text for d in "0123456789"):
        return True
    return not text.isascii() and _DIGIT.search(text) is not None


def as_text(value: str | bytes | bytearray) -> str:
    """Text to scan: bytes are decoded as UTF-8 with U+FFFD for invalid sequences.

    Decision: bytes never reach the guards from JSON, but a caller holding raw bytes gets them
    scanned rather than refused; a redacted bytes value comes back as `str`.

    >>> as_text(b"caf\\xe9")
    'caf\\ufffd'
    """
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value


def safe_utf8(text: str) -> str:
    """`text` with lone surrogates (valid in JSON, invalid in UTF-8) replaced by U+FFFD.

    >>> safe_utf8("a\\ud800b")
    'a\\ufffdb'
    """
    return _SURROGATE.sub("\ufffd", text)


def matches(
    pattern: regex.Pattern[str], text: str, *, detector: str, timeout: float = REGEX_TIMEOUT_S
) -> list[regex.Match[str]]:
    """All matches of `pattern` in `text` within `timeout`, else `GuardTimeout` naming `detector`."""
    budget = _DEADLINE.get()
    if budget is not None:
        timeout = min(timeout, budget[0] - time.monotonic())
        if timeout <= 0:
            raise GuardTimeout(detector=detector, chars=len(text))
    try:
        return list(pattern.finditer(text, timeout=timeout))
    except TimeoutError:
        raise GuardTimeout(detector=detector, chars=len(text)) from None


def check_time(*, detector: str, chars: int) -> None:
    """Raise `GuardTimeout` when the run's budget is spent; call it in per-candidate loops."""
    budget = _DEADLINE.get()
    if budget is not None and time.monotonic() > budget[0]:
        raise GuardTimeout(detector=detector, chars=chars)


@contextmanager
def time_budget(seconds: float = TIME_BUDGET_S) -> Iterator[None]:
    """Bound every detector called inside the block to `seconds` in total (nesting keeps the outer)."""
    outer = _DEADLINE.get()
    token = _DEADLINE.set(outer or (time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)
