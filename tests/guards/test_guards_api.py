"""The public surface of server.guards: pinned names, complete registries, docstring examples, module size."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path
from typing import get_args

import pytest

import server.guards
from server.config.models import BlockerName, ClassifierName
from server.guards import BLOCKERS, CLASSIFIERS

MODULES = ["base", "pii", "blockers", "redact", "tag_llm", "classifiers", "run"]


def test_public_names_are_pinned() -> None:
    assert sorted(server.guards.__all__) == sorted([
        "BLOCKERS", "CLASSIFIERS", "MAX_SCAN_CHARS", "REGEX_TIMEOUT_S", "BlockerSpec", "Category",
        "ClassifierScore", "ClassifierSpec", "Direction", "EntityKind", "Finding", "GuardConfig",
        "GuardError", "GuardReport", "GuardTimeout", "Placeholders", "ScoreCache", "TagLlm",
        "find_files", "find_pii", "find_urls", "redact", "run_guards",
    ])
    for name in server.guards.__all__:
        assert getattr(server.guards, name) is not None


def test_every_configurable_name_has_a_registry_row() -> None:
    assert set(CLASSIFIERS) == set(get_args(ClassifierName))
    assert set(BLOCKERS) == set(get_args(BlockerName))
    assert {c.tag for c in CLASSIFIERS.values()} == {"__toxic", "__pii", "__topic_healthcare", "__topic_finance"}
    assert {b.tag for b in BLOCKERS.values()} == {"__url_masked", "__file_masked"}
    for spec in CLASSIFIERS.values():
        assert (spec.category is None) != (spec.find is None), spec.name  # exactly one scorer


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    assert doctest.testmod(importlib.import_module(f"server.guards.{name}")).failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_modules_stay_small(name: str) -> None:
    path = Path(server.guards.__file__).parent / f"{name}.py"
    assert len(path.read_text(encoding="utf-8").splitlines()) < 400
