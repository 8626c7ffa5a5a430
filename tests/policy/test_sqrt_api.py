"""The public surface of the SQRT package and the shared policy modules, pinned."""

from __future__ import annotations

import dataclasses
import doctest
import importlib

import pytest

import server.policy.sqrt as sqrt
from server.policy.engine import PolicySet
from server.policy.sqrt import ast


def test_sqrt_all() -> None:
    assert sorted(sqrt.__all__) == sorted(
        ["load_policy", "parse", "ast", "SqrtPolicy", "Limits", "DEFAULT_LIMITS"])


def test_sqrt_policy_implements_policy_set() -> None:
    policy: PolicySet = sqrt.load_policy("")
    assert policy.language == "sqrt"
    for name in ("check", "complete", "branch_check"):
        assert callable(getattr(policy, name))


def test_ast_nodes_are_frozen_with_spans() -> None:
    for name in ast.__all__:
        node = getattr(ast, name)
        if isinstance(node, type) and dataclasses.is_dataclass(node):
            assert node.__dataclass_params__.frozen, name  # type: ignore[attr-defined]
            if name not in ("Program", "Span"):
                assert "span" in {f.name for f in dataclasses.fields(node)}, name


def test_parse_returns_program_with_source() -> None:
    program = sqrt.parse('tool "t" { hard deny always; }')
    assert isinstance(program, ast.Program) and program.source.startswith("tool")
    rule = program.declarations[0].members[0]  # type: ignore[union-attr]
    assert rule.span.text(program.source) == "hard deny always;"


@pytest.mark.parametrize("module", [
    "server.policy.sqrt", "server.policy.sqrt.parser", "server.policy.sqrt.policy",
    "server.policy.cache", "server.policy.presets", "server.policy.results", "server.policy",
])
def test_docstring_examples(module: str) -> None:
    failures, _ = doctest.testmod(importlib.import_module(module))
    assert failures == 0
