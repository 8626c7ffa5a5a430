"""The server's one exception tree and its wire shape (spec control-api section 10).

    ControlError(code, status, message, param)
    ├── BadRequest              400  invalid_request_error
    │   ├── InvalidHeader       400  (names the header and the JSON path)
    │   └── UpstreamRejected    4xx  (an upstream 4xx, relayed with its status)
    ├── Unauthorized            401  authentication_error
    ├── NotFound                404
    ├── Conflict                409  (session busy, arch mismatch, history mismatch under reject)
    ├── PayloadTooLarge         413
    ├── Unprocessable           422
    ├── RateLimited             429  rate_limit_error
    ├── NotImplementedFeature   501  api_error
    ├── UpstreamFailed          502  (upstream 5xx or unreachable)
    ├── StoreUnavailable        503
    └── UpstreamTimeout         504

`error_body(error, messages_shape=...)` renders the one JSON body every client reads: the official
client reads `detail`, the openai SDK `error.message`, the anthropic SDK `type` + `error.message`.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ControlError",
    "BadRequest",
    "InvalidHeader",
    "UpstreamRejected",
    "Unauthorized",
    "NotFound",
    "Conflict",
    "PayloadTooLarge",
    "Unprocessable",
    "RateLimited",
    "NotImplementedFeature",
    "UpstreamFailed",
    "StoreUnavailable",
    "UpstreamTimeout",
    "error_kind",
    "error_body",
]


class ControlError(Exception):
    """Base of every error the server turns into an HTTP answer."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str | None] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        if status is not None:
            self.status = status  # type: ignore[misc]  # per-instance override (relayed upstream 4xx)


class BadRequest(ControlError):
    status = 400
    default_code = "invalid_request"


class InvalidHeader(BadRequest):
    default_code = "invalid_header"

    def __init__(self, header: str, problems: list[str]) -> None:
        super().__init__(f"Invalid {header} header: " + "; ".join(problems), param=header)
        self.header = header
        self.problems = problems


class UpstreamRejected(ControlError):
    """An upstream 4xx, relayed with the upstream's status and message text."""

    status = 400
    default_code = "upstream_rejected"


class Unauthorized(ControlError):
    status = 401
    default_code = "invalid_api_key"


class NotFound(ControlError):
    status = 404
    default_code = "not_found"


class Conflict(ControlError):
    status = 409
    default_code = "conflict"


class PayloadTooLarge(ControlError):
    status = 413
    default_code = "payload_too_large"


class Unprocessable(ControlError):
    status = 422
    default_code = "invalid_body"


class RateLimited(ControlError):
    status = 429
    default_code = "rate_limited"


class NotImplementedFeature(ControlError):
    status = 501
    default_code = "not_implemented"


class UpstreamFailed(ControlError):
    status = 502
    default_code = "upstream_error"


class StoreUnavailable(ControlError):
    status = 503
    default_code = "store_unavailable"


class UpstreamTimeout(ControlError):
    status = 504
    default_code = "upstream_timeout"


_KIND_BY_STATUS = {401: "authentication_error", 429: "rate_limit_error"}


def error_kind(status: int) -> str:
    """The `error.type` of spec section 10 for an HTTP status."""
    if status >= 500:
        return "api_error"
    return _KIND_BY_STATUS.get(status, "invalid_request_error")


def error_body(
    *, status: int, message: str, param: str | None = None, code: str | None = None, messages_shape: bool
) -> dict[str, Any]:
    """The one error body; `messages_shape` selects the Anthropic Messages variant.

    >>> error_body(status=401, message="no key", messages_shape=True)["error"]["type"]
    'authentication_error'
    """
    kind = error_kind(status)
    if messages_shape:
        return {"type": "error", "detail": message, "error": {"type": kind, "message": message}}
    return {
        "detail": message,
        "error": {"message": message, "type": kind, "param": param, "code": code},
    }
