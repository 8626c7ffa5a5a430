"""The policy-gen request body (spec control-api 8): one model per `type`, read into a `GenRequest`.

Decisions:
- Unknown top-level keys are rejected, as the spec asks; inside a tool, unknown keys are ignored
  (provider tool formats grow fields such as `cache_control` or `strict` that do not matter here).
- Body schema errors are 400 like every other body error of this server (`body.model: field
  required`); 422 is kept for "the model produced no valid policy".
- `oai_responses` is a type the client knows but the service does not serve: a 400 that names the
  supported `sequrity_azure_responses`, which takes the same tools.
- Named limits: `n_retries` <= MAX_RETRIES (each retry is one paid LLM call); a description longer
  than MAX_DESCRIPTION_CHARS or a tool catalogue larger than MAX_CATALOG_CHARS is 413, because
  it would not fit a model's prompt anyway; at most MAX_TOOLS tools.
- At least one tool (client or internal) is required: a policy about no tool cannot name any.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from server.errors import BadRequest, PayloadTooLarge
from server.policygen.tools import INTERNAL_TOOLS, ToolSpec, params_from_schema

__all__ = [
    "GenRequest",
    "parse_request",
    "REQUEST_TYPES",
    "MAX_RETRIES",
    "MAX_DESCRIPTION_CHARS",
    "MAX_TOOLS",
    "MAX_CATALOG_CHARS",
]

MAX_RETRIES = 10
MAX_DESCRIPTION_CHARS = 20_000
MAX_TOOLS = 128
MAX_CATALOG_CHARS = 200_000
MAX_TOOL_NAME_CHARS = 128

InternalToolName = Literal["parse_with_ai", "verify_hypothesis", "set_policy", "complete_turn"]

# --- tool formats ------------------------------------------------------------------------------


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ChatFunction(_Tolerant):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ChatTool(_Tolerant):
    """Chat Completions: `{"type": "function", "function": {name, description, parameters}}`."""

    type: Literal["function"]
    function: ChatFunction

    def spec(self) -> ToolSpec:
        f = self.function
        return ToolSpec(f.name, f.description, params_from_schema(f.parameters))


class AnthropicTool(_Tolerant):
    """Anthropic Messages: `{name, description, input_schema}` (custom tools only)."""

    name: str
    description: str | None = None
    input_schema: dict[str, Any]
    type: Literal["custom"] | None = None

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, params_from_schema(self.input_schema))


class ResponsesTool(_Tolerant):
    """Responses: `{"type": "function", name, description, parameters}` (function tools only)."""

    type: Literal["function"]
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, params_from_schema(self.parameters))


# --- request variants --------------------------------------------------------------------------


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    description: str = Field(min_length=1)
    policy_lang: Literal["sqrt"] = "sqrt"
    n_retries: int = Field(default=3, ge=0, le=MAX_RETRIES, strict=True)
    internal_tool_names: list[InternalToolName] = Field(default_factory=list)


class OaiChat(_Base):
    type: Literal["oai_chat_completion"]
    tools: list[ChatTool] = Field(default_factory=list)


class OpenRouterChat(_Base):
    type: Literal["openrouter_chat_completion"]
    tools: list[ChatTool] = Field(default_factory=list)


class AnthropicMessages(_Base):
    type: Literal["anthropic_messages"]
    tools: list[AnthropicTool] = Field(default_factory=list)


class AzureChat(_Base):
    type: Literal["sequrity_azure_chat_completion"]
    tools: list[ChatTool] = Field(default_factory=list)


class AzureResponses(_Base):
    type: Literal["sequrity_azure_responses"]
    tools: list[ResponsesTool] = Field(default_factory=list)


_Variant = OaiChat | OpenRouterChat | AnthropicMessages | AzureChat | AzureResponses
_ADAPTER: TypeAdapter[_Variant] = TypeAdapter(Annotated[_Variant, Field(discriminator="type")])

REQUEST_TYPES: tuple[str, ...] = (
    "oai_chat_completion",
    "openrouter_chat_completion",
    "anthropic_messages",
    "sequrity_azure_chat_completion",
    "sequrity_azure_responses",
)
_UNSUPPORTED = {
    "oai_responses": "type 'oai_responses' is not supported by this server; send the same "
    "Responses function tools with type 'sequrity_azure_responses'",
}


@dataclass(frozen=True, slots=True)
class GenRequest:
    """A validated request: the catalogue holds the client's tools, then the internal ones."""

    type: str
    model: str
    description: str
    n_retries: int
    tools: tuple[ToolSpec, ...]


# --- pydantic errors, translated by a table ----------------------------------------------------

_Render = Callable[[Mapping[str, Any]], str]


def _ctx(err: Mapping[str, Any], key: str) -> Any:
    return (err.get("ctx") or {}).get(key)


def _got(err: Mapping[str, Any]) -> str:
    text = json.dumps(err.get("input"), default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_MESSAGES: Mapping[str, _Render] = {
    "missing": lambda e: "field required",
    "extra_forbidden": lambda e: "unknown field; allowed: model, description, policy_lang, "
    "n_retries, internal_tool_names, tools, type",
    "literal_error": lambda e: f"must be {_ctx(e, 'expected')} (got {_got(e)})",
    "less_than_equal": lambda e: f"must be <= {_ctx(e, 'le')} (got {_got(e)})",
    "greater_than_equal": lambda e: f"must be >= {_ctx(e, 'ge')} (got {_got(e)})",
    "int_type": lambda e: f"must be an integer (got {_got(e)})",
    "string_type": lambda e: f"must be a string (got {_got(e)})",
    "string_too_short": lambda e: "must not be empty",
    "list_type": lambda e: f"must be a list (got {_got(e)})",
    "dict_type": lambda e: f"must be an object (got {_got(e)})",
    "model_type": lambda e: f"must be an object (got {_got(e)})",
}


def _where(loc: Sequence[Any]) -> str:
    path = "body"
    for part in loc[1:]:  # loc[0] is the discriminator tag
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _schema_error(err: ValidationError) -> BadRequest:
    problems = []
    for e in err.errors():
        render = _MESSAGES.get(e["type"])
        problems.append(f"{_where(e['loc'])}: {render(e) if render else e['msg']}")
    return BadRequest("; ".join(problems[:10]), param=_where(err.errors()[0]["loc"]))


# --- the entry point ---------------------------------------------------------------------------


def _check_type(body: Mapping[str, Any]) -> None:
    kind = body.get("type")
    allowed = ", ".join(f"'{t}'" for t in REQUEST_TYPES)
    if kind is None:
        raise BadRequest(f"body.type: field required; one of {allowed}", param="body.type")
    if isinstance(kind, str) and kind in _UNSUPPORTED:
        raise BadRequest(_UNSUPPORTED[kind], param="body.type", code="unsupported_type")
    if kind not in REQUEST_TYPES:
        raise BadRequest(
            f"body.type: unknown request type {json.dumps(kind)}; one of {allowed}",
            param="body.type",
        )


def _catalogue(variant: _Variant) -> tuple[ToolSpec, ...]:
    client = tuple(t.spec() for t in variant.tools)
    seen: set[str] = set()
    for i, tool in enumerate(client):
        if not tool.name or len(tool.name) > MAX_TOOL_NAME_CHARS:
            raise BadRequest(
                f"body.tools[{i}]: a tool name must be 1 to {MAX_TOOL_NAME_CHARS} characters",
                param=f"body.tools[{i}]",
            )
        if tool.name in seen or tool.name in variant.internal_tool_names:
            raise BadRequest(
                f"body.tools[{i}]: duplicate tool name {json.dumps(tool.name)}",
                param=f"body.tools[{i}]",
            )
        seen.add(tool.name)
    internal = tuple(INTERNAL_TOOLS[n] for n in dict.fromkeys(variant.internal_tool_names))
    return client + internal


def parse_request(body: Mapping[str, Any]) -> GenRequest:
    """Validate a request body; raises `BadRequest` (400) or `PayloadTooLarge` (413).

    >>> parse_request({"type": "oai_chat_completion", "model": "m", "description": "d",
    ...     "tools": [{"type": "function", "function": {"name": "f"}}]}).tools[0].name
    'f'
    """
    _check_type(body)
    description = body.get("description")
    if isinstance(description, str) and len(description) > MAX_DESCRIPTION_CHARS:
        raise PayloadTooLarge(
            f"body.description is {len(description)} characters long; at most "
            f"{MAX_DESCRIPTION_CHARS} are accepted: describe the intent, not the data",
            param="body.description",
        )
    tools = body.get("tools")
    if isinstance(tools, list) and len(tools) > MAX_TOOLS:
        raise BadRequest(
            f"body.tools: {len(tools)} tools; at most {MAX_TOOLS} per request — generate "
            "policies for groups of related tools",
            param="body.tools",
        )
    try:
        variant = _ADAPTER.validate_python(body)
    except ValidationError as err:
        raise _schema_error(err) from None
    if not variant.description.strip():
        raise BadRequest("body.description: must not be blank", param="body.description")
    catalogue = _catalogue(variant)
    if not catalogue:
        raise BadRequest(
            "body.tools: at least one tool is required (or an internal tool in "
            "internal_tool_names): a policy is written about tools",
            param="body.tools",
        )
    size = len(json.dumps(body.get("tools") or [], default=str))
    if size > MAX_CATALOG_CHARS:
        raise PayloadTooLarge(
            f"body.tools is {size} characters of JSON; at most {MAX_CATALOG_CHARS} are accepted",
            param="body.tools",
        )
    return GenRequest(
        type=variant.type,
        model=variant.model,
        description=variant.description,
        n_retries=variant.n_retries,
        tools=catalogue,
    )
