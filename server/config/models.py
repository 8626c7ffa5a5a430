"""Typed, frozen models of the X-Features, X-Policy and X-Config headers (spec control-api 3.3-3.5).

Every model forbids unknown keys at every level and carries the server defaults of the spec, so
one class serves both as the header schema and as a section of the resolved `SessionConfig`.

Conventions (decisions):

* A JSON `null` for a field means "absent" (spec 3.3 "if absent/null: keep base"), except for
  fields whose spec type includes null as a value (`NULL_IS_VALUE`: `max_n_turns` null = unlimited,
  `max_tool_calls_per_step` null = no limit, a classifier's `mode`, `reasoning.effort`...).
* What a header *explicitly* sets is `explicit(model)` (the fields present in the JSON), which the
  resolver merges; `normalized(model)` is the re-serialisation with defaults that validate-headers
  returns. Fields whose default depends on the endpoint or the base config (`OMIT_WHEN_UNSET`:
  `agent_arch`, the classifier lists, `fsm.max_n_turns`, `fsm.enabled_internal_tools`) appear in
  `normalized` only when sent, so it never invents values or list entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from server.config.types import (
    Bool,
    DebugInfoLevel,
    EnforcementLevel,
    Float,
    Int,
    InternalTool,
    IntMap,
    Regex,
    ReviewGrammar,
    Str,
    StrMap,
    StrSet,
    review_grammar,
)
from server.names import AgentArch

__all__ = [
    "Section",
    "ClassifierName",
    "BlockerName",
    "Classifier",
    "Blocker",
    "FeaturesHeader",
    "PolicyCode",
    "BranchingMetaPolicyModel",
    "PresetsModel",
    "PolicyHeader",
    "Fsm",
    "PllmPrompt",
    "RllmPrompt",
    "TllmPrompt",
    "BasicPrompt",
    "Prompt",
    "ResponseFormat",
    "Reasoning",
    "LlmParams",
    "Llm",
    "ConfigHeader",
    "HeaderModel",
    "explicit",
    "normalized",
    "CLASSIFIER_MODE_THRESHOLDS",
]

ClassifierName = Literal[
    "toxicity_filter", "pii_redaction", "healthcare_topic_guardrail", "finance_topic_guardrail"
]
BlockerName = Literal["url_blocker", "file_blocker"]

# Named classifier modes supersede `threshold` (spec 3.3); unknown modes fall back to it.
CLASSIFIER_MODE_THRESHOLDS: Mapping[str, float] = {
    "strict": 0.2,
    "high sensitivity": 0.35,
    "normal": 0.5,
    "low sensitivity": 0.7,
}


class Section(BaseModel):
    """Base of every header model: frozen, unknown keys rejected, null = absent (see module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    NULL_IS_VALUE: ClassVar[frozenset[str]] = frozenset()
    OMIT_WHEN_UNSET: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _null_means_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            fields = cls.model_fields
            return {
                key: value
                for key, value in data.items()
                if value is not None or key not in fields or key in cls.NULL_IS_VALUE
            }
        return data


# --- X-Features -----------------------------------------------------------------------------


class Classifier(Section):
    """A content classifier; `effective_threshold` applies the named `mode` when known."""

    NULL_IS_VALUE = frozenset({"mode"})

    name: ClassifierName
    threshold: Float = Field(default=0.5, ge=0.0, le=1.0)
    mode: Str | None = None

    @property
    def effective_threshold(self) -> float:
        """The threshold to apply: the named mode's when known, else `threshold`.

        >>> Classifier(name="pii_redaction", threshold=0.9, mode="strict").effective_threshold
        0.2
        """
        if self.mode is not None and self.mode in CLASSIFIER_MODE_THRESHOLDS:
            return CLASSIFIER_MODE_THRESHOLDS[self.mode]
        return self.threshold


class Blocker(Section):
    name: BlockerName


class FeaturesHeader(Section):
    OMIT_WHEN_UNSET = frozenset({"agent_arch", "content_classifiers", "content_blockers"})

    agent_arch: AgentArch | None = None
    content_classifiers: tuple[Classifier, ...] = ()
    content_blockers: tuple[Blocker, ...] = ()


# --- X-Policy -------------------------------------------------------------------------------


class PolicyCode(Section):
    code: Str = ""
    language: Literal["sqrt", "cedar"] = "sqrt"


class BranchingMetaPolicyModel(Section):
    mode: Literal["allow", "deny"] = "deny"
    producers: StrSet = frozenset()
    tags: StrSet = frozenset()
    consumers: StrSet = frozenset()


class PresetsModel(Section):
    default_allow: Bool = True
    default_allow_enforcement_level: EnforcementLevel = "soft"
    enable_non_executable_memory: Bool = True
    enable_llm_blocked_tag: Bool = True
    llm_blocked_tag_enforcement_level: EnforcementLevel = "hard"
    branching_meta_policy: BranchingMetaPolicyModel = BranchingMetaPolicyModel()


def _code_or_object(value: Any) -> Any:
    if isinstance(value, str):
        return {"code": value, "language": "sqrt"}
    if isinstance(value, (dict, PolicyCode)):
        return value
    raise PydanticCustomError("codes_type", "must be a string or a JSON object")


class PolicyHeader(Section):
    """X-Policy. `codes` may be a bare string: SQRT code (published REST examples send one).

    A bare string sets both `code` and `language: "sqrt"`, so it never runs as a stored Cedar
    policy's language. `fail_fast: null` counts as absent, i.e. true.
    """

    mode: Literal["standard", "strict", "custom"] = "standard"
    codes: Annotated[PolicyCode, BeforeValidator(_code_or_object)] = PolicyCode()
    auto_gen: Bool = False
    fail_fast: Bool = True
    presets: PresetsModel = PresetsModel()


# --- X-Config -------------------------------------------------------------------------------


class Fsm(Section):
    """`fsm`: S = shared, D = dual-LLM only (single-LLM ignores D fields; spec 3.5, 3.7)."""

    NULL_IS_VALUE = frozenset(
        {"max_n_turns", "max_tool_calls_per_step", "detect_tool_error_max_result_length"}
    )
    # Filled per endpoint by the resolver (spec 3.7); None here means "not decided yet".
    OMIT_WHEN_UNSET = frozenset({"max_n_turns", "enabled_internal_tools"})

    min_num_tools_for_filtering: Int = Field(default=10, ge=2)  # S
    clear_session_meta: Literal["never", "every_attempt", "every_turn"] = "never"  # S
    max_n_turns: Int | None = Field(default=None, ge=1)  # S; null = unlimited
    history_mismatch_policy: Literal["reject", "restart_turn", "continue"] = "restart_turn"
    clear_history_every_n_attempts: Int | None = Field(default=None, ge=1)  # None = off
    disable_rllm: Bool = True
    enable_multistep_planning: Bool = False
    enabled_internal_tools: tuple[InternalTool, ...] | None = None
    prune_failed_steps: Bool = True
    force_to_cache: tuple[Regex, ...] = ()
    max_pllm_steps: Int = Field(default=5, ge=1)
    max_pllm_failed_steps: Int = Field(default=3, ge=1)
    max_tool_calls_per_step: Int | None = Field(default=None, ge=1)
    reduced_grammar_for_rllm_review: ReviewGrammar = "text"
    retry_on_policy_violation: Bool = False
    wrap_tool_result: Bool = False
    detect_tool_errors: Literal["none", "regex", "llm"] = "none"
    detect_tool_error_regex_pattern: Regex | None = None
    detect_tool_error_max_result_length: Int | None = Field(default=None, ge=0)
    strict_tool_result_parsing: Bool = False
    tool_result_transform: Literal["none", "codex"] = "none"
    n_pllm_plans: Int = Field(default=1, ge=1)
    pllm_candidate_models: StrSet = frozenset()  # empty = the request's model
    pllm_context_pruning: Bool = True

    @property
    def review_grammar(self) -> Literal["none", "bool", "text"]:
        """`reduced_grammar_for_rllm_review` as a mode (true = `text`, false = `none`)."""
        return review_grammar(self.reduced_grammar_for_rllm_review)


class BasicPrompt(Section):
    """`grllm`, `qllm`, `tagllm`, `policy_llm`, `error_detector_llm`: free-string flavor/version."""

    flavor: Str | None = None
    version: Str | None = None


class PllmPrompt(BasicPrompt):
    clarify_ambiguous_queries: Bool = True
    context_var_visibility: (
        Literal["none", "basic-notext", "basic-executable", "all-executable", "all"] | None
    ) = None
    query_inline_roles: tuple[Literal["assistant", "tool", "developer", "system"], ...] | None = (
        None
    )
    query_role_name_overrides: StrMap | None = None
    query_include_tool_calls: Bool | None = None
    query_include_tool_args: Bool | None = None
    query_include_tool_results: Bool | None = None
    debug_info_level: DebugInfoLevel = "normal"


class RllmPrompt(BasicPrompt):
    debug_info_level: DebugInfoLevel = "normal"


class TllmPrompt(BasicPrompt):
    add_tool_description: Bool | None = None
    add_tool_input_schema: Bool | None = None


class Prompt(Section):
    """`prompt` (dual-LLM only). None = the agent's built-in template choice."""

    pllm: PllmPrompt = PllmPrompt()
    rllm: RllmPrompt = RllmPrompt()
    grllm: BasicPrompt = BasicPrompt()
    qllm: BasicPrompt = BasicPrompt()
    tllm: TllmPrompt = TllmPrompt()
    tagllm: BasicPrompt = BasicPrompt()
    policy_llm: BasicPrompt = BasicPrompt()
    error_detector_llm: BasicPrompt = BasicPrompt()


class ResponseFormat(Section):
    """`response_format` (dual-LLM only)."""

    strip_response_content: Bool = False
    include_program: Bool = False
    include_policy_check_history: Bool = False
    include_namespace_snapshot: Bool = False
    stream_thoughts: Bool = False


class Reasoning(Section):
    NULL_IS_VALUE = frozenset({"effort", "budget"})

    enabled: Bool = True
    effort: Str | None = None
    budget: Int | None = Field(default=None, ge=1)
    adaptive: Bool = False


class LlmParams(Section):
    """Sampling parameters of one internal LLM; None = leave the provider's default."""

    frequency_penalty: Float | None = None
    presence_penalty: Float | None = None
    temperature: Float | None = None
    top_p: Float | None = None
    logit_bias: IntMap | None = None
    logprobs: Bool | None = None
    max_completion_tokens: Int | None = None
    seed: Int | None = None
    reasoning: Reasoning | None = None


class Llm(Section):
    """`llm` (later clients): per-role parameters; only given fields overwrite."""

    pllm: LlmParams | None = None
    rllm: LlmParams | None = None
    grllm: LlmParams | None = None
    qllm: LlmParams | None = None
    tllm: LlmParams | None = None
    tagllm: LlmParams | None = None
    policy_llm: LlmParams | None = None
    tool_result_error_detector_llm: LlmParams | None = None


class ConfigHeader(Section):
    fsm: Fsm = Fsm()
    prompt: Prompt = Prompt()
    response_format: ResponseFormat = ResponseFormat()
    llm: Llm = Llm()


HeaderModel = FeaturesHeader | PolicyHeader | ConfigHeader


# --- views ----------------------------------------------------------------------------------


def explicit(model: Section) -> dict[str, Any]:
    """The keys the JSON explicitly set, nested models as dicts (what the resolver merges).

    >>> explicit(ConfigHeader.model_validate({"fsm": {"max_n_turns": 5}}))
    {'fsm': {'max_n_turns': 5}}
    """
    out: dict[str, Any] = {}
    for name in model.model_fields_set:
        value = getattr(model, name)
        out[name] = explicit(value) if isinstance(value, Section) else value
    return out


def normalized(model: Section) -> dict[str, Any]:
    """The model as JSON-ready data with defaults applied (validate-headers `normalized`).

    >>> normalized(FeaturesHeader.model_validate({"agent_arch": "single-llm"}))
    {'agent_arch': 'single-llm'}
    """
    fields_set = model.model_fields_set
    return {
        name: _json(getattr(model, name))
        for name in type(model).model_fields
        if name not in model.OMIT_WHEN_UNSET or name in fields_set
    }


def _json(value: Any) -> Any:
    if isinstance(value, Section):
        return normalized(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_json(item) for item in value]
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value
