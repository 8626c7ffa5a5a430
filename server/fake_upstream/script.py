"""What the fake upstream answers: format-agnostic replies, per-model scripts, recorded requests."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from server.names import Provider, WireFormat

__all__ = [
    "ReplyOptions",
    "ToolCall",
    "Usage",
    "Thinking",
    "UpstreamError",
    "Reply",
    "Quirks",
    "RecordedRequest",
    "Responder",
    "IdMint",
    "Script",
]

@dataclass(frozen=True)
class ToolCall:
    """One function/tool call; `arguments` as a dict, or as raw JSON text sent verbatim.

    Example: `ToolCall("get_weather", {"city": "London"})`; without `id` one is minted
    (`call_fake_N` for OpenAI formats, `toolu_fake_N` for Anthropic).
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Usage:
    """Token counts, rendered in each format's usage shape."""

    input_tokens: int = 10
    output_tokens: int = 5
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Thinking:
    """Reasoning: an Anthropic `thinking` block with signature, a Responses `reasoning` summary.

    Chat Completions has no standard reasoning field, so Chat renderings leave it out.
    """

    text: str
    signature: str = "sig_fake"


@dataclass(frozen=True)
class UpstreamError:
    """An error answer: `status` and `message`; `type` overrides the flavour's default error type."""

    status: int
    message: str
    type: str | None = None


class ReplyOptions(TypedDict, total=False):
    """The optional `Reply` fields, typed for the `Reply.text/tool_calls/error` constructors."""

    thinking: Thinking | None
    usage: Usage
    finish: str | None
    delay: float
    chunk_delay: float
    extra: Mapping[str, Any]
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Reply:
    """One scripted answer, rendered in whatever format and flavour the request came in.

    `finish` is `stop`, `tool_calls`, `length` or `content_filter` (mapped per format, e.g. to
    Anthropic `end_turn`/`tool_use`/`max_tokens`/`refusal`); any other string passes verbatim.
    `delay` waits before the first byte, `chunk_delay` between stream events. `extra` is merged
    into the top-level response object (every chunk for Chat streams); `headers` are added to the
    HTTP response.

    Example: `Reply.text("hello", usage=Usage(input_tokens=3, output_tokens=1), delay=0.5)`
    """

    content: str | None = None
    calls: tuple[ToolCall, ...] = ()
    thinking: Thinking | None = None
    usage: Usage = Usage()
    finish: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    failure: UpstreamError | None = None

    @classmethod
    def text(cls, content: str, **options: Unpack[ReplyOptions]) -> Reply:
        """A plain assistant message. `Reply.text("hi", delay=2.0)`"""
        return cls(content=content, **options)

    @classmethod
    def tool_calls(
        cls, *calls: ToolCall, content: str | None = None, **options: Unpack[ReplyOptions]
    ) -> Reply:
        """Tool calls, optionally after text: `Reply.tool_calls(ToolCall("f", {}), content="ok")`"""
        return cls(content=content, calls=tuple(calls), **options)

    @classmethod
    def error(
        cls, status: int, message: str, *, type: str | None = None, **options: Unpack[ReplyOptions]
    ) -> Reply:
        """An error answer in the flavour's error shape: `Reply.error(429, "slow down")`"""
        return cls(failure=UpstreamError(status=status, message=message, type=type), **options)

    @property
    def finish_reason(self) -> str:
        """The canonical finish: the scripted one, else `tool_calls` when calls exist, else `stop`."""
        if self.finish is not None:
            return self.finish
        return "tool_calls" if self.calls else "stop"


@dataclass(frozen=True)
class Quirks:
    """Provider oddities real upstreams send; each on by default for the flavour that sends it."""

    anthropic_ping: bool = True
    azure_content_filter_chunk: bool = True
    openrouter_processing_comments: bool = True

    @classmethod
    def off(cls) -> Quirks:
        return cls(
            anthropic_ping=False, azure_content_filter_chunk=False, openrouter_processing_comments=False
        )


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: lower-cased headers, parsed JSON body (None if not JSON)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    json: Any
    format: WireFormat | None
    flavor: Provider | None

    @property
    def model(self) -> str:
        return _model_of(self.json)

    @property
    def stream(self) -> bool:
        return isinstance(self.json, dict) and self.json.get("stream") is True


Responder = Callable[[dict[str, Any], WireFormat], "Reply | None"]


def _model_of(body: Any) -> str:
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else ""


class IdMint:
    """Deterministic ids: each prefix counts from 1 (`chatcmpl-fake-1`, `toolu_fake_2`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))

    def next(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._counters[prefix])}"


class Script:
    """Thread-safe reply queues per model, a responder, a default, and the request log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Reply]] = defaultdict(deque)
        self._requests: list[RecordedRequest] = []
        self.default: Reply | None = None
        self.responder: Responder | None = None
        self.ids = IdMint()
        self._stored_calls: dict[str, tuple[str, ...]] = {}  # Responses: response id -> its call ids

    def add(self, model: str, replies: tuple[Reply, ...]) -> None:
        with self._lock:
            self._queues[model].extend(replies)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def remaining(self) -> dict[str, int]:
        with self._lock:
            return {model: len(q) for model, q in self._queues.items() if q}

    def choose(self, request: RecordedRequest) -> Reply | None:
        """The model's next scripted reply, else the responder's, else the default."""
        model = request.model
        with self._lock:
            queue = self._queues.get(model)
            if queue:
                return queue.popleft()
            responder, default = self.responder, self.default
        if responder is not None and request.format is not None:
            body = request.json if isinstance(request.json, dict) else {}
            answer = responder(body, request.format)
            if answer is not None:
                return answer
        return default

    def store_response_calls(self, response_id: str, call_ids: tuple[str, ...]) -> None:
        """Remember a stored Responses answer's tool calls, as OpenAI does (`store` defaults to true)."""
        with self._lock:
            self._stored_calls[response_id] = call_ids

    def unanswered_calls(self, previous_response_id: str, answered: set[str]) -> list[str]:
        """The calls of a stored answer that a continuation leaves without an output item."""
        with self._lock:
            calls = self._stored_calls.get(previous_response_id, ())
        return [c for c in calls if c not in answered]

    def forget_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        with self._lock:
            self._queues.clear()
            self._requests.clear()
            self._stored_calls.clear()
            self.default = None
            self.responder = None
            self.ids = IdMint()
