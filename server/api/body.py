"""Read a JSON request body within the size limit; errors name what was wrong."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from server.errors import BadRequest, PayloadTooLarge

__all__ = ["read_json_object"]


async def read_json_object(request: Request, *, limit: int) -> dict[str, Any]:
    """The body as a JSON object; 413 past `limit` bytes (checked while reading), 400 if not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"request body is {declared} bytes; this server accepts at most {limit} "
            "(SEQURITY_CONTROL_MAX_BODY_BYTES)"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"request body exceeds {limit} bytes (SEQURITY_CONTROL_MAX_BODY_BYTES)"
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BadRequest("request body is empty; expected a JSON object", code="invalid_json")
    try:
        body = json.loads(raw)
    except RecursionError:
        raise BadRequest("request body is nested too deeply", code="invalid_json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        where = f" at line {err.lineno}, column {err.colno}" if isinstance(err, json.JSONDecodeError) else ""
        raise BadRequest(
            f"request body is not valid JSON{where}: {getattr(err, 'msg', str(err))}",
            code="invalid_json",
        ) from None
    if not isinstance(body, dict):
        raise BadRequest(
            f"request body must be a JSON object (got {type(body).__name__})", code="invalid_json"
        )
    return body
