"""Cedar policy text as tokens and statements: size/nesting limits and located syntax errors.

cedarpy reports syntax errors without a position ("unexpected token `}`"), and its Rust parser
overflows the native stack (a crash, not an exception) on deeply nested input. So before Cedar
sees a text we lex it ourselves, split it into statements at `;`, and enforce named limits; when
Cedar rejects a text we find the position by re-parsing token-aligned prefixes of the failing
statement: the shortest prefix that fails with an error other than "unexpected end of input"
ends at the offending token (an LR parser rejects at the first bad token).

The lexer is deliberately lenient (unknown characters become `other` tokens): it only needs
to find string, comment and statement boundaries; Cedar itself decides what is valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import cedarpy

from server.policy.errors import PolicyLoadError

__all__ = [
    "MAX_NESTING",
    "MAX_OPERATORS_PER_POLICY",
    "MAX_POLICIES",
    "MAX_POLICY_CHARS",
    "SourceText",
    "Statement",
    "Token",
    "fragment_offset",
    "locate_syntax_error",
    "split_source",
]

MAX_POLICY_CHARS = 64 * 1024
"""Largest accepted policy text (characters). Policies arrive in request headers."""
MAX_POLICIES = 500
"""Most policies in one text (bounds load-time validation work)."""
MAX_NESTING = 64
"""Deepest bracket nesting `( [ {`; cedarpy crashes the process near 1,000."""
MAX_OPERATORS_PER_POLICY = 500
"""Most operator tokens in one policy: bounds the depth of left-leaning chains
(`a || b || ...`, `x.a.b...`), which cedarpy also cannot survive in the thousands.
Cedar's own limit of 100 expression levels is then enforced when the policy is converted."""

_EOF_ERRORS = ("unexpected end of input",)
_TOKEN_ERRORS = ("unexpected token", "invalid token")
_I64_MAX = 2**63 - 1
_ESCAPE_RE = re.compile(r"\\u\{([0-9a-fA-F]{1,6})\}|\\(.)", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
_OPERATORS = frozenset(
    [
        "&&",
        "||",
        "==",
        "!=",
        "<=",
        ">=",
        "<",
        ">",
        "+",
        "-",
        "*",
        "!",
        ".",
        "[",
        "(",
        "{",
        "if",
        "in",
        "has",
        "like",
        "is",
    ]
)
_TOKEN_RE = re.compile(
    r"""(?P<ws>[ \t\r\n\f\v]+)
      | (?P<comment>//[^\n]*)
      | (?P<string>"(?:[^"\\]|\\.)*(?:"|\Z))
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<int>[0-9]+)
      | (?P<op>::|==|!=|<=|>=|&&|\|\||[-+*!<>.,;:()\[\]{}@?])
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


class Token(NamedTuple):
    """A lexeme (a tuple: there are thousands per text and they are built in a tight loop)."""

    kind: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Statement:
    """One policy: its tokens (annotations included) and the text span from the previous `;`."""

    index: int
    tokens: tuple[Token, ...]
    span_start: int
    span_end: int

    @property
    def head(self) -> Token:
        """The `permit`/`forbid` keyword (else the first token): where the policy is reported."""
        for tok in self.tokens:
            if tok.kind == "ident" and tok.text in ("permit", "forbid"):
                return tok
        return self.tokens[0]


@dataclass(frozen=True, slots=True)
class SourceText:
    text: str
    statements: tuple[Statement, ...]
    line_starts: tuple[int, ...]

    def action_names(self) -> frozenset[str]:
        """Every `Action::"name"` the text writes (strings and comments excluded)."""
        names: set[str] = set()
        for stmt in self.statements:
            toks = stmt.tokens
            for i in range(len(toks) - 2):
                if (
                    toks[i].text == "Action"
                    and toks[i + 1].text == "::"
                    and toks[i + 2].kind == "string"
                ):
                    names.add(_string_value(toks[i + 2].text))
        return frozenset(names)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self.line_starts[lo] + 1

    def error(self, message: str, offset: int) -> PolicyLoadError:
        line, column = self.position(offset)
        start = self.line_starts[line - 1]
        end = self.text.find("\n", start)
        source_line = self.text[start : end if end >= 0 else len(self.text)].rstrip("\r")
        return PolicyLoadError(
            message,
            line=line,
            column=column,
            source_line=source_line if source_line.strip() else None,
            language="cedar",
        )

    def statement_text(self, stmt: Statement) -> str:
        return self.text[stmt.span_start : stmt.span_end]


def _string_value(literal: str) -> str:
    """The value of a Cedar string literal (escapes as in Cedar; unknown ones are kept)."""
    body = literal[1:-1]
    if "\\" not in body:
        return body
    return _ESCAPE_RE.sub(
        lambda m: (
            (chr(int(m[1], 16)) if int(m[1], 16) <= 0x10FFFF else m[0])
            if m[1]
            else _ESCAPES.get(m[2], m[0])
        ),
        body,
    )


def _lex(text: str) -> list[Token]:
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup or "other"
        if kind in ("ws", "comment"):
            continue
        tokens.append(Token(kind, m.group(), m.start(), m.end()))
    return tokens


def split_source(text: str) -> SourceText:
    """Lex, split into statements and enforce the limits; raises PolicyLoadError.

    >>> [s.head.text for s in split_source('permit(principal, action, resource);').statements]
    ['permit']
    """
    if len(text) > MAX_POLICY_CHARS:
        src = SourceText(text[:0], (), (0,))
        raise src.error(
            f"Cedar policy text too large: {len(text)} characters (limit {MAX_POLICY_CHARS})", 0
        )
    line_starts = (0, *(m.end() for m in re.finditer("\n", text)))
    tokens = _lex(text)
    statements: list[Statement] = []
    current: list[Token] = []
    span_start = 0
    for tok in tokens:
        current.append(tok)
        if tok.kind == "op" and tok.text == ";":
            statements.append(Statement(len(statements), tuple(current), span_start, tok.end))
            current, span_start = [], tok.end
    if current:  # trailing tokens without ';': Cedar will reject them, we still locate them
        statements.append(Statement(len(statements), tuple(current), span_start, len(text)))
    src = SourceText(text, tuple(statements), line_starts)
    if len(statements) > MAX_POLICIES:
        raise src.error(
            f"too many Cedar policies: {len(statements)} (limit {MAX_POLICIES})",
            statements[MAX_POLICIES].head.start,
        )
    for stmt in statements:
        _check_shape(src, stmt)
    return src


def _check_shape(src: SourceText, stmt: Statement) -> None:
    depth = operators = 0
    for tok in stmt.tokens:
        if tok.kind == "string" and (len(tok.text) < 2 or not tok.text.endswith('"')):
            raise src.error("unterminated string literal", tok.start)
        if tok.text in ("(", "[", "{") and tok.kind == "op":
            depth += 1
            if depth > MAX_NESTING:
                raise src.error(
                    f"expression nested too deeply: more than {MAX_NESTING} levels of brackets",
                    tok.start,
                )
        elif tok.text in (")", "]", "}") and tok.kind == "op":
            depth = max(depth - 1, 0)
        if tok.text in _OPERATORS and tok.kind in ("op", "ident"):
            operators += 1
            if operators > MAX_OPERATORS_PER_POLICY:
                raise src.error(
                    f"Cedar policy too complex: more than {MAX_OPERATORS_PER_POLICY} operators;"
                    " split it into several policies",
                    tok.start,
                )


def _parse_error(text: str) -> str | None:
    try:
        cedarpy.PolicySet.from_str(text)
    except ValueError as err:
        return str(err)
    return None


_FRAGMENT_RE = re.compile(r"`([^`]+)`|: (\S+)$")


def locate_syntax_error(
    src: SourceText, *, parse: Callable[[str], str | None] = _parse_error
) -> PolicyLoadError:
    """Turn a text that Cedar rejected into a PolicyLoadError at the offending token."""
    for stmt in src.statements:
        message = parse(src.statement_text(stmt))
        if message is None:
            continue
        toks = stmt.tokens
        if message.startswith(_EOF_ERRORS):
            last = toks[-1]
            return src.error(f"Cedar syntax error: {message} (a policy ends with ';')", last.end)
        lo, hi = 0, len(toks) - 1  # invariant: the prefix ending at toks[hi] fails
        while lo < hi:
            mid = (lo + hi) // 2
            found = parse(src.text[stmt.span_start : toks[mid].end])
            if found is not None and not found.startswith(_EOF_ERRORS):
                hi = mid
            else:
                lo = mid + 1
        offset = toks[hi].start
        named = re.search(r"`([^`]+)`", message)
        if message.startswith(_TOKEN_ERRORS) and named:
            # Cedar may only reject a token once it has seen the next one: step back to it.
            offset = next((t.start for t in reversed(toks[: hi + 1]) if t.text == named[1]), offset)
        elif not message.startswith(_TOKEN_ERRORS):  # rejected after parsing a clause
            offset = _post_parse_offset(src.text, stmt, message, default=offset)
        return src.error(f"Cedar syntax error: {message}", offset)
    end = max(len(src.text) - 1, 0)
    return src.error("Cedar syntax error: the policy set could not be parsed", end)


def _post_parse_offset(text: str, stmt: Statement, message: str, *, default: int) -> int:
    """Errors Cedar raises after parsing a clause name no token: find the construct they mean."""
    if message.startswith("integer parse error"):
        for tok in stmt.tokens:
            if tok.kind == "int" and int(tok.text) > _I64_MAX:
                return tok.start
    return fragment_offset(text, stmt, message, default=default)


def fragment_offset(text: str, stmt: Statement, message: str, *, default: int) -> int:
    for m in _FRAGMENT_RE.finditer(message):
        fragment = m.group(1) or m.group(2) or ""
        for candidate in (fragment, fragment.rsplit(".", 1)[-1], fragment.rsplit("::", 1)[-1]):
            if not candidate:
                continue
            found = text.find(candidate, stmt.span_start, stmt.span_end)
            if found >= 0:
                return found
    return default
