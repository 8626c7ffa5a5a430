"""Field types of the header models: strict scalars, frozen containers, regexes, grammar modes.

Scalars are strict (JSON `"5"` is not an int, `1` is not a bool: spec 3.6 "wrong type"), containers
are lax so that a JSON array becomes the tuple / frozenset that keeps every model immutable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PlainSerializer, PlainValidator, Strict
from pydantic_core import PydanticCustomError

__all__ = [
    "Bool",
    "Int",
    "Float",
    "Str",
    "StrSet",
    "StrMap",
    "IntMap",
    "Regex",
    "ReviewGrammar",
    "InternalTool",
    "EnforcementLevel",
    "DebugInfoLevel",
    "review_grammar",
]

Bool = Annotated[bool, Strict()]
Int = Annotated[int, Strict()]
# Strict float still accepts a JSON integer (`"threshold": 1`).
Float = Annotated[float, Strict()]
Str = Annotated[str, Strict()]

InternalTool = Literal["parse_with_ai", "verify_hypothesis", "set_policy", "complete_turn"]
EnforcementLevel = Literal["hard", "soft"]
DebugInfoLevel = Literal["minimal", "normal", "extra"]

# A JSON array used as an unordered set; serialised sorted so `normalized` is deterministic.
StrSet = Annotated[frozenset[Str], PlainSerializer(sorted, return_type=list[str])]


def _freeze(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


# Read-only maps (`query_role_name_overrides`, `logit_bias`) keep nested config immutable.
StrMap = Annotated[Mapping[Str, Str], AfterValidator(_freeze), PlainSerializer(dict)]
IntMap = Annotated[Mapping[Str, Int], AfterValidator(_freeze), PlainSerializer(dict)]


def _compile(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise PydanticCustomError(
            "regex", "must be a valid regular expression ({reason})", {"reason": str(exc)}
        ) from None
    return pattern


Regex = Annotated[Str, AfterValidator(_compile)]

_GRAMMAR_MODES = ("none", "bool", "text")


def _grammar(value: Any) -> bool | str:
    # One validator instead of a `bool | Literal` union, so a bad value yields one clause, not
    # one per union branch.
    if isinstance(value, bool) or (isinstance(value, str) and value in _GRAMMAR_MODES):
        return value
    raise PydanticCustomError(
        "literal_error",
        "Input should be true, false, 'none', 'bool' or 'text'",
        {"expected": "true, false, 'none', 'bool', 'text'"},
    )


# `reduced_grammar_for_rllm_review`: the value is kept as sent (so `normalized` echoes it);
# `review_grammar()` gives its meaning.
ReviewGrammar = Annotated[
    bool | str,
    PlainValidator(_grammar, json_schema_input_type=bool | Literal["none", "bool", "text"]),
    Field(),
]


def review_grammar(value: bool | str) -> Literal["none", "bool", "text"]:
    """The effective review grammar: true means `text`, false means `none` (spec 3.5).

    >>> review_grammar(True), review_grammar("bool")
    ('text', 'bool')
    """
    if value is True:
        return "text"
    if value is False:
        return "none"
    return value  # type: ignore[return-value]  # validated to one of _GRAMMAR_MODES
