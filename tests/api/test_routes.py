"""THE route table: every allowed combination matches; every other gets a 404 naming what is allowed."""

from __future__ import annotations

import pytest

from server.api.routes import ModelRoute, PolicyGenRoute, all_routes, match_post_route
from server.errors import NotFound
from server.names import Family, Provider, WireFormat

C, M, R = WireFormat.CHAT_COMPLETIONS, WireFormat.MESSAGES, WireFormat.RESPONSES


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("chat/v1/chat/completions", ModelRoute(Family.CHAT, Provider.OPENROUTER, C)),
        ("chat/openai/v1/chat/completions", ModelRoute(Family.CHAT, Provider.OPENAI, C)),
        ("chat/sequrity_azure/v1/chat/completions", ModelRoute(Family.CHAT, Provider.SEQURITY_AZURE, C)),
        ("chat/v1/messages", ModelRoute(Family.CHAT, Provider.ANTHROPIC, M)),
        ("chat/anthropic/v1/messages", ModelRoute(Family.CHAT, Provider.ANTHROPIC, M)),
        ("chat/v1/responses", ModelRoute(Family.CHAT, Provider.OPENAI, R)),
        ("code/sequrity_azure/v1/responses", ModelRoute(Family.CODE, Provider.SEQURITY_AZURE, R)),
        ("agent/openrouter/v1/chat/completions", ModelRoute(Family.AGENT, Provider.OPENROUTER, C)),
        ("lang-graph/v1/chat/completions", ModelRoute(Family.LANG_GRAPH, Provider.OPENROUTER, C)),
        ("lang-graph/anthropic/v1/messages", ModelRoute(Family.LANG_GRAPH, Provider.ANTHROPIC, M)),
        ("policy-gen/v1/generate", PolicyGenRoute(Provider.OPENROUTER)),
        ("policy-gen/anthropic/v1/generate", PolicyGenRoute(Provider.ANTHROPIC)),
    ],
)
def test_allowed_routes_match(path: str, expected: object) -> None:
    assert match_post_route(path) == expected


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("chat/anthropic/v1/chat/completions", "allowed: 'openai', 'openrouter', 'sequrity_azure'"),
        ("chat/openrouter/v1/responses", "allowed: 'openai', 'sequrity_azure'"),
        ("lang-graph/v1/messages", "needs a provider segment; allowed: 'anthropic'"),
        ("lang-graph/v1/responses", "unknown format 'responses'"),
        ("chat/llama/v1/chat/completions", "provider 'llama'"),
        ("banana/v1/chat/completions", "unknown endpoint family 'banana'"),
        ("chat/v2/chat/completions", "version segment 'v1'"),
        ("chat/openai/v2/chat/completions", "version segment 'v1'"),
        ("policy-gen/v1/chat/completions", "only /v1/generate"),
        ("policy-gen/llama/v1/generate", "allowed: 'openai'"),
        ("chat", "expected /control/{family}"),
    ],
)
def test_other_combinations_are_404_naming_what_is_allowed(path: str, says: str) -> None:
    with pytest.raises(NotFound) as err:
        match_post_route(path)
    assert says in err.value.message


def test_listing_has_every_table_route_and_each_matches() -> None:
    paths = [r["path"] for r in all_routes()]
    assert len(paths) == len(set(paths))
    posts = [p for p, r in zip(paths, all_routes()) if r["methods"] == ["POST"] and "validate" not in p]
    for path in posts:
        match_post_route(str(path).removeprefix("/control/"))
    assert "/control/lang-graph/anthropic/v1/messages" in paths
    assert "/control/lang-graph/v1/messages" not in paths
    # 4 families: chat/code/agent have 3+1 + 1+1 + 2+1 = 9 each; lang-graph 3+1 + 1 = 5; policy-gen 5.
    assert len(posts) == 9 * 3 + 5 + 5
