"""The resolved, immutable per-request configuration (`SessionConfig`) that agents consume.

Single-LLM view (spec 3.7): a single-LLM agent honours all of X-Features; in X-Policy `mode`,
`codes`, `fail_fast` and the presets `default_allow`, `default_allow_enforcement_level`,
`enable_llm_blocked_tag`, `llm_blocked_tag_enforcement_level`; in X-Config only
`fsm.min_num_tools_for_filtering`, `fsm.clear_session_meta` and `fsm.max_n_turns`. The other
fields stay in the config (nothing is dropped, so a later request or the audit log sees them);
`SessionConfig.honours(path)` tells an agent whether a field applies to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from server.config.models import Blocker, Classifier, Fsm, Llm, Prompt, ResponseFormat
from server.names import AgentArch, Family
from server.policy.engine import Presets

__all__ = ["PolicyConfig", "SessionConfig", "SINGLE_LLM_HONOURED"]

# Dotted paths a single-LLM agent honours (spec 3.7); a path covers everything below it.
SINGLE_LLM_HONOURED: frozenset[str] = frozenset(
    {
        "arch",
        "classifiers",
        "blockers",
        "policy.mode",
        "policy.code",
        "policy.language",
        "policy.fail_fast",
        "policy.presets.default_allow",
        "policy.presets.default_allow_enforcement_level",
        "policy.presets.enable_llm_blocked_tag",
        "policy.presets.llm_blocked_tag_enforcement_level",
        "fsm.min_num_tools_for_filtering",
        "fsm.clear_session_meta",
        "fsm.max_n_turns",
        "pllm_model",
        "qllm_model",
        "api_key",
    }
)


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The resolved X-Policy: `code` in `language`, plus the engine's frozen presets."""

    mode: Literal["standard", "strict", "custom"] = "standard"
    code: str = ""
    language: Literal["sqrt", "cedar"] = "sqrt"
    auto_gen: bool = False
    fail_fast: bool = True
    presets: Presets = Presets()


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Everything one request runs with. Change it with `dataclasses.replace`, never in place.

    `fsm.max_n_turns` (None = unlimited) and `fsm.enabled_internal_tools` are always filled.
    Models: `pllm_model` plans (and serves single-LLM and the auxiliary LLMs), `qllm_model`
    parses untrusted data; they are equal when the model string names one model.
    """

    arch: AgentArch
    family: Family
    classifiers: tuple[Classifier, ...]
    blockers: tuple[Blocker, ...]
    policy: PolicyConfig
    fsm: Fsm
    prompt: Prompt
    response_format: ResponseFormat
    llm: Llm
    pllm_model: str = ""
    qllm_model: str = ""
    api_key: SecretStr | None = None  # X-Api-Key (BYOK); its repr never shows the key

    @property
    def model_names(self) -> tuple[str, ...]:
        """The distinct models this request may call, for the allow list (spec 2.2, 13.2).

        Single-LLM calls only the first name. Dual-LLM also calls `fsm.pllm_candidate_models`,
        so they are checked too: otherwise a header could spend the managed key on any model.
        """
        if self.arch is AgentArch.SINGLE_LLM:
            return (self.pllm_model,)
        names = (self.pllm_model, self.qllm_model, *sorted(self.fsm.pllm_candidate_models))
        return tuple(dict.fromkeys(names))

    @property
    def reported_model(self) -> str:
        """`model` of a response: `"<pllm>,<qllm>"` for dual-LLM (spec 3.2), else the model."""
        if self.arch is AgentArch.DUAL_LLM:
            return f"{self.pllm_model},{self.qllm_model}"
        return self.pllm_model

    def honours(self, path: str) -> bool:
        """Whether the agent of this config applies the field at `path` (see module doc).

        >>> from server.config.resolver import resolve
        >>> cfg = resolve(family=Family.CHAT, stored=None, features='{"agent_arch": "single-llm"}',
        ...               policy=None, config=None, model="m", api_key=None)
        >>> cfg.honours("fsm.max_n_turns"), cfg.honours("fsm.max_pllm_steps")
        (True, False)
        """
        if self.arch is AgentArch.DUAL_LLM:
            return True
        parts = path.split(".")
        return any(".".join(parts[:n]) in SINGLE_LLM_HONOURED for n in range(1, len(parts) + 1))
