"""What every wire format offers the single-LLM passthrough: session hints, id rewriting, stream shaping."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.formats.ids import IdMapper
from server.names import WireFormat

__all__ = [
    "SessionHints",
    "Relayed",
    "ToolCallView",
    "ToolResultView",
    "Gate",
    "GateDecision",
    "decide",
    "PassthroughCodec",
    "check_required",
    "RequiredFields",
    "result_text",
    "with_result_text",
]


@dataclass(frozen=True, slots=True)
class SessionHints:
    """What the body says about its session (spec 6.3 rules 2-3) and its turn (6.4)."""

    previous_response_id: str | None
    # Client ids of the tool results after the last assistant turn, in order.
    trailing_results: tuple[str, ...]
    # The most recent tool-result reference anywhere in the input (spec 6.3 rule 3).
    latest_result: str | None
    opens_turn: bool


@dataclass(slots=True)
class Relayed:
    """Filled while an answer is relayed: whether it asks the client to run tools, its upstream id."""

    tool_calls: bool = False
    response_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCallView:
    """A tool call as the client sees it: its (client) id, tool name and arguments.

    `arguments` is what the format carries: a dict (Messages `input`) or JSON text (Chat,
    Responses); the policy layer decodes it. `kind` is the item type where the format has several
    (Responses: `function_call` or `custom_tool_call`).
    """

    call_id: str
    name: str
    arguments: Any
    kind: str = "function_call"


@dataclass(frozen=True, slots=True)
class ToolResultView:
    """A tool result in a request: the call it answers, its content as sent, and the error flag."""

    call_id: str
    content: Any
    is_error: bool = False


# Top-level fields a body must have: (name, JSON type(s), description for errors).
RequiredFields = tuple[tuple[str, type | tuple[type, ...], str], ...]

@dataclass(frozen=True, slots=True)
class GateDecision:
    """A gate's verdict on one answer: the denial text replacing it, or None to relay it with the
    `arguments` of the listed calls (client call id -> argument object) replaced (guard redaction)."""

    denial: str | None = None
    arguments: Mapping[str, dict[str, Any]] = field(default_factory=dict)


# Given every tool call of one assistant answer: the denial text (or None to relay it), or a
# `GateDecision`, or an awaitable of either (the guards may have to ask the tag LLM).
Gate = Callable[[list[ToolCallView]], "str | None | GateDecision | Awaitable[str | None | GateDecision]"]


async def decide(gate: Gate, views: list[ToolCallView]) -> GateDecision:
    """Ask `gate` about `views`, whatever shape it answers in."""
    got = gate(views)
    if inspect.isawaitable(got):
        got = await got
    return got if isinstance(got, GateDecision) else GateDecision(denial=got)


def result_text(content: Any) -> str | None:
    """The text of a tool result: a string, or the text parts of a content list joined.

    >>> result_text([{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}])
    'ab'
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(texts) if texts else None
    return None


def with_result_text(content: Any, text: str) -> Any:
    """`content` with its text replaced: a string, or a list holding exactly one text part.

    Any other shape is returned unchanged (there is no single text to replace).
    """
    if isinstance(content, str):
        return text
    if isinstance(content, list):
        texts = [i for i, p in enumerate(content) if isinstance(p, dict) and isinstance(p.get("text"), str)]
        if len(texts) == 1:
            out = list(content)
            out[texts[0]] = {**content[texts[0]], "text": text}
            return out
    return content


class PassthroughCodec(Protocol):
    format: WireFormat
    messages_error_shape: bool
    # Top-level fields the body must have, with their JSON types and a description for errors.
    required: RequiredFields

    def hints(self, body: dict[str, Any]) -> SessionHints: ...

    def to_upstream(self, body: dict[str, Any], ids: IdMapper) -> dict[str, Any]:
        """The body to forward: client tool-call ids replaced by upstream ids, all else kept."""
        ...

    def from_upstream(self, answer: dict[str, Any], ids: IdMapper, out: Relayed) -> dict[str, Any]:
        """The answer for the client: upstream tool-call ids replaced, usage present."""
        ...

    def stream_from_upstream(
        self,
        events: AsyncIterator[dict[str, Any]],
        ids: IdMapper,
        out: Relayed,
        gate: Gate | None = None,
    ) -> AsyncIterator[bytes]:
        """SSE bytes for the client; events the client cannot parse are dropped.

        When the upstream fails after the first byte, the stream ends normally with the failure
        as ordinary content (spec 5.1): the HTTP status is already sent.

        With a `gate`, text flows at once but tool-call events are held back until the answer's
        calls are complete; the gate then sees them all and either they are relayed as they were
        or the held events are replaced by its denial text and a normal (non-tool) finish.
        """
        ...

    # -- policy enforcement (single-LLM) ------------------------------------------------------

    def exchange(self, body: dict[str, Any]) -> tuple[list[ToolCallView], list[ToolResultView]]:
        """Every tool call of earlier assistant turns and every tool result in the body, in order."""
        ...

    def replace_results(self, body: dict[str, Any], texts: Mapping[str, str]) -> dict[str, Any]:
        """The body with the content of the results answering the calls in `texts` replaced."""
        ...

    def proposed_calls(self, answer: dict[str, Any]) -> list[ToolCallView]:
        """The tool calls of a non-streamed answer (ids already rewritten for the client)."""
        ...

    def deny(self, answer: dict[str, Any], text: str) -> dict[str, Any]:
        """The answer with its whole assistant message replaced by `text` and a normal finish."""
        ...

    def rewrite_calls(self, answer: dict[str, Any], arguments: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        """The answer with the arguments of the calls in `arguments` (client id -> object) replaced."""
        ...


def check_required(body: dict[str, Any], codec: PassthroughCodec) -> None:
    """Raise a 400 naming the first missing or mistyped required field."""
    from server.errors import BadRequest

    for name, kind, what in codec.required:
        if name not in body or body[name] is None:
            raise BadRequest(f"body.{name}: field required ({what})", param=name, code="missing_field")
        if not isinstance(body[name], kind) or isinstance(body[name], bool) and kind is int:
            got = type(body[name]).__name__
            raise BadRequest(f"body.{name}: must be {what} (got {got})", param=name, code="invalid_type")
