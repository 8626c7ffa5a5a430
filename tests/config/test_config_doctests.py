"""The examples in the config modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "server.config.allowlist",
    "server.config.errors",
    "server.config.models",
    "server.config.parse",
    "server.config.presets",
    "server.config.resolver",
    "server.config.session",
    "server.config.types",
    "server.config.validate",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
