"""What a client tool result becomes inside the program (spec dual-llm 5, 9).

Order: `tool_result_transform` (codex envelopes) → JSON decoding (unless
`strict_tool_result_parsing`) → error detection (the client's `is_error`, or
`detect_tool_errors: regex` on the first `detect_tool_error_max_result_length` characters) →
`wrap_tool_result` (`{"ok": true, "value": ...}` / `{"ok": false, "error": ...}` instead of a
`ToolError` raised in the program).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import regex

from server.config import Fsm

__all__ = ["ToolOutcome", "interpret_result", "DEFAULT_ERROR_PATTERN", "MAX_ERROR_MESSAGE"]

DEFAULT_ERROR_PATTERN = r"(?i)\b(error|exception|traceback|failed|failure|not found|denied)\b"
MAX_ERROR_MESSAGE = 2000
_REGEX_TIMEOUT = 0.05


@dataclass(frozen=True)
class ToolOutcome:
    """`value` for the program, or `error` (a ToolError message) when the call failed."""

    value: Any = None
    error: str | None = None


def _codex(text: str) -> str | dict[str, Any]:
    """Codex CLI's `{"output": ..., "metadata": {"exit_code": ...}}` → output text and exit code."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, ValueError, RecursionError):
        return text
    if isinstance(data, dict) and isinstance(data.get("output"), str):
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        return {"output": data["output"], "exit_code": meta.get("exit_code")}
    return text


def _decode(text: str, *, strict: bool) -> Any:
    if strict:
        return text
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError, RecursionError):  # too deep: the program gets the text
        return text


def _looks_like_error(text: str, fsm: Fsm) -> bool:
    if fsm.detect_tool_errors != "regex":
        return False
    limit = fsm.detect_tool_error_max_result_length
    sample = text if limit is None else text[:limit]
    pattern = fsm.detect_tool_error_regex_pattern or DEFAULT_ERROR_PATTERN
    try:
        return regex.search(pattern, sample, timeout=_REGEX_TIMEOUT) is not None
    except TimeoutError:
        return True  # fail closed: an unreadable result is treated as an error


def interpret_result(text: str, *, is_error: bool, fsm: Fsm) -> ToolOutcome:
    """The program's view of one client tool result."""
    raw: Any = _codex(text) if fsm.tool_result_transform == "codex" else text
    value = _decode(raw, strict=fsm.strict_tool_result_parsing) if isinstance(raw, str) else raw
    failed = is_error or _looks_like_error(text, fsm)
    if fsm.wrap_tool_result:
        wrapped = {"ok": False, "error": text[:MAX_ERROR_MESSAGE]} if failed else {"ok": True, "value": value}
        return ToolOutcome(value=wrapped)
    if failed:
        return ToolOutcome(error=text[:MAX_ERROR_MESSAGE] or "the tool reported an error")
    return ToolOutcome(value=value)
