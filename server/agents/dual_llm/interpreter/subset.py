"""`check_program`: syntax and subset errors, found before anything runs (spec dual-llm 3.2, 4).

Every finding names the construct, where it is, and what to write instead. The walk is iterative,
so a deeply nested program cannot exhaust the stack while being checked.
"""

from __future__ import annotations

import ast
from typing import Final

from server.agents.dual_llm.interpreter.errors import EXCEPTION_PARENTS, SubsetError
from server.agents.dual_llm.interpreter.limits import Limits
from server.agents.dual_llm.interpreter.modules import MODULES

__all__ = ["check_program", "parse_program"]

_ALLOWED_MODULES = ", ".join(sorted(MODULES))

# Rejected node types: (construct, message naming the alternative).
REJECTED: Final[dict[type[ast.AST], tuple[str, str]]] = {
    ast.While: ("while", "`while` loops are not allowed; use `for` over `range(...)`"),
    ast.FunctionDef: ("def", "`def` is not allowed; write the steps inline (or use a loop)"),
    ast.AsyncFunctionDef: ("async", "`async def` is not allowed; write the steps inline"),
    ast.Lambda: ("lambda", "`lambda` is not allowed; use a comprehension or a `for` loop"),
    ast.ClassDef: ("class", "`class` is not allowed; use dicts for records"),
    ast.With: ("with", "`with` is not allowed; there are no files or resources: call tools directly"),
    ast.AsyncWith: ("async", "`async with` is not allowed; call tools directly"),
    ast.AsyncFor: ("async", "`async for` is not allowed; use a plain `for` loop"),
    ast.Await: ("await", "`await` is not allowed; tools are called synchronously"),
    ast.Global: ("global", "`global` is not allowed; every name is already global in the program"),
    ast.Nonlocal: ("nonlocal", "`nonlocal` is not allowed; assign the variable directly"),
    ast.Yield: ("yield", "`yield` is not allowed; build a list instead"),
    ast.YieldFrom: ("yield", "`yield from` is not allowed; build a list instead"),
    ast.Match: ("match", "`match` is not allowed; use `if`/`elif`/`else`"),
    ast.Return: ("return", "`return` is not allowed; assign the answer to `final_return_value`"),
    ast.Assert: ("assert", "`assert` is not allowed; use `if not condition: raise ValueError(...)`"),
    ast.NamedExpr: ("walrus", "the `:=` operator is not allowed; assign on a separate line"),
    ast.Starred: ("star", "star unpacking (`*x`) is not allowed; index or slice explicitly"),
    ast.TryStar: ("except*", "`except*` is not allowed; use `except`"),
    ast.AnnAssign: ("annotation", "annotated assignment is not allowed; drop the annotation"),
    ast.MatMult: ("@", "the `@` operator is not allowed"),
}

ALLOWED: Final[frozenset[type[ast.AST]]] = frozenset({
    ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Break, ast.Continue,
    ast.Pass, ast.Try, ast.ExceptHandler, ast.Raise, ast.Import, ast.ImportFrom, ast.alias,
    ast.Delete, ast.Constant, ast.Name, ast.JoinedStr, ast.FormattedValue, ast.List, ast.Tuple,
    ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.comprehension, ast.BinOp, ast.BoolOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Subscript,
    ast.Slice, ast.Call, ast.Attribute, ast.keyword, ast.Load, ast.Store, ast.Del,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift,
    ast.BitOr, ast.BitAnd, ast.BitXor, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Invert,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
})


def parse_program(source: str, limits: Limits = Limits()) -> tuple[ast.Module | None, list[SubsetError]]:
    """Parse and check; the tree is returned only when there are no errors."""
    if len(source) > limits.max_source_chars:
        return None, [SubsetError(1, 1, "size", f"the program has {len(source)} characters; "
                                  f"the limit is {limits.max_source_chars}: split the work into steps")]
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        return None, [SubsetError(exc.lineno or 1, exc.offset or 1, "syntax", f"syntax error: {exc.msg}")]
    except (RecursionError, MemoryError, ValueError) as exc:
        return None, [SubsetError(1, 1, "syntax", f"the program cannot be parsed ({type(exc).__name__}); "
                                  "it is nested too deeply: split it into several assignments")]
    errors = _check(tree, limits)
    return (tree if not errors else None), errors


def check_program(source: str, limits: Limits = Limits()) -> list[SubsetError]:
    """Syntax and subset errors of `source` (empty: the program may run).

    >>> [str(e) for e in check_program("while True:\\n    pass")]
    ['line 1: `while` loops are not allowed; use `for` over `range(...)`']
    """
    return parse_program(source, limits)[1]


def _err(node: ast.AST, construct: str, message: str) -> SubsetError:
    return SubsetError(getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, construct, message)


def _private(name: str) -> bool:
    return name.startswith("_")


def _target_ok(node: ast.expr, *, allow_subscript: bool = True) -> bool:
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Tuple | ast.List):
        return all(_target_ok(e, allow_subscript=allow_subscript) for e in node.elts)
    if allow_subscript and isinstance(node, ast.Subscript):
        base = node.value
        while True:  # d[k][j] = v, and `d.setdefault(k, {})[x] = v`
            if isinstance(base, ast.Subscript):
                base = base.value
            elif isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr == "setdefault":
                base = base.func.value
            else:
                return isinstance(base, ast.Name)
    return allow_subscript and isinstance(node, ast.Attribute)


def _check_node(node: ast.AST, out: list[SubsetError]) -> None:
    """Rules beyond the node type."""
    if isinstance(node, ast.Name) and _private(node.id):
        out.append(_err(node, "name", f"name '{node.id}' is not allowed: names starting with '_' are "
                         "reserved; use a name without a leading underscore (e.g. `item`)"))
    elif isinstance(node, ast.Attribute) and _private(node.attr):
        out.append(_err(node, "attribute", f"attribute '{node.attr}' is not allowed: attributes starting "
                         "with '_' are reserved; use the allowlisted methods and subscripts"))
    elif isinstance(node, ast.keyword) and (node.arg is None or _private(node.arg)):
        what = "`**` argument unpacking" if node.arg is None else f"keyword '{node.arg}'"
        out.append(_err(node, "keyword", f"{what} is not allowed; pass each argument by name"))
    elif isinstance(node, ast.Constant) and isinstance(node.value, bytes | complex) or (
        isinstance(node, ast.Constant) and node.value is Ellipsis
    ):
        out.append(_err(node, "literal", f"{type(node.value).__name__} literals are not allowed; use str, int or float"))
    elif isinstance(node, ast.Dict) and any(k is None for k in node.keys):
        out.append(_err(node, "dict unpacking", "`{**d}` is not allowed; use `d.copy()` and `update(...)`"))
    elif isinstance(node, ast.Import):
        for a in node.names:
            if a.name not in MODULES:
                out.append(_err(node, "import", f"module '{a.name}' is not allowed; allowed modules: {_ALLOWED_MODULES}"))
            if a.asname and _private(a.asname):
                out.append(_err(node, "name", f"name '{a.asname}' is not allowed: names starting with '_' are reserved"))
    elif isinstance(node, ast.ImportFrom):
        mod = MODULES.get(node.module or "") if node.level == 0 else None
        if mod is None:
            out.append(_err(node, "import", f"module '{'.' * node.level}{node.module or ''}' is not allowed; "
                             f"allowed modules: {_ALLOWED_MODULES}"))
            return
        for a in node.names:
            if a.name == "*":
                out.append(_err(node, "star import", f"`from {node.module} import *` is not allowed; "
                                 "import the names you use"))
            elif a.name not in mod.attrs:
                out.append(_err(node, "import", f"'{a.name}' is not available in module '{node.module}'; "
                                 f"available: {', '.join(sorted(mod.attrs))}"))
            elif a.asname and _private(a.asname):
                out.append(_err(node, "name", f"name '{a.asname}' is not allowed: names starting with '_' are reserved"))
    elif isinstance(node, ast.ExceptHandler):
        _check_handler(node, out)
    elif isinstance(node, ast.Assign | ast.AugAssign | ast.For | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for t in targets:
            ok = (isinstance(t, ast.Subscript) and _target_ok(t)) if isinstance(node, ast.Delete) else _target_ok(
                t, allow_subscript=not isinstance(node, ast.For)
            )
            if not ok:
                what = "`del`" if isinstance(node, ast.Delete) else "assignment"
                hint = ("only `del d[key]` is allowed" if isinstance(node, ast.Delete) else
                        "assign to a name, a subscript of a name (`d[k] = v`) or a tuple of names")
                out.append(_err(t, "target", f"this {what} target is not allowed; {hint}"))
    elif isinstance(node, ast.comprehension):
        if node.is_async:
            out.append(_err(node.target, "async", "`async for` is not allowed in comprehensions"))
        if not _target_ok(node.target, allow_subscript=False):
            out.append(_err(node.target, "target", "a comprehension variable must be a name or a tuple of names"))
    elif isinstance(node, ast.Raise) and node.cause is not None:
        out.append(_err(node, "raise from", "`raise ... from ...` is not allowed; use `raise X(...)`"))


def _check_handler(node: ast.ExceptHandler, out: list[SubsetError]) -> None:
    if node.type is None:
        out.append(_err(node, "bare except", "bare `except:` is not allowed; use `except Exception:`"))
        return
    names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
    for n in names:
        if not isinstance(n, ast.Name) or n.id not in EXCEPTION_PARENTS:
            shown = n.id if isinstance(n, ast.Name) else ast.unparse(n)
            out.append(_err(node, "except", f"`except {shown}` is not allowed; name built-in exception "
                             f"types: {', '.join(sorted(EXCEPTION_PARENTS))}"))
    if node.name is not None and _private(node.name):
        out.append(_err(node, "name", f"name '{node.name}' is not allowed: names starting with '_' are reserved"))


def _check(tree: ast.Module, limits: Limits) -> list[SubsetError]:
    out: list[SubsetError] = []
    stack: list[tuple[ast.AST, int, bool]] = [(tree, 0, False)]
    too_deep = False
    while stack:
        node, depth, in_loop = stack.pop()
        if isinstance(node, ast.Break | ast.Continue) and not in_loop:
            word = "break" if isinstance(node, ast.Break) else "continue"
            out.append(_err(node, word, f"`{word}` outside a loop is not allowed; use it inside `for`"))
        if depth > limits.max_depth and not too_deep:
            too_deep = True
            out.append(_err(node, "nesting", f"the program is nested more than {limits.max_depth} levels "
                             "deep; split the expression into several assignments"))
        rejected = REJECTED.get(type(node))
        if rejected is not None:
            out.append(_err(node, *rejected))
            continue  # one finding per rejected construct, not one per part of it
        if type(node) not in ALLOWED:
            out.append(_err(node, type(node).__name__, f"`{type(node).__name__}` is not supported in "
                             "programs; use the statements and expressions of the documented subset"))
        else:
            _check_node(node, out)
        loop_body = set(map(id, node.body)) if isinstance(node, ast.For) else set()
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1, id(child) in loop_body or (in_loop and not isinstance(node, ast.For))))
    out.sort(key=lambda e: (e.line, e.column))
    return out
