"""Pydantic validation errors to readable clauses, in one table: `<path>: <rule> (got <value>)`.

    ControlError (server.errors)
    ├── InvalidHeader        400  a header failed JSON parsing or the schema (raised by parse.py)
    └── StoredConfigInvalid  500  the bearer key's stored config fails the same schema

Clauses name the JSON path, what is allowed and what was sent, e.g.
`fsm.max_n_turns: must be >= 1 (got 0)`; sent values are shown truncated to `MAX_SHOWN_CHARS`
so a 1 MiB policy is never echoed back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from server.errors import ControlError

__all__ = ["MAX_SHOWN_CHARS", "StoredConfigInvalid", "clauses", "clause", "show"]

MAX_SHOWN_CHARS = 60


class StoredConfigInvalid(ControlError):
    """The stored base config of a bearer key is invalid: an operator problem, not the caller's."""

    status = 500
    default_code = "stored_config_invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "The stored config of this API key is invalid (an operator must fix it): "
            + "; ".join(problems)
        )
        self.problems = problems


def show(value: Any) -> str:
    """A sent value as the error shows it: strings quoted, the rest as JSON, truncated.

    >>> show("triple-llm"), show(0), show(None), show("x" * 100)[-4:]
    ("'triple-llm'", '0', 'null', "...'")
    """
    if isinstance(value, str):
        return "'" + _cut(value) + "'"
    try:
        text = json.dumps(value, default=repr)
    except ValueError:  # circular structure: cannot come from JSON, but never fail while reporting
        text = repr(value)
    return _cut(text)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def _got(error: ErrorDetails) -> str:
    return f" (got {show(error.get('input'))})"


def _ctx(error: ErrorDetails, key: str) -> Any:
    return (error.get("ctx") or {}).get(key)


def _one_of(error: ErrorDetails) -> str:
    expected = str(_ctx(error, "expected"))
    return f"must be one of {expected.replace(' or ', ', ')}" + _got(error)


def _fixed(rule: str) -> Callable[[ErrorDetails], str]:
    return lambda error: rule + _got(error)


def _bound(op: str, key: str) -> Callable[[ErrorDetails], str]:
    return lambda error: f"must be {op} {_ctx(error, key)}" + _got(error)


_OBJECT = _fixed("must be a JSON object")
_ARRAY = _fixed("must be an array")
_INT = _fixed("must be an integer")
_NUMBER = _fixed("must be a number")
_BOOL = _fixed("must be true or false")

# pydantic error type -> rule text. The one place where foreign wording becomes ours.
_RULES: dict[str, Callable[[ErrorDetails], str]] = {
    "json_invalid": lambda error: f"Invalid JSON: {_ctx(error, 'error')}",
    "extra_forbidden": lambda error: "extra inputs are not permitted",
    "missing": lambda error: "field required",
    "literal_error": _one_of,
    "enum": _one_of,
    "greater_than_equal": _bound(">=", "ge"),
    "greater_than": _bound(">", "gt"),
    "less_than_equal": _bound("<=", "le"),
    "less_than": _bound("<", "lt"),
    "int_type": _INT,
    "int_parsing": _INT,
    "int_from_float": _INT,
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "finite_number": _fixed("must be a finite number"),
    "bool_type": _BOOL,
    "bool_parsing": _BOOL,
    "string_type": _fixed("must be a string"),
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dict_type": _OBJECT,
    "mapping_type": _OBJECT,
    "list_type": _ARRAY,
    "tuple_type": _ARRAY,
    "set_type": _ARRAY,
    "frozen_set_type": _ARRAY,
    "regex": lambda error: str(error.get("msg")) + _got(error),
}


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def clause(error: ErrorDetails) -> str:
    """One problem as `<json.path>: <rule> (got <value>)`; root problems have no path.

    Unknown error types fall back to pydantic's message, lower-cased, plus the sent value.
    """
    rule = _RULES.get(error["type"])
    text = rule(error) if rule else _lower_first(error["msg"]) + _got(error)
    path = _path(error["loc"])
    return f"{path}: {text}" if path else text


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def clauses(exc: ValidationError) -> list[str]:
    """Every problem of a validation error, in order, without duplicates."""
    out: list[str] = []
    for error in exc.errors(include_url=False):
        text = clause(error)
        if text not in out:
            out.append(text)
    return out
