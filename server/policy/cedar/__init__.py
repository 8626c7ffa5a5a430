"""Cedar as the second policy language of `X-Policy.codes.language` (spec sqrt 13, "Cedar [ours]").

Package map: `source` (lexing, limits, located syntax errors), `mapping` (call -> request),
`inference` + `validation` (schema of the mapping, validation errors by line), `engine`
(`CedarPolicy`, verdicts and presets).
"""

from server.policy.cedar.engine import CedarPolicy, load_policy
from server.policy.cedar.source import (
    MAX_NESTING,
    MAX_OPERATORS_PER_POLICY,
    MAX_POLICIES,
    MAX_POLICY_CHARS,
)

__all__ = [
    "MAX_NESTING",
    "MAX_OPERATORS_PER_POLICY",
    "MAX_POLICIES",
    "MAX_POLICY_CHARS",
    "CedarPolicy",
    "load_policy",
]
