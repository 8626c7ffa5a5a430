"""Policy generation (spec control-api 8): natural language + tools -> a validated SQRT policy.

Public API: `generate_policy(body, provider=, providers=, byok=)` for the HTTP route, and
`add_generate_command(subparsers)` (in `server.policygen.cli`) for `policy generate`.
"""

from __future__ import annotations

from server.policygen.generate import Generated, generate_policy, run_generation
from server.policygen.requests import (
    MAX_CATALOG_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_RETRIES,
    MAX_TOOLS,
    REQUEST_TYPES,
    GenRequest,
    parse_request,
)
from server.policygen.tools import INTERNAL_TOOLS, Param, ToolSpec
from server.policygen.validate import Problem, extract_policy, validate_candidate

__all__ = [
    "generate_policy",
    "run_generation",
    "Generated",
    "GenRequest",
    "parse_request",
    "REQUEST_TYPES",
    "MAX_RETRIES",
    "MAX_DESCRIPTION_CHARS",
    "MAX_TOOLS",
    "MAX_CATALOG_CHARS",
    "ToolSpec",
    "Param",
    "INTERNAL_TOOLS",
    "Problem",
    "extract_policy",
    "validate_candidate",
]
