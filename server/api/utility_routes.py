"""Utility routes without auth: route listing, health, header validation (spec 1.2, 9)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api.body import read_json_object
from server.api.routes import all_routes
from server.api.services import Services
from server.config import validate_headers

__all__ = ["router"]

router = APIRouter()


@router.get("/control/")
@router.get("/control")
@router.get("/")
async def list_routes() -> JSONResponse:
    return JSONResponse({"routes": all_routes()})


@router.get("/control/health")
@router.get("/health")
async def health(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    await services.sessions.ping()
    services.keys.ping()
    return JSONResponse({"status": "ok"})


@router.post("/control/v1/validate-headers")
async def validate(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    body = await read_json_object(request, limit=services.settings.max_body_bytes)
    return JSONResponse(validate_headers(body))
