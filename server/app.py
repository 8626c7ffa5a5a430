"""`create_app(settings)`: the only place that wires the parts together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server.api import model_routes, utility_routes
from server.api.auth import Authenticator
from server.api.error_handlers import install_error_handlers
from server.api.services import Services
from server.keys import KeyStore
from server.providers.registry import build_registry
from server.sessions.factory import open_session_store
from server.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("sequrity_control")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app; `uvicorn --factory server.app:create_app` reads settings from the environment.

    >>> create_app(Settings(session_store="memory", database_url="sqlite://")).title
    'Sequrity Control'
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keys = KeyStore(settings.database_url)
        seeds = [k.strip() for k in settings.api_keys.split(",") if k.strip()]
        if seeds:
            keys.seed(seeds)
        sessions = open_session_store(settings)
        providers = build_registry(settings)
        app.state.services = Services(
            settings=settings,
            keys=keys,
            authenticate=Authenticator(keys),
            sessions=sessions,
            providers=providers,
        )
        try:
            yield
        finally:
            await providers.aclose()
            await sessions.aclose()
            keys.close()

    app = FastAPI(
        title="Sequrity Control",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    app.include_router(utility_routes.router)
    app.include_router(model_routes.router)
    return app
