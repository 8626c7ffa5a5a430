"""The resolver: base, endpoint defaults, X-Features/X-Policy/X-Config merge, model and key."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pydantic import ValidationError
from sequrity.control.types.headers import (
    FeaturesHeader,
    FineGrainedConfigHeader,
    SecurityPolicyHeader,
)

from server.config import SessionConfig, StoredConfigInvalid, check_stored, resolve
from server.config.resolver import merge
from server.errors import BadRequest, InvalidHeader
from server.names import AgentArch, Family
from server.policy.engine import BranchingMetaPolicy, Presets


def run(
    family: Family = Family.CHAT,
    *,
    stored: dict[str, Any] | None = None,
    features: str | dict[str, Any] | None = None,
    policy: str | dict[str, Any] | None = None,
    config: str | dict[str, Any] | None = None,
    model: str = "m",
    api_key: str | None = None,
) -> SessionConfig:
    def text(value: str | dict[str, Any] | None) -> str | None:
        return json.dumps(value) if isinstance(value, dict) else value

    return resolve(
        family=family,
        stored=stored,
        features=text(features),
        policy=text(policy),
        config=text(config),
        model=model,
        api_key=api_key,
    )


# --- built-in preset and endpoint defaults (3.7) -------------------------------------------


@pytest.mark.parametrize(
    ("family", "turns", "tools"),
    [
        (Family.CHAT, 1, ("parse_with_ai",)),
        (Family.AGENT, 1, ("parse_with_ai",)),
        (Family.CODE, 50, ("parse_with_ai",)),
        (Family.LANG_GRAPH, 1, ()),
    ],
)
def test_endpoint_defaults(family: Family, turns: int, tools: tuple[str, ...]) -> None:
    cfg = run(family)
    assert (cfg.arch, cfg.family) == (AgentArch.DUAL_LLM, family)
    assert (cfg.fsm.max_n_turns, cfg.fsm.enabled_internal_tools) == (turns, tools)


def test_builtin_preset_defaults() -> None:
    cfg = run()
    assert cfg.classifiers == () and cfg.blockers == ()
    assert (cfg.policy.mode, cfg.policy.code, cfg.policy.language) == ("standard", "", "sqrt")
    assert (cfg.policy.auto_gen, cfg.policy.fail_fast) == (False, True)
    assert cfg.policy.presets == Presets()
    fsm = cfg.fsm
    assert (fsm.max_pllm_steps, fsm.max_pllm_failed_steps) == (5, 3)
    assert fsm.history_mismatch_policy == "restart_turn"
    assert (fsm.disable_rllm, fsm.prune_failed_steps, fsm.wrap_tool_result) == (True, True, False)
    assert (fsm.detect_tool_errors, fsm.tool_result_transform, fsm.review_grammar) == (
        "none",
        "none",
        "text",
    )
    assert (fsm.min_num_tools_for_filtering, fsm.clear_session_meta) == (10, "never")
    assert (fsm.n_pllm_plans, fsm.pllm_candidate_models, fsm.pllm_context_pruning) == (
        1,
        frozenset(),
        True,
    )
    assert cfg.prompt.pllm.clarify_ambiguous_queries is True
    assert cfg.response_format.include_program is False
    assert cfg.llm.pllm is None


def test_endpoint_defaults_fill_only_unset_fields() -> None:
    stored = {"config": {"fsm": {"max_n_turns": 9}}}
    assert run(Family.CODE, stored=stored).fsm.max_n_turns == 9
    assert run(Family.CODE, config={"fsm": {"max_n_turns": 2}}).fsm.max_n_turns == 2
    assert run(Family.CODE, config={"fsm": {"max_n_turns": None}}).fsm.max_n_turns is None
    tools = run(config={"fsm": {"enabled_internal_tools": []}}).fsm.enabled_internal_tools
    assert tools == ()


# --- architecture ---------------------------------------------------------------------------


def test_lang_graph_is_always_dual() -> None:
    single = FeaturesHeader.single_llm().dump_for_headers()
    assert run(Family.LANG_GRAPH, features=single).arch is AgentArch.DUAL_LLM
    stored = {"features": {"agent_arch": "single-llm"}, "policy": {"mode": "strict"}}
    cfg = run(Family.LANG_GRAPH, stored=stored)
    assert cfg.arch is AgentArch.DUAL_LLM
    assert cfg.policy.mode == "standard"  # rebuilt from the dual preset


def test_features_arch_switch_rebuilds_from_preset() -> None:
    stored = {
        "features": {"content_classifiers": [{"name": "pii_redaction"}]},
        "policy": {"mode": "strict"},
        "config": {"fsm": {"max_pllm_steps": 9}},
    }
    same = run(stored=stored, features={"agent_arch": "dual-llm"})
    assert (same.policy.mode, same.fsm.max_pllm_steps, len(same.classifiers)) == ("strict", 9, 1)
    switched = run(
        stored=stored, features={"agent_arch": "single-llm"}, config={"fsm": {"max_n_turns": 4}}
    )
    assert switched.arch is AgentArch.SINGLE_LLM
    assert (switched.policy.mode, switched.fsm.max_pllm_steps, switched.classifiers) == (
        "standard",
        5,
        (),
    )
    assert switched.fsm.max_n_turns == 4


def test_stored_arch_is_the_base() -> None:
    cfg = run(stored={"features": {"agent_arch": "single-llm"}})
    assert cfg.arch is AgentArch.SINGLE_LLM


# --- classifiers and blockers ---------------------------------------------------------------


def test_classifier_lists_replace() -> None:
    stored = {
        "features": {
            "content_classifiers": [{"name": "pii_redaction"}, {"name": "toxicity_filter"}],
            "content_blockers": [{"name": "url_blocker"}],
        }
    }
    kept = run(stored=stored, features={"agent_arch": "dual-llm"})
    assert [c.name for c in kept.classifiers] == ["pii_redaction", "toxicity_filter"]
    assert [b.name for b in kept.blockers] == ["url_blocker"]
    header = {
        "content_classifiers": [{"name": "finance_topic_guardrail", "threshold": 0.9}],
        "content_blockers": [],
    }
    replaced = run(stored=stored, features=header)
    assert [(c.name, c.threshold) for c in replaced.classifiers] == [
        ("finance_topic_guardrail", 0.9)
    ]
    assert replaced.blockers == ()


@pytest.mark.parametrize(
    ("mode", "threshold", "effective"),
    [
        ("strict", 0.9, 0.2),
        ("high sensitivity", 0.9, 0.35),
        ("normal", 0.9, 0.5),
        ("low sensitivity", 0.1, 0.7),
        (None, 0.42, 0.42),
        ("custom-mode", 0.42, 0.42),
    ],
)
def test_classifier_effective_threshold(
    mode: str | None, threshold: float, effective: float
) -> None:
    cfg = run(
        features={
            "content_classifiers": [
                {"name": "toxicity_filter", "threshold": threshold, "mode": mode}
            ]
        }
    )
    [classifier] = cfg.classifiers
    assert (classifier.threshold, classifier.mode, classifier.effective_threshold) == (
        threshold,
        mode,
        effective,
    )


# --- X-Policy and X-Config merge ------------------------------------------------------------


def test_policy_merges_present_keys_over_stored() -> None:
    stored = {
        "policy": {
            "mode": "strict",
            "codes": {"code": "stored", "language": "cedar"},
            "presets": {
                "default_allow": False,
                "branching_meta_policy": {"mode": "allow", "tags": ["a", "b"]},
            },
        }
    }
    cfg = run(
        stored=stored,
        policy={"auto_gen": True, "presets": {"branching_meta_policy": {"tags": ["c"]}}},
    )
    assert (cfg.policy.mode, cfg.policy.code, cfg.policy.language, cfg.policy.auto_gen) == (
        "strict",
        "stored",
        "cedar",
        True,
    )
    assert cfg.policy.presets.default_allow is False
    assert cfg.policy.presets.branching_meta_policy == BranchingMetaPolicy(
        mode="allow", tags=frozenset({"c"})
    )


def test_bare_string_codes_is_sqrt() -> None:
    stored = {
        "policy": {"codes": {"code": "permit(principal, action, resource);", "language": "cedar"}}
    }
    cfg = run(stored=stored, policy={"codes": 'tool "x" { must deny always; }'})
    assert (cfg.policy.code, cfg.policy.language) == ('tool "x" { must deny always; }', "sqrt")


def test_fail_fast_null_is_true() -> None:
    assert run(policy={"fail_fast": None}).policy.fail_fast is True
    assert run(policy={"fail_fast": False}).policy.fail_fast is False


def test_client_policy_header_maps_to_engine_presets() -> None:
    header = SecurityPolicyHeader.dual_llm(
        mode="custom",
        codes="x",
        default_allow=False,
        default_allow_enforcement_level="hard",
        enable_non_executable_memory=False,
        enable_llm_blocked_tag=False,
        llm_blocked_tag_enforcement_level="soft",
        branching_meta_policy_mode="allow",
        branching_meta_policy_producers={"p"},
        branching_meta_policy_tags={"t"},
        branching_meta_policy_consumers={"c"},
    ).dump_for_headers()
    policy = run(policy=header).policy
    assert policy.presets == Presets(
        default_allow=False,
        default_allow_enforcement_level="hard",
        enable_non_executable_memory=False,
        enable_llm_blocked_tag=False,
        llm_blocked_tag_enforcement_level="soft",
        branching_meta_policy=BranchingMetaPolicy(
            mode="allow",
            producers=frozenset({"p"}),
            tags=frozenset({"t"}),
            consumers=frozenset({"c"}),
        ),
    )
    assert type(policy.presets) is Presets


def test_config_recursive_merge() -> None:
    stored = {
        "config": {
            "fsm": {"max_pllm_steps": 9, "force_to_cache": ["a.*", "b.*"]},
            "prompt": {
                "pllm": {"flavor": "code", "query_role_name_overrides": {"assistant": "developer"}}
            },
            "llm": {"pllm": {"temperature": 0.1, "seed": 1}},
        }
    }
    header = {
        "fsm": {"force_to_cache": ["c.*"]},
        "prompt": {"pllm": {"version": "v2", "query_role_name_overrides": {"tool": "user"}}},
        "llm": {"pllm": {"seed": 2}, "qllm": {"top_p": 0.5}},
        "response_format": {"include_program": True},
    }
    cfg = run(stored=stored, config=header)
    assert (cfg.fsm.max_pllm_steps, cfg.fsm.force_to_cache) == (9, ("c.*",))
    assert (cfg.prompt.pllm.flavor, cfg.prompt.pllm.version) == ("code", "v2")
    assert dict(cfg.prompt.pllm.query_role_name_overrides or {}) == {
        "assistant": "developer",
        "tool": "user",
    }
    assert cfg.llm.pllm is not None and (cfg.llm.pllm.temperature, cfg.llm.pllm.seed) == (0.1, 2)
    assert cfg.llm.qllm is not None and cfg.llm.qllm.top_p == 0.5
    assert cfg.response_format.include_program is True


def test_client_config_header() -> None:
    header = FineGrainedConfigHeader.dual_llm(
        max_n_turns=5, max_pllm_steps=8, include_program=True
    ).dump_for_headers()
    cfg = run(Family.CODE, config=header)
    assert (cfg.fsm.max_n_turns, cfg.fsm.max_pllm_steps, cfg.response_format.include_program) == (
        5,
        8,
        True,
    )
    assert cfg.fsm.enabled_internal_tools == ("parse_with_ai",)


@pytest.mark.parametrize(
    ("sent", "mode"), [(True, "text"), (False, "none"), ("bool", "bool"), ("none", "none")]
)
def test_review_grammar(sent: bool | str, mode: str) -> None:
    cfg = run(config={"fsm": {"reduced_grammar_for_rllm_review": sent}})
    assert cfg.fsm.reduced_grammar_for_rllm_review == sent
    assert cfg.fsm.review_grammar == mode


def test_merge_is_pure() -> None:
    low = {"fsm": {"a": 1, "l": [1]}}
    out = merge(low, {"fsm": {"l": [2], "b": 2}})
    assert out == {"fsm": {"a": 1, "l": [2], "b": 2}}
    assert low == {"fsm": {"a": 1, "l": [1]}}
    out["fsm"]["a"] = 99
    assert low["fsm"]["a"] == 1


def test_endpoint_default_table_is_not_mutated() -> None:
    run(Family.CODE, config={"fsm": {"max_n_turns": 3}})
    assert run(Family.CODE).fsm.max_n_turns == 50


# --- errors ---------------------------------------------------------------------------------


def test_bad_header_is_invalid_header() -> None:
    with pytest.raises(
        InvalidHeader, match=r"^Invalid X-Config header: fsm.max_n_turns: must be >= 1 \(got 0\)$"
    ):
        run(config={"fsm": {"max_n_turns": 0}})


@pytest.mark.parametrize(
    "stored",
    [
        {"policy": {"mode": "ultra"}},
        {"features": {"agent_arch": "triple-llm"}},
        {"arch": "dual-llm"},
        {"config": {"fsm": {"max_n_turns": 0}}},
        {"policy": {"codes": {"code": object()}}},
    ],
)
def test_bad_stored_config_is_a_server_error(stored: dict[str, Any]) -> None:
    with pytest.raises(StoredConfigInvalid) as info:
        run(stored=stored)
    assert info.value.status == 500
    assert info.value.message.startswith("The stored config of this API key is invalid")


def test_check_stored() -> None:
    assert check_stored({"config": {"fsm": {"max_n_turns": 3}}}).config is not None
    with pytest.raises(StoredConfigInvalid) as info:
        check_stored({"features": {"agent_arch": "x"}, "policy": {"bogus": 1}})
    assert info.value.problems == [
        "features.agent_arch: must be one of 'single-llm', 'dual-llm' (got 'x')",
        "policy.bogus: extra inputs are not permitted",
    ]


def test_header_error_wins_over_stored_error() -> None:
    with pytest.raises(InvalidHeader):
        run(stored={"policy": {"mode": "ultra"}}, policy="{bad")


# --- model string and key -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "pllm", "qllm"),
    [
        ("m", "m", "m"),
        ("p,q", "p", "q"),
        (" p , q ", "p", "q"),
        (" solo ", "solo", "solo"),
        ("a/b:c,d", "a/b:c", "d"),
    ],
)
def test_model_string(model: str, pllm: str, qllm: str) -> None:
    cfg = run(model=model)
    assert (cfg.pllm_model, cfg.qllm_model) == (pllm, qllm)


@pytest.mark.parametrize("model", ["", " ", ",", "p,", ",q", "a,b,c", "a, ,b"])
def test_bad_model_string(model: str) -> None:
    with pytest.raises(BadRequest) as info:
        run(model=model)
    assert info.value.status == 400
    assert info.value.param == "model"
    assert info.value.message.startswith("model: ")


def test_reported_model_and_names() -> None:
    dual = run(model="p,q")
    assert (dual.reported_model, dual.model_names) == ("p,q", ("p", "q"))
    single = run(model="p,q", features={"agent_arch": "single-llm"})
    assert (single.reported_model, single.model_names) == ("p", ("p",))
    assert run(model="p").model_names == ("p",)
    candidates = run(model="p,q", config={"fsm": {"pllm_candidate_models": ["z", "p"]}})
    assert candidates.model_names == ("p", "q", "z")


def test_api_key_never_in_repr() -> None:
    cfg = run(api_key="sk-very-secret-123")
    assert cfg.api_key is not None and cfg.api_key.get_secret_value() == "sk-very-secret-123"
    assert "sk-very-secret" not in repr(cfg)
    assert "sk-very-secret" not in str(cfg)
    assert run(api_key="").api_key is None
    assert run(api_key=None).api_key is None


# --- immutability and caching ---------------------------------------------------------------


def test_config_is_frozen_all_the_way_down() -> None:
    cfg = run(
        features={"content_classifiers": [{"name": "pii_redaction"}]},
        config={
            "fsm": {"pllm_candidate_models": ["a"]},
            "prompt": {"pllm": {"query_role_name_overrides": {"a": "b"}}},
            "llm": {"pllm": {"logit_bias": {"1": 2}}},
        },
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.arch = AgentArch.SINGLE_LLM  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.policy.mode = "strict"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.policy.presets.default_allow = False  # type: ignore[misc]
    with pytest.raises(ValidationError):
        cfg.fsm.max_n_turns = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        cfg.classifiers[0].threshold = 0.1  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.prompt.pllm.query_role_name_overrides["x"] = "y"  # type: ignore[index]
    assert cfg.llm.pllm is not None
    with pytest.raises(TypeError):
        cfg.llm.pllm.logit_bias["3"] = 4  # type: ignore[index]
    assert isinstance(cfg.fsm.pllm_candidate_models, frozenset)
    assert isinstance(cfg.classifiers, tuple)


def test_replace_makes_a_new_config() -> None:
    cfg = run()
    other = dataclasses.replace(cfg, pllm_model="x")
    assert (cfg.pllm_model, other.pllm_model) == ("m", "x")


def test_repeated_resolve_shares_the_cached_sections() -> None:
    a = run(config={"fsm": {"max_n_turns": 3}}, model="a")
    b = run(config={"fsm": {"max_n_turns": 3}}, model="b")
    assert a.fsm is b.fsm
    assert (a.pllm_model, b.pllm_model) == ("a", "b")


# --- single-LLM view ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "honoured"),
    [
        ("classifiers", True),
        ("policy.mode", True),
        ("policy.presets.default_allow", True),
        ("policy.presets.enable_non_executable_memory", False),
        ("policy.presets.branching_meta_policy", False),
        ("policy.auto_gen", False),
        ("fsm.max_n_turns", True),
        ("fsm.clear_session_meta", True),
        ("fsm.max_pllm_steps", False),
        ("response_format.include_program", False),
        ("prompt.pllm.flavor", False),
    ],
)
def test_single_llm_honours(path: str, honoured: bool) -> None:
    single = run(features={"agent_arch": "single-llm"}, config={"fsm": {"max_pllm_steps": 7}})
    assert single.honours(path) is honoured
    assert run().honours(path) is True
    assert single.fsm.max_pllm_steps == 7  # kept, only ignored


def test_single_llm_accepts_dual_style_headers() -> None:
    # integrations/test_*::test_manual_session_management: dual-only fields are valid, kept, ignored.
    cfg = run(
        features=FeaturesHeader.single_llm(pii_redaction=True).dump_for_headers(),
        policy=SecurityPolicyHeader.dual_llm(auto_gen=True).dump_for_headers(),
        config=FineGrainedConfigHeader.dual_llm(max_pllm_steps=4).dump_for_headers(),
    )
    assert cfg.arch is AgentArch.SINGLE_LLM
    assert (cfg.policy.auto_gen, cfg.fsm.max_pllm_steps, cfg.fsm.max_n_turns) == (True, 4, 5)
    assert not cfg.honours("policy.auto_gen")
