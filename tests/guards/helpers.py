"""Shared helpers of the guard tests: a tag LLM on the fake upstream, a resolved config, score answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from server.config import SessionConfig, resolve
from server.fake_upstream import FakeUpstream, Reply
from server.guards import ScoreCache, TagLlm
from server.names import Family, Provider
from server.providers.registry import build_registry
from tests.conftest import gateway_settings

TAG_MODEL = "tagger-model"


@asynccontextmanager
async def tag_llm(
    fake: FakeUpstream,
    tmp: Path,
    *,
    provider: Provider = Provider.OPENAI,
    cache: ScoreCache | None = None,
    **options: Any,
) -> AsyncIterator[TagLlm]:
    registry = build_registry(gateway_settings(fake, tmp))
    try:
        yield TagLlm(client=registry.client(provider), model=TAG_MODEL, api_key="k", cache=cache, **options)
    finally:
        await registry.aclose()


def scores_reply(*entries: Mapping[str, Any]) -> Reply:
    """A well-formed answer: `scores_reply({"id": 0, "toxicity": 0.9})`."""
    return Reply.text(json.dumps({"scores": list(entries)}))


def sent_items(fake: FakeUpstream, index: int = -1) -> list[dict[str, Any]]:
    """The items (id, text) of a recorded tag-LLM request (OpenAI chat shape)."""
    body = fake.requests[index].json
    return json.loads(body["messages"][-1]["content"])  # type: ignore[no-any-return]


def config(
    classifiers: Sequence[Mapping[str, Any]] = (), blockers: Sequence[str] = ()
) -> SessionConfig:
    """A single-LLM SessionConfig with these X-Features classifiers and blockers."""
    features = {
        "agent_arch": "single-llm",
        "content_classifiers": list(classifiers),
        "content_blockers": [{"name": name} for name in blockers],
    }
    return resolve(
        family=Family.CHAT, stored=None, features=json.dumps(features), policy=None, config=None,
        model="m", api_key=None,
    )
