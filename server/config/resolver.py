"""The resolver (spec control-api 3.1, 3.7, 13.1): stored config + headers + model -> SessionConfig.

Pipeline, each step a layer of explicitly set keys (`models.explicit`), lowest first:

1. base: the key's stored config (`{"features"?, "policy"?, "config"?}`, validated by the header
   models) or the built-in preset (dual-LLM, no classifiers, model defaults);
2. endpoint defaults (3.7) as the lowest X-Config layer, so they fill only what neither the stored
   config nor a header sets (13.1); lang-graph always runs dual-LLM;
3. X-Features: an `agent_arch` different from the base's rebuilds from that arch's preset (the
   stored features, policy and config are dropped); a present classifier/blocker list replaces;
4./5. X-Policy, then X-Config: recursive merge of present keys; a present list or set replaces,
   a present map (`query_role_name_overrides`, `logit_bias`, an `llm` role) merges key by key;
6. the model string (`"m"` or `"p,q"`) and X-Api-Key.

Steps 1-5 depend only on (family, stored, header texts), so their result is cached in a bounded
LRU keyed by those texts; a repeated request costs a cache hit plus `dataclasses.replace`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

from pydantic import SecretStr, ValidationError

from server.config.errors import StoredConfigInvalid, clauses, show
from server.config.models import (
    ConfigHeader,
    FeaturesHeader,
    PolicyHeader,
    Section,
    explicit,
)
from server.config.parse import HEADER_CACHE_SIZE, MAX_CACHED_HEADER_CHARS, parse_header
from server.config.presets import ARCH_PRESETS, DEFAULT_ARCH, FORCED_ARCH, endpoint_defaults
from server.config.session import PolicyConfig, SessionConfig
from server.errors import BadRequest
from server.names import AgentArch, Family, Header
from server.policy.engine import BranchingMetaPolicy, Presets

__all__ = ["StoredConfig", "resolve", "check_stored", "parse_model_string", "merge", "clear_cache"]


class StoredConfig(Section):
    """A bearer key's stored base config: the three header objects, each optional."""

    features: FeaturesHeader | None = None
    policy: PolicyHeader | None = None
    config: ConfigHeader | None = None


def resolve(
    *,
    family: Family,
    stored: Mapping[str, Any] | None,
    features: str | None,
    policy: str | None,
    config: str | None,
    model: str,
    api_key: str | None,
) -> SessionConfig:
    """The frozen config of one request.

    Raises `InvalidHeader` (400) for a bad header, `BadRequest` (400, param `model`) for a bad
    model string, `StoredConfigInvalid` (500) when the key's stored config is broken.

    >>> cfg = resolve(family=Family.CODE, stored=None, features=None, policy=None,
    ...               config='{"fsm": {"max_pllm_steps": 8}}', model="p, q", api_key=None)
    >>> cfg.arch.value, cfg.fsm.max_n_turns, cfg.fsm.max_pllm_steps, cfg.pllm_model, cfg.qllm_model
    ('dual-llm', 50, 8, 'p', 'q')
    """
    stored_text = _stored_text(stored)
    texts = (stored_text, features, policy, config)
    if all(text is None or len(text) <= MAX_CACHED_HEADER_CHARS for text in texts):
        base = _resolve_cached(Family(family), *texts)
    else:
        base = _resolve(Family(family), *texts)
    pllm, qllm = parse_model_string(model)
    key = api_key.strip() if api_key else ""
    return replace(base, pllm_model=pllm, qllm_model=qllm, api_key=SecretStr(key) if key else None)


def check_stored(stored: Mapping[str, Any]) -> StoredConfig:
    """Validate a key's stored base config as `resolve` will (e.g. in `keys create`).

    Raises `StoredConfigInvalid` with one clause per problem.

    >>> check_stored({"policy": {"mode": "strict"}}).policy.mode
    'strict'
    """
    parsed = _parse_stored(_stored_text(stored))
    if parsed is None:
        raise StoredConfigInvalid(["must be a JSON object (got null)"])
    return parsed


def parse_model_string(model: str) -> tuple[str, str]:
    """`"m"` -> (m, m); `"p,q"` -> (p, q), names trimmed (spec 3.2).

    >>> parse_model_string(" planner , quarantine ")
    ('planner', 'quarantine')
    """
    if not isinstance(model, str):
        raise BadRequest(
            f"model: must be a string (got {show(model)})", param="model", code="invalid_model"
        )
    names = [name.strip() for name in model.split(",")]
    if len(names) > 2 or not all(names):
        raise BadRequest(
            "model: must be one model name or two comma-separated names 'pllm,qllm', "
            f"none empty (got {show(model)})",
            param="model",
            code="invalid_model",
        )
    return names[0], names[-1]


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive merge, later layers win; maps merge, any other value (lists, sets) replaces.

    Returns new dicts; the layers are never mutated.

    >>> merge({"fsm": {"a": 1, "l": [1]}}, {"fsm": {"l": [2]}})
    {'fsm': {'a': 1, 'l': [2]}}
    """
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            current = out.get(key)
            if isinstance(value, Mapping):
                out[key] = merge(current, value) if isinstance(current, Mapping) else merge(value)
            else:
                out[key] = value
    return out


def clear_cache() -> None:
    """Forget cached resolutions (tests)."""
    _resolve_cached.cache_clear()


def _stored_text(stored: Mapping[str, Any] | None) -> str | None:
    # Canonical JSON: a hashable cache key, and validated exactly like a header text.
    if stored is None:
        return None
    try:
        return json.dumps(stored, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StoredConfigInvalid([f"must be JSON data ({exc})"]) from None


@lru_cache(maxsize=HEADER_CACHE_SIZE)
def _resolve_cached(
    family: Family, stored: str | None, features: str | None, policy: str | None, config: str | None
) -> SessionConfig:
    return _resolve(family, stored, features, policy, config)


def _resolve(
    family: Family, stored: str | None, features: str | None, policy: str | None, config: str | None
) -> SessionConfig:
    # Headers first: a caller's mistake (400) is reported before an operator's (500).
    x_features = parse_header(Header.FEATURES, features)
    x_policy = parse_header(Header.POLICY, policy)
    x_config = parse_header(Header.CONFIG, config)
    base = _parse_stored(stored)

    base_arch = _arch(base.features if base else None) or DEFAULT_ARCH
    arch = FORCED_ARCH.get(family) or _arch(x_features) or base_arch
    if arch is not base_arch:
        base = None  # rebuild from the preset of the requested arch (spec 3.1 step 3)
    preset = ARCH_PRESETS[arch]

    stored_features = base.features if base else None
    return SessionConfig(
        arch=arch,
        family=family,
        classifiers=_list(x_features, stored_features, "content_classifiers"),
        blockers=_list(x_features, stored_features, "content_blockers"),
        policy=_policy(
            PolicyHeader.model_validate(
                merge(preset["policy"], _layer(base and base.policy), _layer(x_policy))
            )
        ),
        **_config_sections(
            ConfigHeader.model_validate(
                merge(
                    endpoint_defaults(family),
                    preset["config"],
                    _layer(base and base.config),
                    _layer(x_config),
                )
            )
        ),
    )


def _parse_stored(text: str | None) -> StoredConfig | None:
    if text is None:
        return None
    try:
        return StoredConfig.model_validate_json(text)
    except ValidationError as exc:
        raise StoredConfigInvalid(clauses(exc)) from None


def _arch(features: FeaturesHeader | None) -> AgentArch | None:
    return features.agent_arch if features is not None else None


def _layer(model: Section | None) -> dict[str, Any]:
    return explicit(model) if model is not None else {}


def _list(
    header: FeaturesHeader | None,
    stored: FeaturesHeader | None,
    field: str,
) -> tuple[Any, ...]:
    # A present list replaces the base list (spec 12.5: we replace, never merge by name).
    for source in (header, stored):
        if source is not None and field in source.model_fields_set:
            value: tuple[Any, ...] = getattr(source, field)
            return value
    return ()


def _policy(model: PolicyHeader) -> PolicyConfig:
    presets = model.presets
    branching = presets.branching_meta_policy
    return PolicyConfig(
        mode=model.mode,
        code=model.codes.code,
        language=model.codes.language,
        auto_gen=model.auto_gen,
        fail_fast=model.fail_fast,
        presets=Presets(
            default_allow=presets.default_allow,
            default_allow_enforcement_level=presets.default_allow_enforcement_level,
            enable_non_executable_memory=presets.enable_non_executable_memory,
            enable_llm_blocked_tag=presets.enable_llm_blocked_tag,
            llm_blocked_tag_enforcement_level=presets.llm_blocked_tag_enforcement_level,
            branching_meta_policy=BranchingMetaPolicy(
                mode=branching.mode,
                producers=branching.producers,
                tags=branching.tags,
                consumers=branching.consumers,
            ),
        ),
    )


def _config_sections(model: ConfigHeader) -> dict[str, Any]:
    return {
        "fsm": model.fsm,
        "prompt": model.prompt,
        "response_format": model.response_format,
        "llm": model.llm,
    }
