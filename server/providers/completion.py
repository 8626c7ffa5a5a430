"""Canonical text completions for the server's own LLM calls (planner, quarantined LLM, policy generator).

Agents never build provider bodies: they ask `complete(client, model=..., messages=...)` and get
text and usage back, whichever provider serves the request's URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from server.errors import UpstreamFailed
from server.names import Provider, WireFormat
from server.providers.base import LlmClient, UpstreamCall

__all__ = ["ChatTurn", "Usage", "Completion", "complete", "sampling_options"]

DEFAULT_MAX_TOKENS = 8192  # Anthropic requires one; generous enough for a program or a policy


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    def to_json(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    usage: Usage


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def _complete_chat(
    client: LlmClient, *, model: str, messages: Sequence[ChatTurn], api_key: str, options: dict[str, Any]
) -> Completion:
    body = {"model": model, "messages": [{"role": m.role, "content": m.content} for m in messages], **options}
    answer = await client.send(UpstreamCall(format=WireFormat.CHAT_COMPLETIONS, body=body, api_key=api_key))
    try:
        text = answer["choices"][0]["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        raise UpstreamFailed(f"upstream {client.provider} sent a chat completion without choices") from None
    usage = answer.get("usage") or {}
    return Completion(
        text=text if isinstance(text, str) else "",
        usage=Usage(_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))),
    )


async def _complete_messages(
    client: LlmClient, *, model: str, messages: Sequence[ChatTurn], api_key: str, options: dict[str, Any]
) -> Completion:
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": options.pop("max_tokens", DEFAULT_MAX_TOKENS),
        "messages": [{"role": m.role, "content": m.content} for m in messages if m.role != "system"],
        **options,
    }
    if system:
        body["system"] = system
    answer = await client.send(UpstreamCall(format=WireFormat.MESSAGES, body=body, api_key=api_key))
    blocks = answer.get("content")
    if not isinstance(blocks, list):
        raise UpstreamFailed(f"upstream {client.provider} sent a message without content")
    text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
    usage = answer.get("usage") or {}
    return Completion(
        text=text, usage=Usage(_int(usage.get("input_tokens")), _int(usage.get("output_tokens")))
    )


def sampling_options(params: Any, *, anthropic: bool) -> dict[str, Any]:
    """Body fields for a role's `X-Config.llm.<role>` parameters (only the fields given).

    The Messages API has no seed, penalties, logit bias or logprobs: those are not sent there.
    """
    if params is None:
        return {}
    out: dict[str, Any] = {}
    for name in ("temperature", "top_p"):
        if getattr(params, name, None) is not None:
            out[name] = getattr(params, name)
    if params.max_completion_tokens is not None:
        out["max_tokens" if anthropic else "max_completion_tokens"] = params.max_completion_tokens
    reasoning = params.reasoning
    if anthropic:
        if reasoning is not None and reasoning.enabled and reasoning.budget:
            out["thinking"] = {"type": "enabled", "budget_tokens": reasoning.budget}
        return out
    for name in ("frequency_penalty", "presence_penalty", "logit_bias", "logprobs", "seed"):
        if getattr(params, name, None) is not None:
            out[name] = getattr(params, name)
    if reasoning is not None and reasoning.effort:
        out["reasoning_effort"] = reasoning.effort
    return out


async def complete(
    client: LlmClient,
    *,
    model: str,
    messages: Sequence[ChatTurn],
    api_key: str,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    params: Any = None,
) -> Completion:
    """One non-streaming completion; the provider's own wire format is chosen for it.

    >>> # await complete(registry.client(Provider.OPENAI), model="gpt-5-mini",
    >>> #                messages=[ChatTurn("user", "Hi")], api_key=key)
    """
    options: dict[str, Any] = {}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if seed is not None and client.provider is not Provider.ANTHROPIC:  # Messages has no seed
        options["seed"] = seed
    options.update(sampling_options(params, anthropic=client.provider is Provider.ANTHROPIC))
    if client.provider is Provider.ANTHROPIC:
        return await _complete_messages(
            client, model=model, messages=messages, api_key=api_key, options=options
        )
    return await _complete_chat(client, model=model, messages=messages, api_key=api_key, options=options)
