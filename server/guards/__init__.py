"""Guardrails: content classifiers (PII, toxicity, topics) and blockers (URLs, files) for tool calls."""

from server.guards.base import (
    MAX_SCAN_CHARS,
    REGEX_TIMEOUT_S,
    Direction,
    EntityKind,
    Finding,
    GuardError,
    GuardTimeout,
)
from server.guards.blockers import find_files, find_urls
from server.guards.classifiers import BLOCKERS, CLASSIFIERS, BlockerSpec, ClassifierSpec
from server.guards.pii import find_pii
from server.guards.redact import Placeholders, redact
from server.guards.run import ClassifierScore, GuardConfig, GuardReport, run_guards
from server.guards.tag_llm import Category, ScoreCache, TagLlm

__all__ = [
    "BLOCKERS",
    "CLASSIFIERS",
    "MAX_SCAN_CHARS",
    "REGEX_TIMEOUT_S",
    "BlockerSpec",
    "Category",
    "ClassifierScore",
    "ClassifierSpec",
    "Direction",
    "EntityKind",
    "Finding",
    "GuardConfig",
    "GuardError",
    "GuardReport",
    "GuardTimeout",
    "Placeholders",
    "ScoreCache",
    "TagLlm",
    "find_files",
    "find_pii",
    "find_urls",
    "redact",
    "run_guards",
]
