"""The guard registries: classifier and blocker name -> what it detects, the tag it adds, its default action.

Default actions (spec control-api 3.3, issue 5), decided per row rather than in code:

| guard | scored by | tag | default action |
|---|---|---|---|
| `toxicity_filter` | tag LLM | `__toxic` | arguments: the call is denied; results: tag only |
| `pii_redaction` | local detectors (pii.py) | `__pii` | spans at or above the threshold are redacted |
| `healthcare_topic_guardrail` | tag LLM | `__topic_healthcare` | tag only (write a policy on the tag) |
| `finance_topic_guardrail` | tag LLM | `__topic_finance` | tag only |
| `url_blocker` | blockers.py | `__url_masked` | mask every URL |
| `file_blocker` | blockers.py | `__file_masked` | mask every file reference |

A classifier tags a value when its score reaches `Classifier.effective_threshold` (the named
`mode` supersedes `threshold`, see server/config/models.py). Blockers have no score: a value is
tagged when something was masked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from server.config.models import BlockerName, ClassifierName
from server.guards.base import Direction, Finding
from server.guards.blockers import find_files, find_urls
from server.guards.pii import find_pii
from server.guards.tag_llm import Category

__all__ = ["ClassifierSpec", "BlockerSpec", "CLASSIFIERS", "BLOCKERS", "PERSON_NAMES"]


@dataclass(frozen=True, slots=True)
class ClassifierSpec:
    """One content classifier: a local finder (`find`) or a tag-LLM `category`, exactly one."""

    name: ClassifierName
    tag: str
    category: Category | None = None
    find: Callable[[str], list[Finding]] | None = None
    denies: frozenset[Direction] = frozenset()

    @property
    def redacts(self) -> bool:
        return self.find is not None


@dataclass(frozen=True, slots=True)
class BlockerSpec:
    name: BlockerName
    tag: str
    find: Callable[[str], list[Finding]]


CLASSIFIERS: Mapping[str, ClassifierSpec] = MappingProxyType(
    {
        "toxicity_filter": ClassifierSpec(
            "toxicity_filter", "__toxic", category=Category.TOXICITY, denies=frozenset({Direction.ARGUMENTS})
        ),
        "pii_redaction": ClassifierSpec("pii_redaction", "__pii", find=find_pii),
        "healthcare_topic_guardrail": ClassifierSpec(
            "healthcare_topic_guardrail", "__topic_healthcare", category=Category.HEALTHCARE
        ),
        "finance_topic_guardrail": ClassifierSpec(
            "finance_topic_guardrail", "__topic_finance", category=Category.FINANCE
        ),
    }
)

BLOCKERS: Mapping[str, BlockerSpec] = MappingProxyType(
    {
        "url_blocker": BlockerSpec("url_blocker", "__url_masked", find_urls),
        "file_blocker": BlockerSpec("file_blocker", "__file_masked", find_files),
    }
)


# `pii_redaction`'s second half (issue 5): person names cannot be found by local patterns, so when
# a tag LLM is configured anyway (for toxicity or a topic) it also rates whether a value names a
# person, and a positive rating adds `__pii` (tag only: the LLM gives no spans to redact).
PERSON_NAMES = ClassifierSpec("pii_redaction", "__pii", category=Category.PERSON_NAMES)
