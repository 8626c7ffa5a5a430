"""Serve a dual-LLM (or lang-graph) request: decode to the canonical conversation, run, render."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from server.agents.dual_llm.agent import DualRequest, run_dual
from server.api.routes import ModelRoute
from server.api.services import Services
from server.config import SessionConfig
from server.formats import chat_canonical, messages_canonical, responses_canonical
from server.names import WireFormat

__all__ = ["serve_dual"]

_CODECS: dict[WireFormat, Any] = {
    WireFormat.CHAT_COMPLETIONS: chat_canonical,
    WireFormat.MESSAGES: messages_canonical,
    WireFormat.RESPONSES: responses_canonical,
}
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def serve_dual(
    route: ModelRoute,
    body: dict[str, Any],
    config: SessionConfig,
    *,
    owner: str,
    byok: str | None,
    session_header: str | None,
    services: Services,
) -> Response:
    codec = _CODECS[route.format]
    conversation = codec.decode(body)
    session_id, outcome = await run_dual(
        DualRequest(
            owner=owner,
            provider=route.provider,
            conversation=conversation,
            config=config,
            byok=byok,
            session_header=session_header,
            scores=services.scores,
        ),
        store=services.sessions,
        providers=services.providers,
        generated=services.generated_policies,
        decisions=services.decisions,
    )
    options: dict[str, Any] = {"session_id": session_id, "model": config.reported_model}
    if route.format is WireFormat.RESPONSES:
        options["response_id"] = responses_canonical.new_response_id()
        await services.sessions.bind_alias(options["response_id"], session_id)
    headers = {"X-Session-ID": session_id}
    if not conversation.stream:
        return JSONResponse(codec.render(outcome, **options), headers=headers)
    chunks: Iterator[bytes] = codec.render_stream(outcome, **options)
    return StreamingResponse(chunks, media_type="text/event-stream", headers={**headers, **_SSE_HEADERS})
