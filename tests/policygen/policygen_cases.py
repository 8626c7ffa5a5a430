"""Shared data for the policy-gen tests: one tool set in every format, bodies, scripted answers."""

from __future__ import annotations

from typing import Any

__all__ = [
    "SCHEMAS", "CHAT_TOOLS", "ANTHROPIC_TOOLS", "RESPONSES_TOOLS", "TOOLS_BY_TYPE", "ROUTE_BY_TYPE",
    "MODEL", "DESCRIPTION", "VALID", "SYNTAX_ERROR", "UNKNOWN_TOOL", "UNKNOWN_ARG", "fenced", "body",
]

MODEL = "policy-model"
DESCRIPTION = "Never send emails to addresses outside example.com; HR records are confidential."

SCHEMAS: dict[str, tuple[str, dict[str, Any]]] = {
    "send_email": ("Send an email.", {
        "type": "object",
        "properties": {
            "to": {"type": "string", "description": "recipient address"},
            "body": {"type": "string"},
        },
        "required": ["to", "body"],
    }),
    "read_hr_record": ("Read an employee's HR record.", {
        "type": "object",
        "properties": {"employee_id": {"type": "integer"}},
    }),
}

CHAT_TOOLS = [
    {"type": "function", "function": {"name": n, "description": d, "parameters": s}}
    for n, (d, s) in SCHEMAS.items()
]
ANTHROPIC_TOOLS = [{"name": n, "description": d, "input_schema": s} for n, (d, s) in SCHEMAS.items()]
RESPONSES_TOOLS = [
    {"type": "function", "name": n, "description": d, "parameters": s} for n, (d, s) in SCHEMAS.items()
]

TOOLS_BY_TYPE = {
    "oai_chat_completion": CHAT_TOOLS,
    "openrouter_chat_completion": CHAT_TOOLS,
    "anthropic_messages": ANTHROPIC_TOOLS,
    "sequrity_azure_chat_completion": CHAT_TOOLS,
    "sequrity_azure_responses": RESPONSES_TOOLS,
}
# The route the official client uses for each type (spec control-api 8).
ROUTE_BY_TYPE = {
    "oai_chat_completion": "policy-gen/openai/v1/generate",
    "openrouter_chat_completion": "policy-gen/v1/generate",
    "anthropic_messages": "policy-gen/anthropic/v1/generate",
    "sequrity_azure_chat_completion": "policy-gen/sequrity_azure/v1/generate",
    "sequrity_azure_responses": "policy-gen/sequrity_azure/v1/generate",
}

VALID = """\
/// HR records are confidential.
tool "read_hr_record" -> @tags |= {"hr"};
tool "send_email" {
    /// Only example.com recipients.
    hard deny when not (to.value in {str like w"*@example.com"});
    hard deny when body.tags overlaps {"hr"};
}
"""
SYNTAX_ERROR = 'tool "send_email" { hard deny when to.value startswith "x"; }\n'
UNKNOWN_TOOL = 'tool "send_mail" { hard deny always; }\n'
UNKNOWN_ARG = 'tool "send_email" { hard deny when recipient.value == "x"; }\n'


def fenced(policy: str, *, prose: str = "Here is the policy:") -> str:
    return f"{prose}\n```sqrt\n{policy}```\n"


def body(kind: str = "oai_chat_completion", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": kind, "model": MODEL, "description": DESCRIPTION, "tools": TOOLS_BY_TYPE.get(kind, CHAT_TOOLS),
    }
    out.update(fields)
    return out
