"""Dual-LLM settings this deployment does not implement yet: rejected with 400, never silently ignored.

Spec dual-llm 9: "A field we choose not to support is rejected with 400 naming it." Each entry is
(JSON path, predicate on the resolved config that is true when the request asks for the feature).
Remove an entry when its feature lands.
"""

from __future__ import annotations

from collections.abc import Callable

from server.config import SessionConfig
from server.errors import BadRequest

__all__ = ["reject_unsupported", "UNSUPPORTED"]

UNSUPPORTED: tuple[tuple[str, Callable[[SessionConfig], bool]], ...] = (
    # Per-role sampling parameters are applied to the planner and the quarantined LLM only.
    *(
        (f"llm.{role}", (lambda c, r=role: getattr(c.llm, r) is not None))
        for role in ("rllm", "grllm", "tllm", "tagllm", "policy_llm", "tool_result_error_detector_llm")
    ),
    ("fsm.pllm_context_pruning: false", lambda c: c.fsm.pllm_context_pruning is False),
    ("prompt.pllm.query_role_name_overrides", lambda c: bool(c.prompt.pllm.query_role_name_overrides)),
    ("policy.auto_gen with codes.language cedar", lambda c: c.policy.auto_gen and c.policy.language == "cedar"),
)


def reject_unsupported(config: SessionConfig) -> None:
    """400 naming every requested feature that is not implemented here."""
    asked = [path for path, wanted in UNSUPPORTED if wanted(config)]
    if asked:
        raise BadRequest(
            "not supported by this deployment yet: " + ", ".join(asked)
            + " (leave them at their defaults)",
            param=asked[0],
            code="unsupported_feature",
        )
