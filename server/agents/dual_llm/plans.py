"""Several planner candidates (`n_pllm_plans`, `pllm_candidate_models`) and the call that picks one.

Candidates run concurrently; models are used round-robin from `pllm_candidate_models` (or the
request's planner model), each call with its own seed. The selection call uses the planner model
and sees only trusted data: the same planner conversation plus the candidate programs, which the
planner wrote itself. All usage is summed by the caller.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from server.agents.dual_llm.planner import NoProgram, extract_program
from server.providers.base import LlmClient
from server.providers.completion import ChatTurn, Completion, Usage, complete

__all__ = ["plan_candidates", "pick_candidate"]

_NUMBER = re.compile(r"\d+")


async def plan_candidates(
    client: LlmClient,
    *,
    messages: Sequence[ChatTurn],
    models: Sequence[str],
    n: int,
    api_key: str,
) -> tuple[list[Completion], Usage]:
    calls = [
        complete(client, model=models[i % len(models)], messages=messages, api_key=api_key, seed=i)
        for i in range(n)
    ]
    answers = list(await asyncio.gather(*calls))
    usage = Usage()
    for answer in answers:
        usage = usage + answer.usage
    return answers, usage


def _programs(answers: Sequence[Completion]) -> list[str]:
    out = []
    for answer in answers:
        try:
            out.append(extract_program(answer.text))
        except NoProgram:
            continue
    return out


async def pick_candidate(
    client: LlmClient,
    *,
    messages: Sequence[ChatTurn],
    answers: Sequence[Completion],
    model: str,
    api_key: str,
) -> tuple[str | None, str, Usage]:
    """(the chosen program or None, the raw text of the first answer, selection usage)."""
    programs = _programs(answers)
    first_text = answers[0].text if answers else ""
    if len(programs) <= 1:
        return (programs[0] if programs else None), first_text, Usage()
    listing = "\n\n".join(f"Candidate {i + 1}:\n```python\n{p}\n```" for i, p in enumerate(programs))
    ask = [
        *messages,
        ChatTurn("user", f"{listing}\n\nWhich candidate fulfils the request best and most safely? "
                         "Answer with its number only."),
    ]
    got = await complete(client, model=model, messages=ask, api_key=api_key)
    match = _NUMBER.search(got.text)
    index = int(match.group()) - 1 if match else 0
    return programs[index if 0 <= index < len(programs) else 0], first_text, got.usage
