"""`create_app(settings)`: the only place that wires the parts together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server.api import audit_routes, model_routes, utility_routes
from server.api.auth import Authenticator
from server.api.error_handlers import install_error_handlers
from server.api.services import Services
from server.audit import AuditLog
from server.audit.decisions import DecisionLog
from server.errors import StoreUnavailable
from server.guards import ScoreCache
from server.keys import KeyStore
from server.observability.instrument import MeteredSessionStore, metered_registry
from server.observability.metrics import mark_worker_exit, metrics
from server.observability.middleware import ObservabilityMiddleware, metrics_endpoint
from server.observability.tracing import setup_tracing
from server.policy import load_policy
from server.policygen.auto_cache import SqlGeneratedStore, TwoLevelCache
from server.providers.registry import build_registry
from server.sessions.factory import open_session_store
from server.sessions.store import SessionStore
from server.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("sequrity_control")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app; `uvicorn --factory server.app:create_app` reads settings from the environment.

    >>> create_app(Settings(session_store="memory", database_url="sqlite://")).title
    'Sequrity Control'
    """
    settings = settings or Settings()
    meters = metrics()  # -- observability (issue 8): one metrics set per process
    tracing = setup_tracing(settings.otel_exporter_otlp_endpoint)
    tracer = tracing.tracer if tracing is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keys = KeyStore(settings.database_url)
        seeds = [k.strip() for k in settings.api_keys.split(",") if k.strip()]
        if seeds:
            keys.seed(seeds)
        sessions = open_session_store(settings)
        await _check_store(sessions)
        load_policy("sqrt", "")  # builds the parser tables now, not on the first request (~0.2 s)
        # -- audit and observability (issue 8) --
        audit = AuditLog(
            keys.engine, include_values=settings.audit_values, on_drop=meters.audit_dropped.inc
        )
        await audit.start()
        app.state.audit = audit
        providers = metered_registry(build_registry(settings), meters, tracer)
        # -- end --
        app.state.services = Services(
            settings=settings,
            keys=keys,
            authenticate=Authenticator(keys),
            sessions=MeteredSessionStore(sessions, meters),
            providers=providers,
            scores=ScoreCache(),  # issue 5: one tag-LLM score cache per process
            decisions=DecisionLog(audit),
            generated_policies=TwoLevelCache(SqlGeneratedStore(keys.engine)),  # shared by workers
        )
        try:
            yield
        finally:
            await audit.aclose()
            await providers.aclose()
            await sessions.aclose()
            keys.close()
            if tracing is not None:
                tracing.shutdown()
            mark_worker_exit()

    app = FastAPI(
        title="Sequrity Control",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(ObservabilityMiddleware, metrics=meters, tracer=tracer)  # issue 8
    app.add_route("/metrics", metrics_endpoint, methods=["GET"])  # issue 8
    app.include_router(utility_routes.router)
    app.include_router(audit_routes.router)  # issue 8; before the POST catch-all of model routes
    app.include_router(model_routes.router)
    return app


async def _check_store(sessions: SessionStore) -> None:
    """Refuse to start on a session store that does not answer (Redis down at start)."""
    try:
        await sessions.ping()
    except StoreUnavailable as err:
        log.error("cannot start: %s; check SEQURITY_CONTROL_SESSION_STORE", err.message)
        await sessions.aclose()
        raise
