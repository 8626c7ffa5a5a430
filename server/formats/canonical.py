"""One canonical conversation and outcome, whatever the wire format (used by the dual-LLM agents).

Formats decode their request bodies into a `Conversation` and encode an `Outcome` back, JSON or
SSE; agents see only these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ToolSpec",
    "ToolCall",
    "Message",
    "Conversation",
    "TokenUsage",
    "ToolCallsOutcome",
    "FinalOutcome",
    "Outcome",
    "text_of",
]

Role = Literal["system", "developer", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A client tool: name, description and its JSON-schema parameters."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call: `id` is the client-facing id; `arguments` decoded from JSON."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Message:
    """One message. Tool results are `role="tool"` with `tool_call_id` and their raw `content`."""

    role: Role
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class Conversation:
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    model: str = ""
    stream: bool = False
    previous_response_id: str | None = None
    # Lang-graph extension (spec control-api 4.5).
    user_provided_program: str | None = None
    context_vars: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ToolCallsOutcome:
    """Ask the client to run these tools (ids already in `tc-<session>-<call>` form)."""

    calls: tuple[ToolCall, ...]
    usage: TokenUsage = TokenUsage()
    thoughts: str | None = None  # streamed as reasoning where the format has a channel for it


@dataclass(frozen=True, slots=True)
class FinalOutcome:
    """The turn's answer: `content` is the final text (the 7.1 JSON object unless stripped)."""

    content: str
    failed: bool = False
    error_code: str | None = None
    error_message: str | None = None
    usage: TokenUsage = TokenUsage()
    thoughts: str | None = None  # streamed as reasoning where the format has a channel for it


Outcome = ToolCallsOutcome | FinalOutcome


def text_of(content: Any) -> str:
    """The plain text of a content value: a string, or the text parts of a list of parts/blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return ""
