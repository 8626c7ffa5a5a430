"""The policy package's one load-error class: syntax and load-time errors of SQRT and Cedar alike."""

from __future__ import annotations

__all__ = ["PolicyLoadError", "PolicyRuntimeError"]


class PolicyLoadError(ValueError):
    """A policy text that cannot be loaded, with the span of the offending construct.

    `str(err)` is `"line L, column C: message"` followed by the offending line and a caret;
    `err.compiler_style(filename)` is `"FILE:L:C: message"` for editors.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
        language: str = "sqrt",
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line
        self.language = language
        super().__init__(self._render())

    def _render(self) -> str:
        if self.line is None:
            return self.message
        head = f"line {self.line}, column {self.column}: {self.message}"
        if self.source_line is None:
            return head
        caret = " " * max((self.column or 1) - 1, 0) + "^"
        return f"{head}\n    {self.source_line}\n    {caret}"

    def compiler_style(self, filename: str) -> str:
        if self.line is None:
            return f"{filename}: {self.message}"
        return f"{filename}:{self.line}:{self.column}: {self.message}"


class PolicyRuntimeError(RuntimeError):
    """A rule's condition could not be evaluated (e.g. a regex match timed out): fails closed."""

    def __init__(self, message: str, *, rule: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.line = line
