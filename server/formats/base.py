"""What every wire format offers the single-LLM passthrough: session hints, id rewriting, stream shaping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.formats.ids import IdMapper
from server.names import WireFormat

__all__ = ["SessionHints", "Relayed", "PassthroughCodec", "check_required"]


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


class PassthroughCodec(Protocol):
    format: WireFormat
    messages_error_shape: bool
    # Top-level fields the body must have, with their JSON types and a description for errors.
    required: tuple[tuple[str, type | tuple[type, ...], str], ...]

    def hints(self, body: dict[str, Any]) -> SessionHints: ...

    def to_upstream(self, body: dict[str, Any], ids: IdMapper) -> dict[str, Any]:
        """The body to forward: client tool-call ids replaced by upstream ids, all else kept."""
        ...

    def from_upstream(self, answer: dict[str, Any], ids: IdMapper, out: Relayed) -> dict[str, Any]:
        """The answer for the client: upstream tool-call ids replaced, usage present."""
        ...

    def stream_from_upstream(
        self, events: AsyncIterator[dict[str, Any]], ids: IdMapper, out: Relayed
    ) -> AsyncIterator[bytes]:
        """SSE bytes for the client; events the client cannot parse are dropped.

        When the upstream fails after the first byte, the stream ends normally with the failure
        as ordinary content (spec 5.1): the HTTP status is already sent.
        """
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
