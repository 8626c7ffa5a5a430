"""Frozen AST of an SQRT policy; every node carries the span of its source text (spec sqrt 3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "Span", "Field", "AssignOp", "SetOpName", "CompareOp", "Phase",
    "StringLit", "RegexLit", "WildcardLit", "NumberLit", "DatetimeLit", "BoolLit",
    "Range", "BoolDomain", "IntDomain", "FloatDomain", "StrDomain", "DatetimeDomain", "Domain",
    "Element", "SetLiteral", "NameRef", "MetaRef", "ValueRef", "Const", "SetOp", "WithOp",
    "Paren", "Compare", "Not", "And", "Or", "Expr",
    "Target", "Update", "WhenGroup", "Stmt", "Priority", "CheckRule", "ResultBlock",
    "SessionBlock", "Member", "ToolId", "Let", "ToolBlock", "ToolShorthand", "Declaration",
    "Program",
]

Field = Literal["producers", "consumers", "tags"]
AssignOp = Literal["=", "|=", "&=", "-=", "^="]
SetOpName = Literal["|", "&", "-", "^"]
CompareOp = Literal["in", "==", "overlaps", "subset", "superset", "is_empty", "is_universal"]
Phase = Literal["before", "result", "after"]


@dataclass(frozen=True, slots=True)
class Span:
    """1-based line/column of the first and last character; `start`/`end` are text offsets."""

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int

    def text(self, source: str) -> str:
        return source[self.start : self.end]


# --- literals and domains -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StringLit:
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class RegexLit:
    pattern: str
    span: Span


@dataclass(frozen=True, slots=True)
class WildcardLit:
    pattern: str
    span: Span


@dataclass(frozen=True, slots=True)
class NumberLit:
    value: int | float  # `inf` is math.inf
    span: Span


@dataclass(frozen=True, slots=True)
class DatetimeLit:
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Range:
    """A numeric or datetime range; a missing bound is unbounded."""

    low: NumberLit | DatetimeLit | StringLit | None
    high: NumberLit | DatetimeLit | StringLit | None
    low_open: bool
    high_open: bool
    span: Span


@dataclass(frozen=True, slots=True)
class BoolDomain:
    value: bool
    span: Span


@dataclass(frozen=True, slots=True)
class IntDomain:
    range: Range
    span: Span


@dataclass(frozen=True, slots=True)
class FloatDomain:
    range: Range
    span: Span


@dataclass(frozen=True, slots=True)
class StrDomain:
    pattern: StringLit | RegexLit | WildcardLit
    length: Range | None
    span: Span


@dataclass(frozen=True, slots=True)
class DatetimeDomain:
    """`datetime d"a"..d"b"` and friends; `datetime "text"`/`datetime N` are point ranges."""

    range: Range
    span: Span


Domain: TypeAlias = BoolDomain | IntDomain | FloatDomain | StrDomain | DatetimeDomain
Element: TypeAlias = StringLit | RegexLit | WildcardLit | NumberLit | Domain

# --- expressions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetLiteral:
    elements: tuple[Element, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class NameRef:
    """A `let` name (or the constants `true`/`false` in predicate position)."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class MetaRef:
    """A metadata set: `x.F` (arg), `@result.F`, `@session.F`, `@F` (ctx), `@args.F[.agg]`."""

    scope: Literal["arg", "result", "session", "ctx", "args"]
    field: Field
    span: Span
    name: str | None = None
    agg: Literal["union", "intersect"] = "union"


@dataclass(frozen=True, slots=True)
class ValueRef:
    """`x.value`, `@result.value` or `@session.value`."""

    scope: Literal["arg", "result", "session"]
    span: Span
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Const:
    """A literal operand: string, datetime, number or boolean."""

    literal: StringLit | DatetimeLit | NumberLit | BoolLit
    span: Span


@dataclass(frozen=True, slots=True)
class SetOp:
    """A left-associative chain of one set operator: `a | b | c`."""

    op: SetOpName
    operands: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class WithOp:
    """`base with e1 without e2 ...`."""

    base: Expr
    steps: tuple[tuple[Literal["with", "without"], Element], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Paren:
    inner: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Compare:
    """A comparison; `right` is None for `is empty` / `is universal`."""

    op: CompareOp
    left: Expr
    right: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]
    span: Span


Expr: TypeAlias = (
    SetLiteral | NameRef | MetaRef | ValueRef | Const | SetOp | WithOp | Paren | Compare | Not | And | Or
)

# --- statements and declarations -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """An update target: `@F` (ctx), `@result.F`, `@session.F` or `x.F` (arg, a load error)."""

    scope: Literal["ctx", "result", "session", "arg"]
    field: Field
    span: Span
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Update:
    target: Target
    op: AssignOp
    value: Expr
    span: Span
    doc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WhenGroup:
    condition: Expr
    updates: tuple[Update, ...]
    span: Span
    doc: tuple[str, ...] = ()


Stmt: TypeAlias = Update | WhenGroup


@dataclass(frozen=True, slots=True)
class Priority:
    value: int
    span: Span
    doc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckRule:
    """`LEVEL EFFECT TRIGGER;` — `trigger` None means `always`."""

    level: Literal["hard", "soft"]
    effect: Literal["allow", "deny"]
    trigger: Expr | None
    span: Span
    doc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResultBlock:
    stmts: tuple[Stmt, ...]
    span: Span
    doc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionBlock:
    phase: Literal["before", "after"]
    stmts: tuple[Stmt, ...]
    span: Span
    doc: tuple[str, ...] = ()


Member: TypeAlias = Priority | CheckRule | ResultBlock | SessionBlock


@dataclass(frozen=True, slots=True)
class ToolId:
    pattern: str
    is_regex: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    body: Expr | Domain
    span: Span
    doc: tuple[str, ...] = ()
    name_span: Span | None = None


@dataclass(frozen=True, slots=True)
class ToolBlock:
    tool: ToolId
    members: tuple[Member, ...]
    span: Span
    doc: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolShorthand:
    """`tool ID [N] -> PHASE @F op E when P;` (spec sqrt 10: a one-statement block)."""

    tool: ToolId
    priority: int
    phase: Phase
    update: Update
    condition: Expr | None
    span: Span
    doc: tuple[str, ...] = ()


Declaration: TypeAlias = Let | ToolBlock | ToolShorthand


@dataclass(frozen=True, slots=True)
class Program:
    declarations: tuple[Declaration, ...]
    source: str
