"""`POST /control/v1/validate-headers` (spec control-api section 9), on the resolver's own parser.

Each header result is `{"valid", "normalized", "errors"}`, or null when that input was absent,
empty or `null` (the same rule as real requests). `normalized` is the parsed header with defaults
applied (models.normalized): every key sent with its value, sets as sorted arrays, a bare-string
`codes` as its object form `{"code", "language": "sqrt"}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from server.config.errors import clauses
from server.config.models import normalized
from server.config.parse import parse_header
from server.errors import InvalidHeader, Unprocessable
from server.names import Header

__all__ = ["ValidateHeadersBody", "validate_headers", "BODY_FIELDS"]

# Body field -> the header it carries.
BODY_FIELDS: dict[str, Header] = {
    "x_features": Header.FEATURES,
    "x_policy": Header.POLICY,
    "x_config": Header.CONFIG,
}


class ValidateHeadersBody(BaseModel):
    """The request body: raw header texts, each optional; unknown keys are a body error (422)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    x_features: str | None = None
    x_policy: str | None = None
    x_config: str | None = None


def validate_headers(body: Mapping[str, Any] | ValidateHeadersBody) -> dict[str, Any]:
    """The response of spec section 9 for a request body.

    Raises `Unprocessable` (422) naming the field when the body itself is malformed.

    >>> validate_headers({"x_config": '{"fsm": {"max_n_turns": 0}}'})["x_config"]["errors"]
    ['fsm.max_n_turns: must be >= 1 (got 0)']
    """
    if not isinstance(body, ValidateHeadersBody):
        try:
            body = ValidateHeadersBody.model_validate(body)
        except ValidationError as exc:
            problems = clauses(exc)
            raise Unprocessable(
                "Invalid validate-headers body: " + "; ".join(problems),
                param=_first_field(exc),
            ) from None
    return {field: _result(header, getattr(body, field)) for field, header in BODY_FIELDS.items()}


def _result(header: Header, raw: str | None) -> dict[str, Any] | None:
    try:
        model = parse_header(header, raw)
    except InvalidHeader as exc:
        return {"valid": False, "normalized": None, "errors": list(exc.problems)}
    if model is None:
        return None
    return {"valid": True, "normalized": normalized(model), "errors": []}


def _first_field(exc: ValidationError) -> str | None:
    for error in exc.errors(include_url=False):
        if error["loc"]:
            return str(error["loc"][0])
    return None
