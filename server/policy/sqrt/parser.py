"""Parses SQRT text into the frozen AST, translating lark errors into `PolicyLoadError`s with spans."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from server.policy.errors import PolicyLoadError
from server.policy.sqrt import ast as A
from server.policy.sqrt.limits import DEFAULT_LIMITS, Limits
from server.policy.sqrt.spans import source_line
from server.policy.sqrt.syntax import check_syntax
from server.policy.sqrt.transform import AstBuilder

__all__ = ["parse"]

_GRAMMAR = Path(__file__).with_name("grammar.lark")

# How a terminal is named in "expected ..." messages; string terminals show their text.
_TERMINAL_NAMES = {
    "NAME": "a name", "STRING": 'a string "..."', "REGEX": 'a regex r"..."',
    "WILDCARD": 'a wildcard w"..."', "DATETIME": 'a datetime d"..."', "INT": "an integer",
    "FLOAT": "a number", "INF": "inf", "FIELD": "tags, producers or consumers",
    "BOOL": "true or false", "DOC": "a '///' doc comment", "$END": "end of text",
}
# The construct an error sits in, from the nearest keyword on the parser's stack.
_CONTEXTS = {
    "must": "check rule", "hard": "check rule", "should": "check rule", "soft": "check rule",
    "let": "let definition", "priority": "priority member", "result": "result block",
    "session": "session block", "when": "when condition", "tool": "tool declaration",
}
_DOMAIN_WORDS = frozenset({"bool", "int", "float", "str", "datetime"})


@functools.cache
def _lark() -> Lark:
    """The LALR parser, built once per process (table construction is the slow part)."""
    return Lark(
        _GRAMMAR.read_text(encoding="utf-8"),
        start="program",
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        maybe_placeholders=False,
        transformer=AstBuilder(),
    )


def parse(text: str, *, limits: Limits = DEFAULT_LIMITS) -> A.Program:
    """Parse SQRT text; raises `PolicyLoadError` with line and column on a syntax error.

    >>> parse('tool "t" { hard deny always; }').declarations[0].tool.pattern
    't'
    """
    if len(text) > limits.max_policy_chars:
        raise PolicyLoadError(
            f"policy text is {len(text)} characters long; at most {limits.max_policy_chars} allowed"
        )
    try:
        decls: Any = _lark().parse(text)  # the transformer returns a tuple of declarations
    except UnexpectedInput as err:
        raise _translate(text, err) from None
    program = A.Program(decls, text)
    check_syntax(program, limits=limits)
    return program


def _at(text: str, message: str, line: int, column: int) -> PolicyLoadError:
    return PolicyLoadError(message, line=line, column=column, source_line=source_line(text, line))


def _translate(text: str, err: UnexpectedInput) -> PolicyLoadError:
    if isinstance(err, UnexpectedCharacters):
        return _at(text, _bad_character(text, err.pos_in_stream or 0), err.line, err.column)
    if isinstance(err, UnexpectedToken):
        return _unexpected_token(text, err)
    if isinstance(err, UnexpectedEOF):  # pragma: no cover - LALR reports $END as UnexpectedToken
        lines = text.splitlines() or [""]
        return _at(text, "unexpected end of text", len(lines), len(lines[-1]) + 1)
    raise err  # pragma: no cover


def _bad_character(text: str, pos: int) -> str:
    rest = text[pos:]
    if rest.startswith("/*"):
        return "unterminated block comment: '/*' has no closing '*/'"
    if rest[:1] == '"' or rest[:2] in ('r"', 'w"', 'd"'):
        return "unterminated string literal: no closing '\"' before the end of text"
    if rest[:2] in ("+ ", "+\t") or rest[:1] == "+":
        return "unexpected '+': only '+inf' may carry a '+' sign"
    char = rest[:1]
    return f"unexpected character {char!r}"


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "end of text"
    if tok.type == "DOC":
        return "a '///' doc comment"
    return repr(str(tok))


def _expected(err: UnexpectedToken) -> list[str]:
    names = set()
    for term in err.expected:
        if term in _TERMINAL_NAMES:
            names.add(_TERMINAL_NAMES[term])
            continue
        try:
            pattern: Any = _lark().get_terminal(term).pattern
        except KeyError:
            names.add(term)
            continue
        names.add(f"'{pattern.value}'" if pattern.type == "str" else term)
    return sorted(names)


def _stack(err: UnexpectedToken) -> list[Any]:
    parser = getattr(err, "interactive_parser", None)
    return list(getattr(getattr(parser, "parser_state", None), "value_stack", None) or [])


def _context(stack: list[Any]) -> str | None:
    found: list[str] = []
    for item in reversed(stack):
        if isinstance(item, Token) and item.type != "NAME" and str(item) in _CONTEXTS:
            found.append(str(item))
            if found[0] != "when" or len(found) == 2:
                break
    if not found:
        return None
    if found[0] == "when" and len(found) == 2 and found[1] in ("tool", "must", "hard", "should",
                                                                  "soft"):
        return _CONTEXTS[found[1]]
    return _CONTEXTS[found[0]]


def _unexpected_token(text: str, err: UnexpectedToken) -> PolicyLoadError:
    tok: Token = err.token
    line, column = err.line, err.column
    if tok.type == "$END":
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    if tok.type == "DOC":
        return _at(text, "a '///' doc comment is not allowed here: it must directly precede a "
                   "declaration, a tool-block member or a statement (use '//' for a plain comment)",
                   line, column)
    stack = _stack(err)
    if stack and isinstance(stack[-1], Token) and stack[-1].type == "DOC":
        last = stack[-1]
        return _at(text, f"a '///' doc comment followed by {_describe(tok)} documents nothing; it "
                   "must directly precede a declaration, a tool-block member or a statement "
                   "(use '//' for a plain comment)", last.line or line, last.column or column)
    top = stack[-1] if stack else None
    if isinstance(top, Token) and top.type == "NAME" and str(top) in _DOMAIN_WORDS:
        return _at(text, f"a type domain appears only as a let body or a set element: write "
                   f"`{{{top} ...}}` or `let NAME = {top} ...;`", top.line or line,
                   top.column or column)
    expected = _expected(err)
    context = _context(stack)
    where = f" in {context}" if context else ""
    if "';'" in expected:
        after = f" after {context}" if context else ""
        return _at(text, f"expected ';'{after} (found {_describe(tok)})", line, column)
    hint = ""
    if tok.type == "NAME" and "a name" not in expected and any("string" in e for e in expected):
        hint = " (a let name is not a set element: test `x.value in NAME` instead)"
    shown = ", ".join(expected[:12]) + (", ..." if len(expected) > 12 else "")
    return _at(text, f"unexpected {_describe(tok)}{where}; expected {shown}{hint}", line, column)
