"""Infer, from how a policy uses them, the Cedar types of argument values for schema validation.

Argument values are JSON of any shape, but a Cedar schema must give `context.x.value` one type.
We read it off the policy: `context.x.value == "a"` makes it a String, `< 5` a Long, `like` a
String, `.contains(e)` a Set, `.lessThan(decimal(..))` a decimal, `.f` a Record with field f,
a condition position a Boolean. Uses that say nothing (`context.x.value == context.y.value`)
leave String. The result only serves load-time validation; requests are never checked against
it, because a call's actual values may have any type (a mismatch is an evaluation error, which
the engine treats fail-closed).

Types are Cedar JSON-schema type objects; `None` means "not known yet".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cedarpy import pst

from server.policy.cedar.mapping import SESSION_KEY

__all__ = ["ArgTypes", "CedarType", "finalize", "infer_arg_types", "merge_types"]

CedarType = dict[str, Any]
ArgTypes = dict[str, CedarType | None]
"""Argument name -> inferred type of its `value` (None: unconstrained)."""

STRING: CedarType = {"type": "String"}
LONG: CedarType = {"type": "Long"}
BOOL: CedarType = {"type": "Boolean"}
_EXT_RESULT = {"decimal": "decimal", "ip": "ipaddr", "datetime": "datetime", "duration": "duration"}
_COMPARE = frozenset({"less", "less_eq", "greater", "greater_eq"})
_ARITH = frozenset({"add", "sub", "mul"})
_DECIMAL_OPS = frozenset(
    {"decimal_less_than", "decimal_less_eq", "decimal_greater", "decimal_greater_eq"}
)


class Conflict(Exception):
    """Two uses give one path incompatible types."""


def merge_types(a: CedarType | None, b: CedarType | None) -> CedarType | None:
    """The common refinement of two inferred types; raises Conflict when there is none."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if a["type"] != b["type"] or a.get("name") != b.get("name"):
        raise Conflict
    if a["type"] == "Set":
        return {"type": "Set", "element": merge_types(a.get("element"), b.get("element"))}
    if a["type"] == "Record":
        attrs = dict(a["attributes"])
        for key, value in b["attributes"].items():
            attrs[key] = merge_types(attrs.get(key), value)
        return {"type": "Record", "attributes": attrs}
    raise Conflict


def finalize(t: CedarType | None) -> CedarType:
    """Replace unknown parts by String, giving a complete schema type."""
    if t is None:
        return dict(STRING)
    if t["type"] == "Set":
        return {"type": "Set", "element": finalize(t.get("element"))}
    if t["type"] == "Record":
        return {
            "type": "Record",
            "attributes": {k: finalize(v) for k, v in t["attributes"].items()},
        }
    return t


def _literal_type(e: pst.Expr) -> CedarType | None:
    """The type of an expression when it is evident without the schema."""
    match e:
        case pst.StringLit():
            return STRING
        case pst.LongLit():
            return LONG
        case pst.BoolLit():
            return BOOL
        case pst.Set(elements=elements):
            elem: CedarType | None = None
            for item in elements:
                elem = elem or _literal_type(item)
            return {"type": "Set", "element": elem}
        case pst.UnaryOp(op=op) if op in _EXT_RESULT:
            return {"type": "Extension", "name": _EXT_RESULT[op]}
        case pst.UnaryOp(op="neg"):
            return LONG
        case pst.Like() | pst.HasAttr() | pst.Is():
            return BOOL
        case pst.BinaryOp(op=op) if op in _ARITH:
            return LONG
        case pst.BinaryOp(op=op) if op not in ("get_tag", "offset"):
            return BOOL
    return None


def _value_path(e: pst.Expr) -> tuple[str, tuple[str, ...]] | None:
    """`context.x.value.f.g` -> ("x", ("f", "g")); None for anything else."""
    attrs: list[str] = []
    while isinstance(e, pst.GetAttr):
        attrs.append(e.attr)
        e = e.base
    if not (isinstance(e, pst.Var) and e.name == "context") or len(attrs) < 2:
        return None
    attrs.reverse()
    if attrs[0] == SESSION_KEY or attrs[1] != "value":
        return None
    return attrs[0], tuple(attrs[2:])


def _uses(e: pst.Expr, expected: CedarType | None) -> Iterator[tuple[pst.Expr, CedarType | None]]:
    """(child, type the parent expects of it) for the children of e."""
    match e:
        case pst.BinaryOp(op=op, left=left, right=right):
            if op in ("eq", "not_eq"):
                yield left, _literal_type(right)
                yield right, _literal_type(left)
            elif op in _COMPARE or op in _ARITH:
                other_l, other_r = _literal_type(right), _literal_type(left)
                yield left, other_l if other_l and other_l["type"] == "Extension" else LONG
                yield right, other_r if other_r and other_r["type"] == "Extension" else LONG
            elif op in ("and", "or"):
                yield left, BOOL
                yield right, BOOL
            elif op == "contains":
                yield left, {"type": "Set", "element": _literal_type(right)}
                lt = _literal_type(left)
                yield right, lt.get("element") if lt else None
            elif op in ("contains_all", "contains_any"):
                yield left, _literal_type(right) or {"type": "Set", "element": None}
                yield right, _literal_type(left) or {"type": "Set", "element": None}
            elif op in _DECIMAL_OPS:
                yield left, {"type": "Extension", "name": "decimal"}
                yield right, {"type": "Extension", "name": "decimal"}
            else:
                yield left, None
                yield right, None
        case pst.UnaryOp(op=op, arg=arg):
            yield arg, BOOL if op == "not" else LONG if op == "neg" else None
        case pst.GetAttr(base=base, attr=attr):
            yield base, {"type": "Record", "attributes": {attr: expected}}
        case pst.HasAttr(base=base, attrs=attrs):
            yield base, {"type": "Record", "attributes": {attrs[0]: None}}
        case pst.Like(base=base):
            yield base, STRING
        case pst.Is(base=base, in_expr=in_expr):
            yield base, None
            if in_expr is not None:
                yield in_expr, None
        case pst.IfThenElse(cond=cond, then_expr=then_expr, else_expr=else_expr):
            yield cond, BOOL
            yield then_expr, expected
            yield else_expr, expected
        case pst.Set(elements=elements):
            for item in elements:
                yield item, None
        case pst.Record(fields=fields):
            for item in fields.values():
                yield item, None


def _wrap(path: tuple[str, ...], t: CedarType | None) -> CedarType | None:
    for attr in reversed(path):
        t = {"type": "Record", "attributes": {attr: t}}
    return t


def infer_arg_types(policy: pst.Template) -> tuple[ArgTypes, frozenset[str]]:
    """(value types, every argument name the policy mentions) for one policy.

    A conflict inside one policy is left to the validator, which reports it with Cedar's words.
    """
    types: ArgTypes = {}
    mentioned: set[str] = set()
    stack: list[tuple[pst.Expr, CedarType | None]] = [
        (clause.expr, BOOL) for clause in policy.clauses
    ]
    while stack:  # explicit stack: depth is bounded by Cedar (100), but recursion is not needed
        expr, expected = stack.pop()
        if (
            isinstance(expr, pst.GetAttr | pst.HasAttr)
            and isinstance(expr.base, pst.Var)
            and expr.base.name == "context"
        ):
            names = [expr.attr] if isinstance(expr, pst.GetAttr) else list(expr.attrs[:1])
            mentioned.update(n for n in names if n != SESSION_KEY)
        path = _value_path(expr)
        if path is not None:
            name, rest = path
            mentioned.add(name)
            try:
                types[name] = merge_types(types.get(name), _wrap(rest, expected))
            except Conflict:
                pass
            if isinstance(expr, pst.GetAttr) and not rest:
                continue
        stack.extend(_uses(expr, expected))
    return types, frozenset(mentioned)
