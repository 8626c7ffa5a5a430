"""Turns AST spans into `PolicyLoadError`s that quote the offending line."""

from __future__ import annotations

from server.policy.errors import PolicyLoadError
from server.policy.sqrt.ast import Span

__all__ = ["load_error", "source_line"]


def source_line(text: str, line: int | None) -> str | None:
    """The 1-based `line` of `text` (without its newline), if it exists."""
    if line is None:
        return None
    lines = text.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else None


def load_error(text: str, message: str, span: Span | None) -> PolicyLoadError:
    """A load error at `span` of `text` (or without position)."""
    if span is None:
        return PolicyLoadError(message)
    return PolicyLoadError(
        message, line=span.line, column=span.column, source_line=source_line(text, span.line)
    )
