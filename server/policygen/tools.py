"""The tool catalogue a policy is generated for: one neutral `ToolSpec` per tool, whatever its format.

Decisions:
- Only top-level argument names matter to SQRT (`x.value` is the whole value), so a tool's
  arguments are the `properties` of its JSON Schema; nested schemas are summarised by their type.
- A schema without `properties` (or not an object) gives a tool without arguments: a policy may
  still name the tool, but reading any argument of it is an error.
- The four internal tools have fixed signatures (spec dual-llm 4) and join the catalogue only when
  the request lists them in `internal_tool_names`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Param", "ToolSpec", "INTERNAL_TOOLS", "params_from_schema"]

MAX_ENUM_SHOWN = 20  # an argument's enum beyond this is elided in the prompt


@dataclass(frozen=True, slots=True)
class Param:
    """One argument of a tool: its name and what the model should know about it."""

    name: str
    type: str | None = None
    description: str | None = None
    required: bool = False
    enum: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the generator sees it; `internal` marks the service's own tools."""

    name: str
    description: str | None
    params: tuple[Param, ...]
    internal: bool = False

    @property
    def arg_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params)


def _type_of(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
        return " | ".join(kind)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list):
            kinds = [_type_of(o) for o in options if isinstance(o, Mapping)]
            named = [k for k in kinds if k]
            if named:
                return " | ".join(named)
    return None


def params_from_schema(schema: Any) -> tuple[Param, ...]:
    """The top-level arguments of a JSON Schema object; anything else has none.

    >>> params_from_schema({"type": "object", "properties": {"to": {"type": "string"}},
    ...                     "required": ["to"]})[0]
    Param(name='to', type='string', description=None, required=True, enum=None)
    """
    if not isinstance(schema, Mapping):
        return ()
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return ()
    required = schema.get("required")
    needed = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
    params = []
    for name, prop in properties.items():
        prop = prop if isinstance(prop, Mapping) else {}
        description = prop.get("description")
        enum = prop.get("enum")
        params.append(
            Param(
                name=str(name),
                type=_type_of(prop),
                description=description if isinstance(description, str) else None,
                required=name in needed,
                enum=tuple(enum) if isinstance(enum, list) else None,
            )
        )
    return tuple(params)


def _internal(name: str, description: str, *params: tuple[str, str, str]) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=description,
        params=tuple(Param(n, t, d, required=True) for n, t, d in params),
        internal=True,
    )


INTERNAL_TOOLS: Mapping[str, ToolSpec] = {
    t.name: t
    for t in (
        _internal(
            "parse_with_ai",
            "Extracts structured data from untrusted text with a quarantined LLM that has no tools.",
            ("query", "string", "the (untrusted) text to parse and the question"),
            ("output_schema", "type or JSON Schema", "the shape of the answer"),
        ),
        _internal(
            "verify_hypothesis",
            "A quarantined LLM judges whether the evidence supports the hypothesis; returns a bool.",
            ("hypothesis", "string", "the claim to check"),
            ("evidence", "any", "the data to check it against"),
        ),
        _internal(
            "set_policy",
            "Adds SQRT deny rules and tag updates for the rest of the session.",
            ("code", "string", "SQRT policy text"),
        ),
        _internal(
            "complete_turn",
            "Ends a multi-step turn with the given final return value.",
            ("value", "any", "the turn's final return value"),
        ),
    )
}
