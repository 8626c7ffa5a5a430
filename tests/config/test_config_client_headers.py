"""Spec 11 validate-headers rows, with header texts made by the official client's own classes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sequrity.control.types.headers import (
    ConstraintConfig,
    ControlFlowMetaPolicy,
    FeaturesHeader,
    FineGrainedConfigHeader,
    FsmOverrides,
    InternalPolicyPresets,
    PllmPromptOverrides,
    PolicyCode,
    PromptOverrides,
    ResponseFormatOverrides,
    SecurityPolicyHeader,
    TaggerConfig,
)

from server.config import validate_headers

Check = Callable[[dict[str, Any]], None]


def _names(key: str) -> Callable[[dict[str, Any]], list[str]]:
    return lambda n: [item["name"] for item in n[key]]


# (test id, header text, check on `normalized`)
FEATURES: list[tuple[str, str, Check]] = [
    (
        "single_llm_default",
        FeaturesHeader.single_llm().dump_for_headers(),
        lambda n: _eq(n["agent_arch"], "single-llm"),
    ),
    (
        "single_llm_with_taggers",
        FeaturesHeader.single_llm(toxicity_filter=True, pii_redaction=True).dump_for_headers(),
        lambda n: _sub({"toxicity_filter", "pii_redaction"}, _names("content_classifiers")(n)),
    ),
    (
        "single_llm_with_constraints",
        FeaturesHeader.single_llm(url_blocker=True).dump_for_headers(),
        lambda n: _eq(n["content_blockers"][0]["name"], "url_blocker"),
    ),
    (
        "dual_llm_default",
        FeaturesHeader.dual_llm().dump_for_headers(),
        lambda n: _eq(n["agent_arch"], "dual-llm"),
    ),
    (
        "dual_llm_with_classifiers_and_blockers",
        FeaturesHeader.dual_llm(
            toxicity_filter=True, healthcare_guardrail=True, url_blocker=True, file_blocker=True
        ).dump_for_headers(),
        lambda n: _eq((len(n["content_classifiers"]), len(n["content_blockers"])), (2, 2)),
    ),
    (
        "all_classifiers_and_blockers",
        FeaturesHeader.single_llm(
            toxicity_filter=True,
            pii_redaction=True,
            healthcare_guardrail=True,
            finance_guardrail=True,
            url_blocker=True,
        ).dump_for_headers(),
        lambda n: _eq(
            set(_names("content_classifiers")(n)),
            {
                "toxicity_filter",
                "pii_redaction",
                "healthcare_topic_guardrail",
                "finance_topic_guardrail",
            },
        ),
    ),
    (
        "custom_tagger_thresholds",
        FeaturesHeader(
            agent_arch="dual-llm",
            content_classifiers=[
                TaggerConfig(name="toxicity_filter", threshold=0.7, mode="normal"),
                TaggerConfig(name="pii_redaction", threshold=0.6, mode="strict"),
            ],
            content_blockers=[ConstraintConfig(name="url_blocker")],
        ).dump_for_headers(),
        lambda n: _eq(
            [(c["threshold"], c["mode"]) for c in n["content_classifiers"]],
            [(0.7, "normal"), (0.6, "strict")],
        ),
    ),
]

POLICY: list[tuple[str, str, Check]] = [
    (
        "single_llm_default",
        SecurityPolicyHeader.single_llm().dump_for_headers(),
        lambda n: _eq(n["mode"], "standard"),
    ),
    (
        "single_llm_with_codes",
        SecurityPolicyHeader.single_llm(
            codes='tool "test" { must allow always; }'
        ).dump_for_headers(),
        lambda n: _eq(
            n["codes"], {"code": 'tool "test" { must allow always; }', "language": "sqrt"}
        ),
    ),
    (
        "dual_llm_default",
        SecurityPolicyHeader.dual_llm().dump_for_headers(),
        lambda n: _eq(n["mode"], "standard"),
    ),
    (
        "dual_llm_auto_gen",
        SecurityPolicyHeader.dual_llm(auto_gen=True).dump_for_headers(),
        lambda n: _eq(n["auto_gen"], True),
    ),
    (
        "dual_llm_branching_policy",
        SecurityPolicyHeader.dual_llm(
            branching_meta_policy_mode="allow", branching_meta_policy_tags={"tag1", "tag2"}
        ).dump_for_headers(),
        lambda n: _eq(
            n["presets"]["branching_meta_policy"],
            {"mode": "allow", "producers": [], "tags": ["tag1", "tag2"], "consumers": []},
        ),
    ),
    *[
        (
            f"dual_llm_modes[{mode}]",
            SecurityPolicyHeader.dual_llm(
                mode=mode,
                codes="",
                auto_gen=False,
                fail_fast=True,
                default_allow=True,
                enable_non_executable_memory=True,
            ).dump_for_headers(),
            (lambda m: lambda n: _eq(n["mode"], m))(mode),
        )
        for mode in ("standard", "strict", "custom")
    ],
    (
        "all_entries_set",
        SecurityPolicyHeader(
            mode="standard",
            codes=PolicyCode(),
            auto_gen=False,
            fail_fast=True,
            presets=InternalPolicyPresets(
                default_allow=True,
                enable_non_executable_memory=True,
                branching_meta_policy=ControlFlowMetaPolicy(
                    mode="deny",
                    producers={"test_producer"},
                    tags={"__non_executable", "__tool/parse_with_ai"},
                    consumers={"test_consumer"},
                ),
                enable_llm_blocked_tag=False,
                llm_blocked_tag_enforcement_level="hard",
            ),
        ).dump_for_headers(),
        lambda n: _eq(
            n["presets"]["branching_meta_policy"]["tags"],
            ["__non_executable", "__tool/parse_with_ai"],
        ),
    ),
]

# Fields only later clients send, injected through the client's own `overrides` seam.
LATER_CONFIG_FIELDS = {
    "fsm": {
        "n_pllm_plans": 2,
        "pllm_candidate_models": ["gpt-5-mini", "gpt-5-nano"],
        "pllm_context_pruning": False,
        "reduced_grammar_for_rllm_review": "bool",
    },
    "response_format": {"stream_thoughts": True},
    "llm": {
        "pllm": {"temperature": 0.2, "reasoning": {"effort": "high", "budget": 2048}},
        "tool_result_error_detector_llm": {"logit_bias": {"50256": -100}, "seed": 7},
    },
}

CONFIG: list[tuple[str, str, Check]] = [
    ("single_llm_default", FineGrainedConfigHeader.single_llm().dump_for_headers(), lambda n: None),
    (
        "dual_llm_default",
        FineGrainedConfigHeader.dual_llm().dump_for_headers(),
        lambda n: _eq(n["fsm"]["max_n_turns"], 5),
    ),
    (
        "dual_llm_custom_steps",
        FineGrainedConfigHeader.dual_llm(max_pllm_steps=8).dump_for_headers(),
        lambda n: _eq(n["fsm"]["max_pllm_steps"], 8),
    ),
    (
        "dual_llm_max_failed_steps",
        FineGrainedConfigHeader.dual_llm(max_pllm_failed_steps=3).dump_for_headers(),
        lambda n: _eq(n["fsm"]["max_pllm_failed_steps"], 3),
    ),
    (
        "dual_llm_disable_rllm",
        FineGrainedConfigHeader.dual_llm(disable_rllm=True).dump_for_headers(),
        lambda n: _eq(n["fsm"]["disable_rllm"], True),
    ),
    (
        "dual_llm_response_format",
        FineGrainedConfigHeader.dual_llm(
            include_program=True, include_policy_check_history=True
        ).dump_for_headers(),
        lambda n: _eq(
            (
                n["response_format"]["include_program"],
                n["response_format"]["include_policy_check_history"],
            ),
            (True, True),
        ),
    ),
    (
        "all_entries_set",
        FineGrainedConfigHeader(
            fsm=FsmOverrides(
                max_pllm_steps=3,
                max_pllm_failed_steps=2,
                clear_history_every_n_attempts=2,
                retry_on_policy_violation=True,
                force_to_cache=["my_tool_.*"],
                min_num_tools_for_filtering=5,
                clear_session_meta="every_attempt",
                disable_rllm=False,
                reduced_grammar_for_rllm_review=True,
                max_n_turns=3,
                enable_multistep_planning=True,
                prune_failed_steps=True,
                enabled_internal_tools=["parse_with_ai", "verify_hypothesis"],
                max_tool_calls_per_step=100,
                history_mismatch_policy="continue",
                wrap_tool_result=True,
                detect_tool_errors="regex",
                detect_tool_error_regex_pattern=r"^Error:",
                detect_tool_error_max_result_length=4000,
                strict_tool_result_parsing=True,
                tool_result_transform="codex",
            ),
            prompt=PromptOverrides(
                pllm=PllmPromptOverrides(
                    debug_info_level="extra",
                    clarify_ambiguous_queries=True,
                    context_var_visibility="basic-notext",
                    query_inline_roles=["developer", "system"],
                    query_role_name_overrides={"assistant": "developer"},
                ),
            ),
            response_format=ResponseFormatOverrides(
                strip_response_content=False,
                include_program=True,
                include_policy_check_history=True,
                include_namespace_snapshot=True,
            ),
        ).dump_for_headers(overrides=LATER_CONFIG_FIELDS),
        lambda n: _eq(
            (
                n["fsm"]["pllm_candidate_models"],
                n["fsm"]["reduced_grammar_for_rllm_review"],
                n["response_format"]["stream_thoughts"],
                n["llm"]["pllm"]["reasoning"],
                n["prompt"]["pllm"]["query_role_name_overrides"],
            ),
            (
                ["gpt-5-mini", "gpt-5-nano"],
                "bool",
                True,
                {"enabled": True, "effort": "high", "budget": 2048, "adaptive": False},
                {"assistant": "developer"},
            ),
        ),
    ),
]

ROWS = (
    [("x_features", *row) for row in FEATURES]
    + [("x_policy", *row) for row in POLICY]
    + [("x_config", *row) for row in CONFIG]
)


def _eq(got: object, want: object) -> None:
    assert got == want


def _sub(want: set[str], got: list[str]) -> None:
    assert want <= set(got)


def _contains_sent(sent: Any, normalized: Any) -> None:
    """Every key sent is in `normalized` with the same value (spec 9); sets compare unordered."""
    if isinstance(sent, dict):
        for key, value in sent.items():
            assert key in normalized, key
            _contains_sent(value, normalized[key])
    elif isinstance(sent, list) and all(isinstance(item, str) for item in sent):
        assert sorted(sent) == sorted(normalized)
    elif isinstance(sent, list):
        assert len(sent) == len(normalized)  # no invented entries
        for item, out in zip(sent, normalized, strict=True):
            _contains_sent(item, out)
    else:
        assert sent == normalized


@pytest.mark.parametrize(
    ("field", "name", "text", "check"), ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS]
)
def test_valid_client_header(field: str, name: str, text: str, check: Check) -> None:
    body = validate_headers({field: text})
    result = body[field]
    assert result["valid"] is True, result["errors"]
    assert result["errors"] == []
    _contains_sent(json.loads(text), result["normalized"])
    check(result["normalized"])
    assert all(body[other] is None for other in body if other != field)
    json.dumps(body)  # the response is plain JSON data


INVALID = [
    (
        "x_features",
        '{"agent_arch": "triple-llm"}',
        "agent_arch: must be one of 'single-llm', 'dual-llm'",
    ),
    (
        "x_features",
        '{"agent_arch": "single-llm", "unknown_field": 123}',
        "unknown_field: extra inputs",
    ),
    ("x_features", "not valid json{{{", "Invalid JSON"),
    ("x_policy", '{"mode": "ultra-strict"}', "mode: must be one of"),
    ("x_policy", '{"mode": "standard", "bogus": true}', "bogus: extra inputs are not permitted"),
    ("x_policy", "{bad json", "Invalid JSON"),
    ("x_config", '{"fsm": {"max_n_turns": 5}, "nonexistent": true}', "nonexistent: extra inputs"),
    ("x_config", "}{not json", "Invalid JSON"),
]


@pytest.mark.parametrize(("field", "text", "error"), INVALID)
def test_invalid_header(field: str, text: str, error: str) -> None:
    result = validate_headers({field: text})[field]
    assert result["valid"] is False
    assert result["normalized"] is None
    assert any(error in e for e in result["errors"]), result["errors"]


def test_spec_example_exact() -> None:
    body = {"x_config": '{"fsm":{"max_n_turns":5},"nonexistent":true}'}
    assert validate_headers(body) == {
        "x_features": None,
        "x_policy": None,
        "x_config": {
            "valid": False,
            "normalized": None,
            "errors": ["nonexistent: extra inputs are not permitted"],
        },
    }


def test_all_three_valid() -> None:
    body = validate_headers(
        {
            "x_features": FeaturesHeader.dual_llm(toxicity_filter=True).dump_for_headers(),
            "x_policy": SecurityPolicyHeader.dual_llm(mode="standard").dump_for_headers(),
            "x_config": FineGrainedConfigHeader.dual_llm(max_n_turns=10).dump_for_headers(),
        }
    )
    assert [body[k]["valid"] for k in ("x_features", "x_policy", "x_config")] == [True] * 3


def test_no_headers_provided() -> None:
    assert validate_headers({}) == {"x_features": None, "x_policy": None, "x_config": None}


def test_partial_valid_partial_invalid() -> None:
    body = validate_headers(
        {"x_features": FeaturesHeader.single_llm().dump_for_headers(), "x_policy": "{invalid json!"}
    )
    assert body["x_features"]["valid"] is True
    assert body["x_policy"]["valid"] is False
    assert body["x_config"] is None
