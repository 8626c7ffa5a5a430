"""`policy_check_history` entries (spec control-api 13.8) from verdict records."""

from __future__ import annotations

from typing import Any

from server.policy.engine import CheckRecord, FiredRule

__all__ = ["history_entry"]


def _rule(rule: FiredRule) -> dict[str, Any]:
    return {"rule": rule.rule, "line": rule.line, "description": rule.description}


def history_entry(record: CheckRecord, *, call_id: str | None, language: str) -> dict[str, Any]:
    """One entry; `source` is the policy language, or `preset` when only presets fired.

    >>> from server.policy.engine import Verdict
    >>> history_entry(CheckRecord(tool="t", verdict=Verdict.ALLOWED), call_id=None, language="sqrt")["source"]
    'sqrt'
    """
    deciding = record.denied_by or record.fired
    only_presets = bool(deciding) and all(r.source == "preset" for r in deciding)
    entry: dict[str, Any] = {
        "tool": record.tool,
        "call_id": call_id,
        "verdict": record.verdict.value,
        "allowed": record.allowed,
        "source": "preset" if only_presets else language,
        "fired": [_rule(r) for r in record.fired],
        "message": record.message,
    }
    if not record.allowed:
        entry["denied"] = [_rule(r) for r in record.denied_by]
    return entry
