"""POST /control/...: the model routes (and policy-gen), dispatched from THE route table."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from server.agents.single_llm import JsonOutcome, PassthroughRequest, run_passthrough
from server.api.body import read_json_object
from server.api.dual_route import serve_dual
from server.api.routes import ModelRoute, PolicyGenRoute, match_post_route
from server.api.services import Services
from server.config import resolve
from server.errors import NotImplementedFeature
from server.formats import CODECS
from server.formats.base import check_required
from server.names import AgentArch, Header

__all__ = ["router"]

router = APIRouter()

# Provider headers relayed upstream unchanged (spec 13.11): versions and betas.
_PROVIDER_HEADER_PREFIXES = ("anthropic-", "openai-")
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _header(request: Request, name: Header) -> str | None:
    value = request.headers.get(name)
    return value if value and value.strip() and value.strip() != "null" else None


def _provider_headers(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.startswith(_PROVIDER_HEADER_PREFIXES)}


@router.post("/control/{path:path}")
async def model_route(path: str, request: Request) -> Response:
    services: Services = request.app.state.services
    route = match_post_route(path)
    key = services.authenticate(request)
    body = await read_json_object(request, limit=services.settings.max_body_bytes)
    if isinstance(route, PolicyGenRoute):
        from server.policygen import generate_policy

        # No X-Session-ID on policy-gen answers (spec 2.3): the client would adopt it.
        return JSONResponse(
            await generate_policy(
                body,
                provider=route.provider,
                providers=services.providers,
                byok=_header(request, Header.API_KEY),
            )
        )
    return await _serve_model(route, request, body, key.id, key.config, services)


async def _serve_model(
    route: ModelRoute,
    request: Request,
    body: dict,
    owner: str,
    stored_config: dict | None,
    services: Services,
) -> Response:
    codec = CODECS[route.format]
    check_required(body, codec)
    config = resolve(
        family=route.family,
        stored=stored_config,
        features=_header(request, Header.FEATURES),
        policy=_header(request, Header.POLICY),
        config=_header(request, Header.CONFIG),
        model=body["model"],
        api_key=_header(request, Header.API_KEY),
    )
    if config.arch is AgentArch.DUAL_LLM:
        return await serve_dual(
            route,
            body,
            config,
            owner=owner,
            byok=_header(request, Header.API_KEY),
            session_header=_header(request, Header.SESSION_ID),
            services=services,
        )
    stream = body.get("stream") is True
    outcome = await run_passthrough(
        PassthroughRequest(
            owner=owner,
            provider=route.provider,
            format=route.format,
            body={**body, "model": config.pllm_model},
            model=config.pllm_model,
            byok=_header(request, Header.API_KEY),
            session_header=_header(request, Header.SESSION_ID),
            max_n_turns=config.fsm.max_n_turns,
            provider_headers=_provider_headers(request),
            query=dict(request.query_params),
            policy=config.policy,
            clear_session_meta=config.fsm.clear_session_meta,
            classifiers=config.classifiers,
            blockers=config.blockers,
        ),
        store=services.sessions,
        providers=services.providers,
        stream=stream,
        decisions=services.decisions,
        scores=services.scores,
    )
    headers = {"X-Session-ID": outcome.session_id}
    if isinstance(outcome, JsonOutcome):
        return JSONResponse(outcome.body, headers=headers)
    return StreamingResponse(
        outcome.chunks, media_type="text/event-stream", headers={**headers, **_SSE_HEADERS}
    )
