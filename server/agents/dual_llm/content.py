"""The final content object of a dual-LLM answer (spec control-api 7.1) and its failure codes (7.3)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from server.config import ResponseFormat
from server.formats.canonical import FinalOutcome, TokenUsage
from server.policy.metadata import Labelled

__all__ = ["Failure", "success_outcome", "failure_outcome", "ERROR_CODES"]

ERROR_CODES = frozenset(
    {
        "policy_denied",
        "control_flow_violation",
        "max_steps_exceeded",
        "tool_error",
        "execution_error",
        "not_enough_information",
        "upstream_error",
    }
)


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


def _value_type(value: Any) -> str:
    return type(value).__name__ if value is not None else "NoneType"


def _extras(
    fmt: ResponseFormat,
    *,
    program: str | None,
    history: list[dict[str, Any]],
    namespace: dict[str, Any] | None,
    printed: list[str],
    mismatch: bool,
    force_history: bool = False,
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if fmt.include_program and program is not None:
        extra["program"] = program
    if fmt.include_policy_check_history or force_history:
        extra["policy_check_history"] = history
    if fmt.include_namespace_snapshot and namespace is not None:
        extra["namespace_snapshot"] = namespace
    if printed:
        extra["printed"] = printed
    if mismatch:
        extra["message_history_mismatch_detected"] = True
    return extra


def success_outcome(
    value: Labelled,
    *,
    fmt: ResponseFormat,
    usage: TokenUsage,
    program: str | None = None,
    history: list[dict[str, Any]] | None = None,
    namespace: dict[str, Any] | None = None,
    printed: list[str] | None = None,
    mismatch: bool = False,
) -> FinalOutcome:
    if fmt.strip_response_content:
        text = value.value if isinstance(value.value, str) else json.dumps(value.value, default=str)
        return FinalOutcome(content=text, usage=usage)
    body = {
        "status": "success",
        "final_return_value": {**value.to_json(), "value_type": _value_type(value.value)},
        **_extras(fmt, program=program, history=history or [], namespace=namespace,
                  printed=printed or [], mismatch=mismatch),
    }
    return FinalOutcome(content=json.dumps(body, default=str), usage=usage)


def failure_outcome(
    failure: Failure,
    *,
    fmt: ResponseFormat,
    usage: TokenUsage,
    program: str | None = None,
    history: list[dict[str, Any]] | None = None,
    namespace: dict[str, Any] | None = None,
    mismatch: bool = False,
) -> FinalOutcome:
    if fmt.strip_response_content:
        text = failure.message
    else:
        body = {
            "status": "failure",
            "error": {"code": failure.code, "message": failure.message},
            **_extras(fmt, program=program, history=history or [], namespace=namespace, printed=[],
                      mismatch=mismatch, force_history=failure.code == "policy_denied"),
        }
        text = json.dumps(body, default=str)
    return FinalOutcome(
        content=text, failed=True, error_code=failure.code, error_message=failure.message, usage=usage
    )
