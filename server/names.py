"""Every name of the wire contract, defined once: families, providers, formats, headers."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Family",
    "Provider",
    "WireFormat",
    "Header",
    "AgentArch",
    "ROUTE_TABLE",
    "POLICY_GEN_PROVIDERS",
    "POLICY_GEN_DEFAULT_PROVIDER",
    "MODEL_FAMILIES",
]


class Family(StrEnum):
    """The `endpoint_type` segment of a model route."""

    CHAT = "chat"
    CODE = "code"
    AGENT = "agent"
    LANG_GRAPH = "lang-graph"


class Provider(StrEnum):
    """The optional `provider` segment: which upstream serves the internal LLM calls."""

    OPENAI = "openai"
    OPENROUTER = "openrouter"
    ANTHROPIC = "anthropic"
    SEQURITY_AZURE = "sequrity_azure"


class WireFormat(StrEnum):
    """The client-facing API format, named by the route suffix."""

    CHAT_COMPLETIONS = "chat/completions"
    MESSAGES = "messages"
    RESPONSES = "responses"


class Header(StrEnum):
    """Request and response header names (HTTP headers are case-insensitive)."""

    AUTHORIZATION = "authorization"
    API_KEY = "x-api-key"
    FEATURES = "x-features"
    POLICY = "x-policy"
    CONFIG = "x-config"
    SESSION_ID = "x-session-id"


class AgentArch(StrEnum):
    SINGLE_LLM = "single-llm"
    DUAL_LLM = "dual-llm"


MODEL_FAMILIES: tuple[Family, ...] = (Family.CHAT, Family.CODE, Family.AGENT, Family.LANG_GRAPH)

_CHAT_LIKE: dict[WireFormat, tuple[Provider | None, tuple[Provider, ...]]] = {
    WireFormat.CHAT_COMPLETIONS: (
        Provider.OPENROUTER,
        (Provider.OPENAI, Provider.OPENROUTER, Provider.SEQURITY_AZURE),
    ),
    WireFormat.MESSAGES: (Provider.ANTHROPIC, (Provider.ANTHROPIC,)),
    WireFormat.RESPONSES: (Provider.OPENAI, (Provider.OPENAI, Provider.SEQURITY_AZURE)),
}

# THE route table of spec section 1.2: family -> format -> (default provider or None when the
# provider segment is required, providers allowed in the URL).
ROUTE_TABLE: dict[Family, dict[WireFormat, tuple[Provider | None, tuple[Provider, ...]]]] = {
    Family.CHAT: _CHAT_LIKE,
    Family.CODE: _CHAT_LIKE,
    Family.AGENT: _CHAT_LIKE,
    Family.LANG_GRAPH: {
        WireFormat.CHAT_COMPLETIONS: _CHAT_LIKE[WireFormat.CHAT_COMPLETIONS],
        WireFormat.MESSAGES: (None, (Provider.ANTHROPIC,)),
    },
}

POLICY_GEN_DEFAULT_PROVIDER = Provider.OPENROUTER
POLICY_GEN_PROVIDERS: tuple[Provider, ...] = (
    Provider.OPENAI,
    Provider.OPENROUTER,
    Provider.ANTHROPIC,
    Provider.SEQURITY_AZURE,
)
