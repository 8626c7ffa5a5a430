"""Error clauses of header parsing: one per problem, `<json.path>: <allowed> (got <sent>)`."""

from __future__ import annotations

import json

import pytest

from server.config.errors import MAX_SHOWN_CHARS
from server.config.models import ConfigHeader
from server.config.parse import MAX_CACHED_HEADER_CHARS, parse_header
from server.config.validate import validate_headers
from server.errors import InvalidHeader, Unprocessable
from server.names import Header

F, P, C = Header.FEATURES, Header.POLICY, Header.CONFIG

# (header, raw text, the exact clauses)
CLAUSES = [
    (C, '{"fsm": {"max_n_turns": 0}}', ["fsm.max_n_turns: must be >= 1 (got 0)"]),
    (
        F,
        '{"agent_arch": "triple-llm"}',
        ["agent_arch: must be one of 'single-llm', 'dual-llm' (got 'triple-llm')"],
    ),
    (F, '{"unknown_field": 1}', ["unknown_field: extra inputs are not permitted"]),
    (
        F,
        '{"content_classifiers": [{"name": "toxicity_filter", "x": 1}]}',
        ["content_classifiers[0].x: extra inputs are not permitted"],
    ),
    (
        F,
        '{"content_classifiers": [{"threshold": 0.5}]}',
        ["content_classifiers[0].name: field required"],
    ),
    (
        F,
        '{"content_classifiers": [{"name": "toxicity_filter", "threshold": 1.5}]}',
        ["content_classifiers[0].threshold: must be <= 1.0 (got 1.5)"],
    ),
    (
        F,
        '{"content_classifiers": [{"name": "toxicity_filter", "threshold": "high"}]}',
        ["content_classifiers[0].threshold: must be a number (got 'high')"],
    ),
    (
        F,
        '{"content_blockers": [{"name": "ip_blocker"}]}',
        [
            "content_blockers[0].name: must be one of 'url_blocker', 'file_blocker' (got 'ip_blocker')"
        ],
    ),
    (
        F,
        '{"content_classifiers": {"name": "pii_redaction"}}',
        ['content_classifiers: must be an array (got {"name": "pii_redaction"})'],
    ),
    (
        P,
        '{"mode": "ultra-strict"}',
        ["mode: must be one of 'standard', 'strict', 'custom' (got 'ultra-strict')"],
    ),
    (P, '{"codes": 5}', ["codes: must be a string or a JSON object (got 5)"]),
    (P, '{"codes": {"code": 5}}', ["codes.code: must be a string (got 5)"]),
    (P, '{"auto_gen": "yes"}', ["auto_gen: must be true or false (got 'yes')"]),
    (P, '{"auto_gen": 1}', ["auto_gen: must be true or false (got 1)"]),
    (
        P,
        '{"codes": {"code": "", "language": "rego"}}',
        ["codes.language: must be one of 'sqrt', 'cedar' (got 'rego')"],
    ),
    (
        P,
        '{"presets": {"branching_meta_policy": {"mode": "maybe", "x": 1}}}',
        [
            "presets.branching_meta_policy.mode: must be one of 'allow', 'deny' (got 'maybe')",
            "presets.branching_meta_policy.x: extra inputs are not permitted",
        ],
    ),
    (
        P,
        '{"presets": {"default_allow_enforcement_level": "medium"}}',
        ["presets.default_allow_enforcement_level: must be one of 'hard', 'soft' (got 'medium')"],
    ),
    (C, '{"fsm": {"max_pllm_steps": "5"}}', ["fsm.max_pllm_steps: must be an integer (got '5')"]),
    (C, '{"fsm": {"max_pllm_steps": 2.5}}', ["fsm.max_pllm_steps: must be an integer (got 2.5)"]),
    (
        C,
        '{"fsm": {"min_num_tools_for_filtering": 1}}',
        ["fsm.min_num_tools_for_filtering: must be >= 2 (got 1)"],
    ),
    (
        C,
        '{"fsm": {"enabled_internal_tools": ["parse_with_ai", "rm"]}}',
        [
            "fsm.enabled_internal_tools[1]: must be one of 'parse_with_ai', 'verify_hypothesis', 'set_policy', 'complete_turn' (got 'rm')"
        ],
    ),
    (
        C,
        '{"fsm": {"reduced_grammar_for_rllm_review": "full"}}',
        [
            "fsm.reduced_grammar_for_rllm_review: must be one of true, false, 'none', 'bool', 'text' (got 'full')"
        ],
    ),
    (
        C,
        '{"fsm": {"force_to_cache": ["("]}}',
        [
            "fsm.force_to_cache[0]: must be a valid regular expression (missing ), unterminated subpattern at position 0) (got '(')"
        ],
    ),
    (
        C,
        '{"fsm": {"history_mismatch_policy": "ignore"}}',
        [
            "fsm.history_mismatch_policy: must be one of 'reject', 'restart_turn', 'continue' (got 'ignore')"
        ],
    ),
    (C, '{"fsm": {"n_pllm_plans": 0}}', ["fsm.n_pllm_plans: must be >= 1 (got 0)"]),
    (
        C,
        '{"fsm": {"pllm_candidate_models": "gpt"}}',
        ["fsm.pllm_candidate_models: must be an array (got 'gpt')"],
    ),
    (
        C,
        '{"prompt": {"pllm": {"debug_info_level": "max"}}}',
        ["prompt.pllm.debug_info_level: must be one of 'minimal', 'normal', 'extra' (got 'max')"],
    ),
    (
        C,
        '{"prompt": {"qllm": {"debug_info_level": "extra"}}}',
        ["prompt.qllm.debug_info_level: extra inputs are not permitted"],
    ),
    (
        C,
        '{"response_format": {"stream_thoughts": "on"}}',
        ["response_format.stream_thoughts: must be true or false (got 'on')"],
    ),
    (
        C,
        '{"llm": {"pllm": {"reasoning": {"budget": 0}}}}',
        ["llm.pllm.reasoning.budget: must be >= 1 (got 0)"],
    ),
    (C, '{"llm": {"judge": {}}}', ["llm.judge: extra inputs are not permitted"]),
    (
        C,
        '{"llm": {"qllm": {"logit_bias": {"1": 0.5}}}}',
        ["llm.qllm.logit_bias.1: must be an integer (got 0.5)"],
    ),
    (C, '{"fsm": 5}', ["fsm: must be a JSON object (got 5)"]),
    (C, "[1, 2]", ["must be a JSON object (got [1, 2])"]),
    (C, '"fsm"', ["must be a JSON object (got 'fsm')"]),
    (
        C,
        '{"fsm": {"max_n_turns": 0, "disable_rllm": "no"}, "extra": 1}',
        [
            "fsm.max_n_turns: must be >= 1 (got 0)",
            "fsm.disable_rllm: must be true or false (got 'no')",
            "extra: extra inputs are not permitted",
        ],
    ),
]


@pytest.mark.parametrize(("header", "raw", "want"), CLAUSES)
def test_clauses(header: Header, raw: str, want: list[str]) -> None:
    with pytest.raises(InvalidHeader) as info:
        parse_header(header, raw)
    assert info.value.problems == want
    assert info.value.status == 400
    assert info.value.param == {F: "X-Features", P: "X-Policy", C: "X-Config"}[header]


def test_header_name_is_case_insensitive() -> None:
    model = parse_header("X-Config", '{"fsm": {"max_n_turns": 2}}')  # type: ignore[call-overload]
    assert isinstance(model, ConfigHeader) and model.fsm.max_n_turns == 2


def test_message_names_the_header() -> None:
    with pytest.raises(InvalidHeader) as info:
        parse_header(C, '{"fsm": {"max_n_turns": 0}, "x": 1}')
    assert str(info.value) == (
        "Invalid X-Config header: fsm.max_n_turns: must be >= 1 (got 0); "
        "x: extra inputs are not permitted"
    )


@pytest.mark.parametrize("raw", ["not valid json{{{", "{bad json", "}{not json", '{"a": 1,}', "{"])
def test_invalid_json_has_position(raw: str) -> None:
    with pytest.raises(InvalidHeader) as info:
        parse_header(F, raw)
    [problem] = info.value.problems
    assert problem.startswith("Invalid JSON: ")
    assert "line 1 column" in problem


def test_huge_values_are_truncated() -> None:
    raw = '{"mode": "' + "x" * 100_000 + '"}'
    with pytest.raises(InvalidHeader) as info:
        parse_header(P, raw)
    [problem] = info.value.problems
    assert problem.endswith("...')")
    assert len(problem) < 100 + MAX_SHOWN_CHARS


@pytest.mark.parametrize("raw", [None, "", "   ", "null", " null "])
def test_absent(raw: str | None) -> None:
    assert parse_header(C, raw) is None
    assert validate_headers({"x_config": raw})["x_config"] is None


def test_null_fields_mean_absent_unless_null_is_a_value() -> None:
    model = parse_header(Header.CONFIG, '{"fsm": {"disable_rllm": null, "max_n_turns": null}}')
    assert model is not None
    assert model.fsm.model_fields_set == {"max_n_turns"}
    assert model.fsm.disable_rllm is True


def test_unknown_key_with_null_value_is_still_rejected() -> None:
    with pytest.raises(InvalidHeader, match="bogus: extra inputs"):
        parse_header(P, '{"bogus": null}')


def test_large_header_parses_without_cache() -> None:
    code = "// " + "x" * MAX_CACHED_HEADER_CHARS
    model = parse_header(Header.POLICY, json.dumps({"codes": {"code": code}}))
    assert model is not None and model.codes.code == code


def test_repeated_header_is_cached() -> None:
    raw = '{"fsm": {"max_n_turns": 7}}'
    assert parse_header(C, raw) is parse_header(C, raw)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"x_features": 5}, "x_features"), ({"x_other": "{}"}, "x_other"), ([], None)],
)
def test_validate_headers_bad_body(body: object, field: str | None) -> None:
    with pytest.raises(Unprocessable) as info:
        validate_headers(body)  # type: ignore[arg-type]
    assert info.value.status == 422
    assert info.value.param == field
    assert info.value.message.startswith("Invalid validate-headers body: ")


def test_bare_string_codes() -> None:
    result = validate_headers({"x_policy": '{"codes": "tool \\"x\\" { must deny always; }"}'})
    assert result["x_policy"]["normalized"]["codes"] == {
        "code": 'tool "x" { must deny always; }',
        "language": "sqrt",
    }


def test_normalized_applies_defaults_without_inventing_endpoint_values() -> None:
    normalized = validate_headers({"x_config": '{"response_format": {}}'})["x_config"]["normalized"]
    assert normalized["fsm"]["max_pllm_steps"] == 5
    assert normalized["fsm"]["history_mismatch_policy"] == "restart_turn"
    assert "max_n_turns" not in normalized["fsm"]
    assert "enabled_internal_tools" not in normalized["fsm"]
    features = validate_headers({"x_features": "{}"})["x_features"]["normalized"]
    assert features == {}
