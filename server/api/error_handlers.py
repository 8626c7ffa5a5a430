"""Render every error in the one shape of spec section 10, choosing the Messages variant by route."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.errors import ControlError, error_body

__all__ = ["install_error_handlers", "error_response"]

log = logging.getLogger("sequrity_control")


def _messages_shape(request: Request) -> bool:
    return request.url.path.rstrip("/").endswith("/v1/messages")


def error_response(request: Request, err: ControlError) -> JSONResponse:
    body = error_body(
        status=err.status,
        message=err.message,
        param=err.param,
        code=err.code,
        messages_shape=_messages_shape(request),
    )
    return JSONResponse(body, status_code=err.status)


def install_error_handlers(app: FastAPI) -> None:
    async def on_control_error(request: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, ControlError)
        return error_response(request, err)

    async def on_http_error(request: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, HTTPException)
        status = err.status_code
        if status == 404:
            message = f"no route {request.method} {request.url.path}; GET /control/ lists every route"
        elif status == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        else:
            message = str(err.detail)
        body = error_body(
            status=status, message=message, code=None, messages_shape=_messages_shape(request)
        )
        return JSONResponse(body, status_code=status, headers=getattr(err, "headers", None))

    async def on_unexpected(request: Request, err: Exception) -> JSONResponse:
        # A bug, not bad input: log the traceback (never headers or bodies, which hold secrets).
        log.exception("internal error on %s %s", request.method, request.url.path)
        body = error_body(
            status=500,
            message="internal server error",
            code="internal_error",
            messages_shape=_messages_shape(request),
        )
        return JSONResponse(body, status_code=500)

    app.add_exception_handler(ControlError, on_control_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
