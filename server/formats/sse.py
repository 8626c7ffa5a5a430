"""Server-sent events as the official client parses them: one single-line JSON `data:` per event."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["sse_event", "SSE_DONE", "dumps"]

SSE_DONE = b"data: [DONE]\n\n"


def dumps(payload: Any) -> str:
    """Compact JSON on one line (json never emits raw newlines inside strings)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def sse_event(payload: Any, *, event: str | None = None) -> bytes:
    """One SSE event; `event:` precedes `data:` where the format names its events."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {dumps(payload)}\n\n".encode()
