"""The examples in the docstrings of the scale-out modules run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "server.sessions.redis",
    "server.observability.logging",
    "server.observability.metrics",
    "server.observability.middleware",
    "server.audit.records",
    "server.audit.writer",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
