"""Replace findings with typed, numbered placeholders (`[EMAIL_1]`, `[URL_2]`), overlaps resolved once.

Decisions: of overlapping findings the longest wins (a URL containing an IP literal becomes one
`[URL_n]`), ties go to the earlier `EntityKind`; numbering is per kind across one guard run and
the same text always gets the same placeholder, so `[EMAIL_1]` in two arguments is one address.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable

from server.guards.base import EntityKind, Finding

__all__ = ["Placeholders", "resolve_overlaps", "redact"]

_ORDER = {kind: i for i, kind in enumerate(EntityKind)}


class Placeholders:
    """Placeholder numbering for one guard run.

    >>> p = Placeholders()
    >>> p.label(EntityKind.EMAIL, "a@b.io"), p.label(EntityKind.EMAIL, "c@d.io"), p.label(EntityKind.EMAIL, "a@b.io")
    ('[EMAIL_1]', '[EMAIL_2]', '[EMAIL_1]')
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[EntityKind, str], str] = {}
        self._counts: Counter[EntityKind] = Counter()

    def label(self, kind: EntityKind, text: str) -> str:
        key = (kind, text)
        if key not in self._seen:
            self._counts[kind] += 1
            self._seen[key] = f"[{kind.value}_{self._counts[kind]}]"
        return self._seen[key]

    @property
    def counts(self) -> dict[str, int]:
        """Distinct masked texts per kind (never the texts themselves)."""
        return {kind.value: n for kind, n in self._counts.items()}


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Non-overlapping findings in text order: longest first, then by kind order."""
    ranked = sorted(findings, key=lambda f: (-(f.end - f.start), _ORDER[f.kind], f.start))
    kept: list[Finding] = []  # sorted by start, pairwise disjoint
    starts: list[int] = []
    for f in ranked:
        i = bisect.bisect_left(starts, f.start)
        clear_left = i == 0 or kept[i - 1].end <= f.start
        clear_right = i == len(kept) or f.end <= kept[i].start
        if f.end > f.start and clear_left and clear_right:
            kept.insert(i, f)
            starts.insert(i, f.start)
    return kept


def redact(text: str, findings: Iterable[Finding], placeholders: Placeholders) -> str:
    """`text` with every (resolved) finding replaced by its placeholder.

    >>> redact("mail a@b.io", [Finding(EntityKind.EMAIL, 5, 11)], Placeholders())
    'mail [EMAIL_1]'
    """
    parts: list[str] = []
    pos = 0
    for f in resolve_overlaps(findings):
        parts.append(text[pos : f.start])
        parts.append(placeholders.label(f.kind, text[f.start : f.end]))
        pos = f.end
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)
