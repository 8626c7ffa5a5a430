"""Model allow list (spec 13.2) and the package's public surface."""

from __future__ import annotations

import pytest

import server.config
from server.errors import BadRequest

ALLOW = [
    ("gpt-5-mini", "", True),
    ("gpt-5-mini", "  ", True),
    ("gpt-5-mini", "gpt-5-mini", True),
    ("gpt-5-mini", "gpt-5", False),
    ("gpt-5-mini", "gpt-5*", True),
    ("gpt-5-mini", " claude-* , gpt-5-mini ", True),
    ("google/gemini-3-flash-preview", "google/*", True),
    ("o3", "gpt-*,claude-*", False),
    ("anything", "*", True),
    ("gpt", "gpt-*", False),
    ("a", ",,", True),
]


@pytest.mark.parametrize(("model", "allowlist", "allowed"), ALLOW)
def test_model_allowed(model: str, allowlist: str, allowed: bool) -> None:
    assert server.config.model_allowed(model, allowlist) is allowed


def test_public_surface() -> None:
    assert sorted(server.config.__all__) == [
        "Blocker",
        "Classifier",
        "ConfigHeader",
        "FeaturesHeader",
        "Fsm",
        "Llm",
        "PolicyConfig",
        "PolicyHeader",
        "Prompt",
        "ResponseFormat",
        "SINGLE_LLM_HONOURED",
        "SessionConfig",
        "StoredConfigInvalid",
        "ValidateHeadersBody",
        "check_stored",
        "model_allowed",
        "parse_header",
        "parse_model_string",
        "require_allowed",
        "resolve",
        "validate_headers",
    ]
    for name in server.config.__all__:
        assert hasattr(server.config, name)


def test_require_allowed_names_the_refused_models() -> None:
    server.config.require_allowed(["gpt-5-mini", "gpt-5-nano"], allowlist="gpt-5*")
    with pytest.raises(BadRequest) as info:
        server.config.require_allowed(["gpt-5-mini", "o3", "evil"], allowlist="gpt-5*")
    assert (info.value.status, info.value.param, info.value.code) == (
        400,
        "model",
        "model_not_allowed",
    )
    assert info.value.message.startswith("model: 'o3', 'evil' not allowed")
