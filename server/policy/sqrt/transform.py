"""Builds the frozen AST from lark callbacks during LALR parsing (no intermediate parse tree)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from lark import Token, Transformer

from server.policy.sqrt import ast as A

__all__ = ["AstBuilder", "unescape_string", "unescape_raw", "span_of"]

_STRING_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_ESCAPE = re.compile(r"\\([\s\S])")
_LEVELS = {"must": "hard", "hard": "hard", "should": "soft", "soft": "soft"}
_SET_OPS = {"|": "|", "union": "|", "&": "&", "intersect": "&", "-": "-", "minus": "-",
            "^": "^", "xor": "^"}
_SET_RANK = {"|": 1, "&": 2, "-": 3, "^": 4}  # lower binds tighter
_RANGE_OPEN = {"..": (False, False), "<..": (True, False), "..<": (False, True),
               "<..<": (True, True)}


def unescape_string(body: str) -> str:
    r"""Unescape a `"..."` body: `\\ \" \n \t \r`; any other `\c` keeps both characters."""
    return _ESCAPE.sub(lambda m: _STRING_ESCAPES.get(m.group(1), m.group(0)), body)


def unescape_raw(body: str) -> str:
    r"""Unescape an `r"..."`/`w"..."`/`d"..."` body: only `\\` and `\"` (spec sqrt 2.3)."""
    return _ESCAPE.sub(lambda m: m.group(1) if m.group(1) in '\\"' else m.group(0), body)


def _first(item: Any) -> tuple[int, int, int] | None:
    if isinstance(item, Token):
        return item.line or 0, item.column or 0, item.start_pos or 0
    span = getattr(item, "span", None)
    return (span.line, span.column, span.start) if span is not None else None


def _last(item: Any) -> tuple[int, int, int] | None:
    if isinstance(item, Token):
        return item.end_line or 0, item.end_column or 0, item.end_pos or 0
    span = getattr(item, "span", None)
    return (span.end_line, span.end_column, span.end) if span is not None else None


def span_of(items: Sequence[Any]) -> A.Span:
    """The span from the first to the last positioned item (tokens or AST nodes)."""
    first, last = items[0], items[-1]
    start = _first(first) if first is not None else None
    end = _last(last) if last is not None else None
    if start is None:  # rare: a leading item without position (a tagged shorthand part)
        start = next(p for p in map(_first, items) if p is not None)
    if end is None:
        end = next(p for p in map(_last, reversed(items)) if p is not None)
    return A.Span(start[0], start[1], end[0], end[1], start[2], end[2])


def _doc_lines(items: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(t).lstrip("/").strip() for t in items if isinstance(t, Token) and t.type == "DOC")


def _nodes(items: Sequence[Any]) -> list[Any]:
    return [c for c in items if not isinstance(c, Token)]


class _Tagged:
    """A tool-shorthand part (`[N]`, phase or `when P`) on its way to `tool_short`."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: Any) -> None:
        self.kind, self.value = kind, value


class AstBuilder(Transformer[Token, Any]):
    """Lark callbacks, one per grammar rule or alias; stateless, so one instance serves all parses."""

    # --- declarations ---------------------------------------------------------------------

    def program(self, c: list[Any]) -> tuple[A.Declaration, ...]:
        return tuple(c)

    def docdecl(self, c: list[Any]) -> A.Declaration:
        decl: A.Declaration = c[-1]
        docs = _doc_lines(c[:-1])
        return replace(decl, doc=docs) if docs else decl

    def let_decl(self, c: list[Any]) -> A.Let:
        name: Token = c[1]
        return A.Let(str(name), c[3], span_of(c), name_span=span_of([name]))

    def toolid(self, c: list[Any]) -> A.ToolId:
        tok: Token = c[0]
        if tok.type == "REGEX":
            return A.ToolId(unescape_raw(tok[2:-1]), True, span_of(c))
        return A.ToolId(unescape_string(tok[1:-1]), False, span_of(c))

    def tool_block(self, c: list[Any]) -> A.ToolBlock:
        return A.ToolBlock(c[1], tuple(_nodes(c[2:])), span_of(c))

    def docmember(self, c: list[Any]) -> A.Member:
        return self.docdecl(c)  # type: ignore[return-value]

    def docstmt(self, c: list[Any]) -> A.Stmt:
        return self.docdecl(c)  # type: ignore[return-value]

    def priority_member(self, c: list[Any]) -> A.Priority:
        return A.Priority(int(c[1]), span_of(c))

    def level(self, c: list[Token]) -> Token:
        return c[0]

    effect = level
    block_phase = level
    assign = level
    agg = level

    def trigger(self, c: list[Any]) -> Any:
        return c[1] if len(c) == 2 else None

    def check_rule(self, c: list[Any]) -> A.CheckRule:
        level, effect = str(c[0]), str(c[1])
        return A.CheckRule(_LEVELS[level], effect, c[2], span_of(c))  # type: ignore[arg-type]

    def result_block(self, c: list[Any]) -> A.ResultBlock:
        return A.ResultBlock(tuple(_nodes(c)), span_of(c))

    def session_block(self, c: list[Any]) -> A.SessionBlock:
        return A.SessionBlock(str(c[1]), tuple(_nodes(c[2:])), span_of(c))  # type: ignore[arg-type]

    def stmt(self, c: list[Any]) -> A.Stmt:
        return c[0]  # type: ignore[no-any-return]

    def when_group(self, c: list[Any]) -> A.WhenGroup:
        return A.WhenGroup(c[1], tuple(_nodes(c[2:])), span_of(c))

    def update(self, c: list[Any]) -> A.Update:
        return A.Update(c[0], str(c[1]), c[2], span_of(c))  # type: ignore[arg-type]

    def target_ctx(self, c: list[Token]) -> A.Target:
        return A.Target("ctx", str(c[-1]), span_of(c))  # type: ignore[arg-type]

    def target_result(self, c: list[Token]) -> A.Target:
        return A.Target("result", str(c[-1]), span_of(c))  # type: ignore[arg-type]

    def target_session(self, c: list[Token]) -> A.Target:
        return A.Target("session", str(c[-1]), span_of(c))  # type: ignore[arg-type]

    def target_arg(self, c: list[Token]) -> A.Target:
        return A.Target("arg", str(c[-1]), span_of(c), name=str(c[0]))  # type: ignore[arg-type]

    def short_priority(self, c: list[Token]) -> _Tagged:
        return _Tagged("priority", int(c[1]))

    def short_phase(self, c: list[Token]) -> _Tagged:
        words = [str(t) for t in c]
        phase = "result" if words == ["result"] else ("before" if words[-1] == "before" else "after")
        return _Tagged("phase", phase)

    def short_when(self, c: list[Any]) -> _Tagged:
        return _Tagged("when", c[1])

    def tool_short(self, c: list[Any]) -> A.ToolShorthand:
        tags = {x.kind: x.value for x in c if isinstance(x, _Tagged)}
        at = next(i for i, x in enumerate(c) if isinstance(x, Token) and x == "@")
        target = A.Target("ctx", str(c[at + 1]), span_of(c[at : at + 2]))  # type: ignore[arg-type]
        update = A.Update(target, str(c[at + 2]), c[at + 3], span_of(c[at : at + 4]))  # type: ignore[arg-type]
        return A.ToolShorthand(
            c[1], tags.get("priority", 0), tags.get("phase", "result"), update,
            tags.get("when"), span_of(c),
        )

    # --- predicates -------------------------------------------------------------------------

    def logic_chain(self, c: list[Any]) -> A.Expr:
        """`a and b or c ...`: `and` binds tighter than `or` (spec 3.1)."""
        groups: list[list[Any]] = [[c[0]]]
        for op, operand in zip(c[1::2], c[2::2], strict=True):
            if op == "or":
                groups.append([operand])
            else:
                groups[-1].append(operand)
        terms = [g[0] if len(g) == 1 else A.And(tuple(g), span_of(g)) for g in groups]
        return terms[0] if len(terms) == 1 else A.Or(tuple(terms), span_of(c))

    def not_(self, c: list[Any]) -> A.Not:
        return A.Not(c[1], span_of(c))

    def _cmp(self, op: A.CompareOp, c: list[Any], right: Any) -> A.Compare:
        return A.Compare(op, c[0], right, span_of(c))

    def cmp_in(self, c: list[Any]) -> A.Compare:
        return self._cmp("in", c, c[2])

    def cmp_eq(self, c: list[Any]) -> A.Compare:
        return self._cmp("==", c, c[2])

    def cmp_overlaps(self, c: list[Any]) -> A.Compare:
        return self._cmp("overlaps", c, c[2])

    def cmp_subset(self, c: list[Any]) -> A.Compare:
        return self._cmp("subset", c, c[3])

    def cmp_superset(self, c: list[Any]) -> A.Compare:
        return self._cmp("superset", c, c[3])

    def cmp_empty(self, c: list[Any]) -> A.Compare:
        return self._cmp("is_empty", c, None)

    def cmp_universal(self, c: list[Any]) -> A.Compare:
        return self._cmp("is_universal", c, None)

    # --- set expressions --------------------------------------------------------------------

    def set_chain(self, c: list[Any]) -> A.Expr:
        """`a | b & c - d ^ e`: precedence `|` > `&` > `-` > `^`, all left-associative."""
        operands: list[Any] = [c[0]]
        ops: list[str] = []
        for tok, operand in zip(c[1::2], c[2::2], strict=True):
            op = _SET_OPS[str(tok)]
            while ops and _SET_RANK[ops[-1]] <= _SET_RANK[op]:
                _reduce(operands, ops.pop())
            ops.append(op)
            operands.append(operand)
        while ops:
            _reduce(operands, ops.pop())
        return operands[0]  # type: ignore[no-any-return]

    def set_with(self, c: list[Any]) -> A.WithOp:
        left = c[0]
        step = (str(c[1]), c[2])
        if isinstance(left, A.WithOp):
            return A.WithOp(left.base, (*left.steps, step), span_of(c))  # type: ignore[arg-type]
        return A.WithOp(left, (step,), span_of(c))  # type: ignore[arg-type]

    def set_literal(self, c: list[Any]) -> A.SetLiteral:
        return A.SetLiteral(tuple(_nodes(c)), span_of(c))

    def name_ref(self, c: list[Token]) -> A.NameRef:
        return A.NameRef(str(c[0]), span_of(c))

    def paren(self, c: list[Any]) -> A.Paren:
        return A.Paren(c[1], span_of(c))

    def arg_meta(self, c: list[Token]) -> A.MetaRef:
        return A.MetaRef("arg", str(c[2]), span_of(c), name=str(c[0]))  # type: ignore[arg-type]

    def result_meta(self, c: list[Token]) -> A.MetaRef:
        return A.MetaRef("result", str(c[2]), span_of(c))  # type: ignore[arg-type]

    def session_meta(self, c: list[Token]) -> A.MetaRef:
        return A.MetaRef("session", str(c[2]), span_of(c))  # type: ignore[arg-type]

    def ctx_meta(self, c: list[Token]) -> A.MetaRef:
        return A.MetaRef("ctx", str(c[1]), span_of(c))  # type: ignore[arg-type]

    def args_meta(self, c: list[Token]) -> A.MetaRef:
        agg = str(c[4]) if len(c) == 5 else "union"
        return A.MetaRef("args", str(c[2]), span_of(c), agg=agg)  # type: ignore[arg-type]

    def agg_meta(self, c: list[Token]) -> A.MetaRef:
        return A.MetaRef("args", str(c[2]), span_of(c), agg=str(c[0]))  # type: ignore[arg-type]

    def arg_value(self, c: list[Token]) -> A.ValueRef:
        return A.ValueRef("arg", span_of(c), name=str(c[0]))

    def result_value(self, c: list[Token]) -> A.ValueRef:
        return A.ValueRef("result", span_of(c))

    def session_value(self, c: list[Token]) -> A.ValueRef:
        return A.ValueRef("session", span_of(c))

    def string_const(self, c: list[Token]) -> A.Const:
        lit = self.string_elem(c)
        return A.Const(lit, lit.span)

    def datetime_const(self, c: list[Token]) -> A.Const:
        lit = _bound(c[0])
        return A.Const(lit, lit.span)

    def number_const(self, c: list[A.NumberLit]) -> A.Const:
        return A.Const(c[0], c[0].span)

    def bool_const(self, c: list[Token]) -> A.Const:
        return A.Const(A.BoolLit(c[0] == "true", span_of(c)), span_of(c))

    # --- elements and domains ---------------------------------------------------------------

    def string_elem(self, c: list[Token]) -> A.StringLit:
        return A.StringLit(unescape_string(c[0][1:-1]), span_of(c))

    def regex_elem(self, c: list[Token]) -> A.RegexLit:
        return A.RegexLit(unescape_raw(c[0][2:-1]), span_of(c))

    def wildcard_elem(self, c: list[Token]) -> A.WildcardLit:
        return A.WildcardLit(unescape_raw(c[0][2:-1]), span_of(c))

    def number_elem(self, c: list[A.NumberLit]) -> A.NumberLit:
        return c[0]

    def number(self, c: list[Token]) -> A.NumberLit:
        tok = c[0]
        if tok.type == "INF":
            value: int | float = -math.inf if tok.startswith("-") else math.inf
        elif tok.type == "FLOAT":
            value = float(tok)
        else:
            value = int(tok)
        return A.NumberLit(value, span_of(c))

    def dom_bool(self, c: list[Token]) -> A.BoolDomain:
        return A.BoolDomain(c[1] == "true", span_of(c))

    def dom_int(self, c: list[Any]) -> A.IntDomain:
        return A.IntDomain(c[1], span_of(c))

    def dom_float(self, c: list[Any]) -> A.FloatDomain:
        return A.FloatDomain(c[1], span_of(c))

    def dom_str(self, c: list[Any]) -> A.StrDomain:
        return A.StrDomain(c[1], c[3] if len(c) == 4 else None, span_of(c))

    def dom_datetime(self, c: list[Any]) -> A.DatetimeDomain:
        return A.DatetimeDomain(c[1], span_of(c))

    def strspec(self, c: list[Token]) -> A.StringLit | A.RegexLit | A.WildcardLit:
        tok = c[-1]
        if tok.type == "REGEX":
            return self.regex_elem([tok])
        if tok.type == "WILDCARD":
            return self.wildcard_elem([tok])
        return self.string_elem([tok])

    def range_point(self, c: list[Any]) -> A.Range:
        b = _bound(c[0])
        return A.Range(b, b, False, False, span_of(c))

    def range_closed(self, c: list[Any]) -> A.Range:
        lo_open, hi_open = _RANGE_OPEN[str(c[1])]
        return A.Range(_bound(c[0]), _bound(c[2]), lo_open, hi_open, span_of(c))

    def range_upto(self, c: list[Any]) -> A.Range:
        return A.Range(None, _bound(c[1]), False, str(c[0]) == "..<", span_of(c))

    def range_from(self, c: list[Any]) -> A.Range:
        return A.Range(_bound(c[0]), None, str(c[1]) == "<..", False, span_of(c))

    def dt_text(self, c: list[Token]) -> A.Range:
        b = self.string_elem(c)
        return A.Range(b, b, False, False, span_of(c))

    dt_epoch = range_point


def _reduce(operands: list[Any], op: str) -> None:
    """Replace the two topmost operands by `left op right`, flattening chains of one operator."""
    right = operands.pop()
    left = operands.pop()
    parts = left.operands if isinstance(left, A.SetOp) and left.op == op else (left,)
    operands.append(A.SetOp(op, (*parts, right), span_of([left, right])))  # type: ignore[arg-type]


def _bound(item: Any) -> A.NumberLit | A.DatetimeLit:
    if isinstance(item, Token):  # a DATETIME terminal
        return A.DatetimeLit(unescape_raw(item[2:-1]), span_of([item]))
    return item  # type: ignore[no-any-return]
