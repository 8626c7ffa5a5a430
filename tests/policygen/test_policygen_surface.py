"""The package's public surface is pinned, and its docstring examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest

import server.policygen

MODULES = [
    "server.policygen.cli",
    "server.policygen.generate",
    "server.policygen.prompt",
    "server.policygen.requests",
    "server.policygen.tools",
    "server.policygen.validate",
]


def test_public_surface() -> None:
    assert sorted(server.policygen.__all__) == sorted([
        "generate_policy", "run_generation", "Generated", "GenRequest", "parse_request", "REQUEST_TYPES",
        "MAX_RETRIES", "MAX_DESCRIPTION_CHARS", "MAX_TOOLS", "MAX_CATALOG_CHARS", "ToolSpec", "Param",
        "INTERNAL_TOOLS", "Problem", "extract_policy", "validate_candidate",
    ])
    from server.policygen.cli import add_generate_command, cmd_generate

    assert callable(add_generate_command) and callable(cmd_generate)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
