"""SQRT, the policy language of spec/sqrt.md: parse, load-time checks, compile, evaluate.

Public API: `load_policy(text, presets)` -> `SqrtPolicy` (an `engine.PolicySet`), `parse(text)` ->
`ast.Program`; both raise `PolicyLoadError` with line and column.
"""

from __future__ import annotations

from server.policy.engine import Presets
from server.policy.presets import preset_declarations
from server.policy.sqrt import ast
from server.policy.sqrt.checks import check_program
from server.policy.sqrt.compiler import compile_program
from server.policy.sqrt.limits import DEFAULT_LIMITS, Limits
from server.policy.sqrt.parser import parse
from server.policy.sqrt.policy import SqrtPolicy

__all__ = ["load_policy", "parse", "ast", "SqrtPolicy", "Limits", "DEFAULT_LIMITS"]

_DEFAULT_PRESETS = Presets()


def load_policy(
    text: str, presets: Presets = _DEFAULT_PRESETS, *, limits: Limits = DEFAULT_LIMITS
) -> SqrtPolicy:
    """Parse, check and compile a policy text; an empty text is valid (presets only).

    >>> from server.policy.metadata import MetaData
    >>> policy = load_policy('tool "rm" { hard deny always; }')
    >>> policy.check(tool="rm", args={}, session_meta=MetaData()).verdict.value
    'hard_denied'
    """
    program = parse(text, limits=limits)
    lets = check_program(program)
    decls = compile_program(program, lets, limits=limits)
    return SqrtPolicy(
        program=program,
        decls=preset_declarations(presets) + decls,
        presets=presets,
        limits=limits,
    )
