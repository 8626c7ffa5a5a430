"""Config layer: header models, parsing, validate-headers, resolve() to a frozen SessionConfig."""

from server.config.allowlist import model_allowed, require_allowed
from server.config.errors import StoredConfigInvalid
from server.config.models import (
    Blocker,
    Classifier,
    ConfigHeader,
    FeaturesHeader,
    Fsm,
    Llm,
    PolicyHeader,
    Prompt,
    ResponseFormat,
)
from server.config.parse import parse_header
from server.config.resolver import check_stored, parse_model_string, resolve
from server.config.session import SINGLE_LLM_HONOURED, PolicyConfig, SessionConfig
from server.config.validate import ValidateHeadersBody, validate_headers

__all__ = [
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
