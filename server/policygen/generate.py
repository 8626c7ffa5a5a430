"""The generation loop: ask, validate, feed the problems back, up to `1 + n_retries` attempts.

Decisions:
- Usage is summed over every attempt, failed ones included (they were paid for).
- Upstream failures (4xx relayed, 429, 5xx, timeouts) are not retried here: they are not the
  model's mistakes, and the providers layer already has its own retry setting. They propagate as
  the server's usual errors.
- When every attempt fails: 422 whose detail names the attempt count and the tokens spent, and
  lists the last attempt's problems, one per line (the response body has no usage field then).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.errors import Unprocessable
from server.names import Provider
from server.policygen.prompt import first_turns, retry_turns
from server.policygen.requests import GenRequest, parse_request
from server.policygen.validate import Problem, extract_policy, validate_candidate
from server.providers.completion import ChatTurn, Completion, Usage, complete
from server.providers.registry import ProviderRegistry

__all__ = ["Generated", "Ask", "run_generation", "generate_policy"]

Ask = Callable[[Sequence[ChatTurn]], Awaitable[Completion]]
"""One completion for a list of turns (the model and key are bound in)."""


@dataclass(frozen=True, slots=True)
class Generated:
    policy: str
    usage: Usage
    attempts: int

    def to_json(self) -> dict[str, Any]:
        """The response body: exactly `policies` and `usage` (spec control-api 8)."""
        return {"policies": self.policy, "usage": self.usage.to_json()}


def _failure(attempts: int, problems: Sequence[Problem], usage: Usage) -> Unprocessable:
    listed = "\n".join(f"- {p}" for p in problems)
    return Unprocessable(
        f"policy generation produced no valid policy after {attempts} attempt"
        f"{'s' if attempts != 1 else ''} ({usage.total_tokens} tokens used); "
        f"the last attempt's errors:\n{listed}",
        code="policy_generation_failed",
    )


async def run_generation(request: GenRequest, ask: Ask) -> Generated:
    """Generate and validate; raises `Unprocessable` when no attempt yields a valid policy."""
    first = first_turns(tools=request.tools, description=request.description)
    turns = first
    usage = Usage()
    problems: list[Problem] = []
    for attempt in range(1, request.n_retries + 2):
        answer = await ask(turns)
        usage = usage + answer.usage
        candidate = extract_policy(answer.text)
        if not candidate.strip():
            problems = [Problem("the answer contained no policy; answer with one ```sqrt block")]
        else:
            problems = validate_candidate(candidate, request.tools)
        if not problems:
            return Generated(policy=candidate, usage=usage, attempts=attempt)
        turns = retry_turns(first, answer=answer.text, candidate=candidate, problems=problems)
    raise _failure(request.n_retries + 1, problems, usage)


async def generate_policy(
    body: Mapping[str, Any], *, provider: Provider, providers: ProviderRegistry, byok: str | None
) -> dict[str, Any]:
    """Serve POST /control/policy-gen/{provider?}/v1/generate for a parsed JSON body.

    >>> # await generate_policy({"type": "oai_chat_completion", "model": "gpt-5-mini",
    >>> #     "description": "never email outside example.com", "tools": [...]},
    >>> #     provider=Provider.OPENAI, providers=registry, byok=None)
    >>> # {"policies": "tool \\"send_email\\" { ... }", "usage": {...}}
    """
    request = parse_request(body)
    api_key = providers.api_key(provider=provider, byok=byok, models=(request.model,))
    client = providers.client(provider)

    async def ask(turns: Sequence[ChatTurn]) -> Completion:
        return await complete(client, model=request.model, messages=list(turns), api_key=api_key)

    generated = await run_generation(request, ask)
    return generated.to_json()
