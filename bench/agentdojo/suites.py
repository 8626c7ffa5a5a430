"""AgentDojo, pinned: the four v1.2 suites, their tools as OpenAI tool schemas, cached environments.

`agentdojo==0.1.35` is pinned in `pyproject.toml` (the `test` extra); the benchmark version is
v1.2 (97 user tasks, 35 injection tasks, 949 pairs). Nothing here talks to a network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from agentdojo.agent_pipeline.tool_execution import tool_result_to_str
from agentdojo.attacks.attack_registry import load_attack
from agentdojo.attacks.base_attacks import BaseAttack
from agentdojo.base_tasks import BaseInjectionTask, BaseUserTask
from agentdojo.functions_runtime import TaskEnvironment
from agentdojo.task_suite.load_suites import get_suite
from agentdojo.task_suite.task_suite import TaskSuite

__all__ = [
    "BENCHMARK_VERSION",
    "SUITES",
    "ATTACKS",
    "TEXT_ONLY_INJECTIONS",
    "suite",
    "tool_schemas",
    "attack",
    "injections_for",
    "injected_environment",
    "format_tool_result",
]

BENCHMARK_VERSION = "v1.2"
SUITES = ("workspace", "travel", "banking", "slack")
ATTACKS = ("important_instructions", "tool_knowledge")
# Injection goals checked on the final text answer only: no tool policy can stop them (reported apart).
TEXT_ONLY_INJECTIONS = frozenset({("travel", "injection_task_6")})
# The attacks address the victim model by name; this one is in AgentDojo's table of model names.
VICTIM_PIPELINE_NAME = "gpt-4o-2024-05-13"


@cache
def suite(name: str) -> TaskSuite:
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; the suites are {', '.join(SUITES)}")
    return get_suite(BENCHMARK_VERSION, name)


@cache
def tool_schemas(suite_name: str) -> tuple[dict[str, Any], ...]:
    """The suite's tools as Chat Completions `tools` entries, as AgentDojo's OpenAI pipeline sends them."""
    return tuple(
        {"type": "function", "function": {
            "name": f.name, "description": f.description, "parameters": f.parameters.model_json_schema()}}
        for f in suite(suite_name).tools
    )


class _VictimPipeline:
    """The only thing an attack reads of the target pipeline is its name."""

    name = VICTIM_PIPELINE_NAME


@cache
def attack(suite_name: str, attack_name: str) -> BaseAttack:
    if attack_name not in ATTACKS:
        raise ValueError(f"unknown attack {attack_name!r}; the attacks are {', '.join(ATTACKS)}")
    return load_attack(attack_name, suite(suite_name), _VictimPipeline())  # type: ignore[arg-type]


def injections_for(suite_name: str, attack_name: str | None, user_task: BaseUserTask,
                   injection_task: BaseInjectionTask | None) -> dict[str, str]:
    """The attack's injection texts for this pair (none without an attack)."""
    if attack_name is None or injection_task is None:
        return {}
    return attack(suite_name, attack_name).attack(user_task, injection_task)


_ENVIRONMENTS: dict[tuple[str, str], TaskEnvironment] = {}


def injected_environment(suite_name: str, injections: Mapping[str, str]) -> TaskEnvironment:
    """A fresh copy of the suite's environment with `injections` in place (parsed once per set)."""
    key = (suite_name, json.dumps(dict(injections), sort_keys=True))
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS[key] = suite(suite_name).load_and_inject_default_environment(dict(injections))
    return _ENVIRONMENTS[key].model_copy(deep=True)


def format_tool_result(result: Any) -> str:
    """A tool's return value as the text a model sees: AgentDojo's own YAML formatter."""
    return tool_result_to_str(result)
