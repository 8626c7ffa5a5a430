"""Named, deterministic interpreter limits plus the wall-time safety net, in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "Limits",
    "MAX_NODES",
    "MAX_STRING_LENGTH",
    "MAX_CONTAINER_SIZE",
    "MAX_DEPTH",
    "MAX_OUTPUT_CHARS",
    "MAX_SOURCE_CHARS",
    "MAX_INT_BITS",
    "MAX_ALLOCATED_BYTES",
    "ELEMENT_BYTES",
    "REGEX_TIMEOUT_SECONDS",
    "WALL_TIME_SECONDS",
]

MAX_NODES: Final = 2_000_000
MAX_STRING_LENGTH: Final = 1_000_000
MAX_CONTAINER_SIZE: Final = 100_000
MAX_DEPTH: Final = 64
MAX_OUTPUT_CHARS: Final = 100_000
MAX_SOURCE_CHARS: Final = 100_000
MAX_INT_BITS: Final = 14_000  # below CPython's 4300-digit str() limit: every int can be printed
MAX_ALLOCATED_BYTES: Final = 256_000_000
ELEMENT_BYTES: Final = 64  # estimated cost of one container element (its value pair and slot)
REGEX_TIMEOUT_SECONDS: Final = 0.25
WALL_TIME_SECONDS: Final = 10.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits of one run. All but the two timeouts are deterministic, so a replay hits them at the
    same point.

    - `max_nodes`: AST nodes executed, counted per statement (and per comprehension element) as
      the static size of its expressions — an upper bound of the nodes actually evaluated;
    - `max_string_length`, `max_container_size`: any single value, checked *before* the
      amplifying operations (`*`, `join`, `replace`, padding, format widths) allocate;
    - `max_depth`: syntactic nesting of the program, and nesting of values converted in or out
      (tool results, `json`, exports);
    - `max_output_chars`: total printed text; `max_source_chars`: program text;
    - `max_int_bits`: size of integers produced by `**`, `<<` and `*` (kept below CPython's
      integer-to-text limit, so every integer can be printed and exported);
    - `max_allocated_bytes`: estimated bytes of the strings and containers the run creates in
      total (a character counts 1, a container element `ELEMENT_BYTES`; a mutation counts its
      growth). It bounds memory: per-value limits alone would allow 100k values of 1M characters;
    - `regex_timeout_seconds` (per match) and `wall_time_seconds` (per run) are safety nets:
      tripping one ends the run with `LimitExceeded` and must not be resumed.

    >>> Limits(max_nodes=10).max_nodes
    10
    """

    max_nodes: int = MAX_NODES
    max_string_length: int = MAX_STRING_LENGTH
    max_container_size: int = MAX_CONTAINER_SIZE
    max_depth: int = MAX_DEPTH
    max_output_chars: int = MAX_OUTPUT_CHARS
    max_source_chars: int = MAX_SOURCE_CHARS
    max_int_bits: int = MAX_INT_BITS
    max_allocated_bytes: int = MAX_ALLOCATED_BYTES
    regex_timeout_seconds: float = REGEX_TIMEOUT_SECONDS
    wall_time_seconds: float = WALL_TIME_SECONDS
