"""Client tools rendered for the planner as Python signatures built from their JSON schemas."""

from __future__ import annotations

import keyword
from typing import Any

from server.formats.canonical import ToolSpec

__all__ = ["python_type", "tool_signature", "INTERNAL_TOOL_SIGNATURES"]

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
MAX_DEPTH = 4

INTERNAL_TOOL_SIGNATURES = {
    "parse_with_ai": (
        "def parse_with_ai(query: str, output_schema=str):\n"
        '    """Ask the quarantined LLM to extract data from untrusted text placed in `query`\n'
        "    (usually an f-string). `output_schema` is str, int, float, bool, list, dict, or a JSON\n"
        "    Schema dict literal; the result conforms to it. Raises NotEnoughInformationError when\n"
        '    the text does not contain the answer."""'
    ),
    "verify_hypothesis": (
        "def verify_hypothesis(hypothesis: str, evidence) -> bool:\n"
        '    """Ask the quarantined LLM whether `evidence` supports `hypothesis`."""'
    ),
    "set_policy": (
        "def set_policy(code: str) -> None:\n"
        '    """Add SQRT deny rules or tag updates for the rest of the session (restrict only)."""'
    ),
    "complete_turn": (
        "def complete_turn(value) -> None:\n"
        '    """End this multi-step turn with `value` as the final return value."""'
    ),
}


def python_type(schema: Any, depth: int = 0) -> str:
    """A readable Python annotation for a JSON schema.

    >>> python_type({"type": "array", "items": {"type": "string"}})
    'list[str]'
    """
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return "Any"
    if "enum" in schema and isinstance(schema["enum"], list):
        return "Literal[" + ", ".join(repr(v) for v in schema["enum"][:20]) + "]"
    for combinator in ("anyOf", "oneOf"):
        if isinstance(schema.get(combinator), list):
            return " | ".join(python_type(s, depth + 1) for s in schema[combinator][:8]) or "Any"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(python_type({**schema, "type": k}, depth + 1) for k in kind[:8])
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        return f"list[{python_type(schema.get('items'), depth + 1)}]"
    if kind == "object":
        props = schema.get("properties")
        if isinstance(props, dict) and props:
            fields = ", ".join(f"{k!r}: {python_type(v, depth + 1)}" for k, v in list(props.items())[:20])
            return "{" + fields + "}"
        return "dict"
    return "Any"


def _param_name(name: str) -> str:
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"{name}_"


def tool_signature(tool: ToolSpec) -> str:
    """`def name(a: str, b: int = None) -> Any:` plus a docstring with the descriptions."""
    schema = tool.parameters if isinstance(tool.parameters, dict) else {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = set(schema.get("required") or [])
    params = [
        f"{_param_name(n)}: {python_type(s)}" for n, s in props.items() if n in required
    ] + [f"{_param_name(n)}: {python_type(s)} = None" for n, s in props.items() if n not in required]
    doc = [tool.description.strip()] if tool.description.strip() else []
    for name, sub in props.items():
        if isinstance(sub, dict) and sub.get("description"):
            doc.append(f"{name}: {str(sub['description']).strip()}")
    body = "\n    ".join(doc).replace('"""', "'''")
    return f"def {tool.name}({', '.join(params)}) -> Any:\n    \"\"\"{body}\"\"\""
