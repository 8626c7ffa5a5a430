"""Check one candidate policy: extract it from the answer, load it with our engine, check its names.

Decisions:
- The answer's policy is the last fenced code block (models often explain first, then answer);
  without a complete fence, the whole text (less an opening fence line, for truncated answers).
- A candidate with no tool declaration is rejected: an empty policy loads (presets only) but
  says nothing about the described intent.
- A regex tool id must fully match at least one tool of the catalogue (spec sqrt 7).
- An argument read by a declaration must exist on its tool; for a regex id, on at least one of
  the tools it matches (absent arguments are null at run time, spec sqrt 6.1, so a rule on an
  argument only some matched tools have is legitimate). Arguments read through a `let` count at
  the place the let is used (lets are macros, spec sqrt 5.1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from server.policy.errors import PolicyLoadError
from server.policy.sqrt import ast as A
from server.policy.sqrt import load_policy, parse
from server.policy.sqrt.values import compile_pattern
from server.policygen.tools import ToolSpec

__all__ = ["Problem", "extract_policy", "validate_candidate", "render_problems", "MAX_PROBLEMS"]

MAX_PROBLEMS = 20  # reported per candidate; the model fixes a few at a time anyway
TOOL_REGEX_TIMEOUT = 0.1  # seconds per tool name a regex tool id may take to match

_FENCE = re.compile(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a candidate was rejected, where (1-based line/column when known)."""

    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"line {self.line}, column {self.column}: {self.message}"


def extract_policy(answer: str) -> str:
    """The policy text in a model's answer.

    >>> extract_policy('Here:\\n```sqrt\\ntool "t" { hard deny always; }\\n```\\n')
    'tool "t" { hard deny always; }\\n'
    """
    blocks: list[str] = _FENCE.findall(answer)
    if blocks:
        return blocks[-1]
    text = answer.strip()
    if text.startswith("```"):  # an unclosed fence (a truncated answer): drop the fence line
        text = text.partition("\n")[2].removesuffix("```").strip()
    return text


def _names(tools: Sequence[ToolSpec]) -> str:
    return ", ".join(json.dumps(t.name) for t in tools)


def _arg_reads(expr: object) -> Iterator[tuple[str, A.Span, str | None]]:
    """(argument name, span, let name or None) for each argument an expression reads directly,
    and ("", span, let) for each let it uses (resolved by the caller)."""
    if isinstance(expr, A.MetaRef | A.ValueRef | A.Target):
        if expr.scope == "arg" and expr.name is not None:
            yield expr.name, expr.span, None
    elif isinstance(expr, A.NameRef):
        yield "", expr.span, expr.name
    elif isinstance(expr, A.SetOp | A.And | A.Or):
        for operand in expr.operands:
            yield from _arg_reads(operand)
    elif isinstance(expr, A.WithOp):
        yield from _arg_reads(expr.base)
    elif isinstance(expr, A.Paren):
        yield from _arg_reads(expr.inner)
    elif isinstance(expr, A.Not):
        yield from _arg_reads(expr.operand)
    elif isinstance(expr, A.Compare):
        yield from _arg_reads(expr.left)
        yield from _arg_reads(expr.right)
    # literals, domains, set literals and @-scoped references read no argument


def _stmt_exprs(stmt: A.Stmt) -> Iterator[object]:
    if isinstance(stmt, A.WhenGroup):
        yield stmt.condition
        for update in stmt.updates:
            yield update.target
            yield update.value
    else:
        yield stmt.target
        yield stmt.value


def _decl_exprs(decl: A.ToolBlock | A.ToolShorthand) -> Iterator[object]:
    if isinstance(decl, A.ToolShorthand):
        yield decl.update.target
        yield decl.update.value
        if decl.condition is not None:
            yield decl.condition
        return
    for member in decl.members:
        if isinstance(member, A.CheckRule) and member.trigger is not None:
            yield member.trigger
        elif isinstance(member, A.ResultBlock | A.SessionBlock):
            for stmt in member.stmts:
                yield from _stmt_exprs(stmt)


class _Checker:
    """The semantic check of one parsed program against the catalogue."""

    def __init__(self, program: A.Program, tools: Sequence[ToolSpec]) -> None:
        self.tools = tools
        self.problems: list[Problem] = []
        # let name -> argument reads of its body (with lets already expanded)
        self.lets: dict[str, list[tuple[str, A.Span]]] = {}
        self.program = program

    def report(self, message: str, span: A.Span | None) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                Problem(message, span.line if span else None, span.column if span else None)
            )

    def reads(self, expr: object) -> list[tuple[str, A.Span, str | None]]:
        """Arguments read, with lets expanded: a let's reads are placed at the let's use."""
        out: list[tuple[str, A.Span, str | None]] = []
        for name, span, let in _arg_reads(expr):
            if let is None:
                out.append((name, span, None))
            else:
                out.extend((arg, span, let) for arg, _ in self.lets.get(let, []))
        return out

    def matched(self, tool: A.ToolId) -> list[ToolSpec] | None:
        """The catalogue's tools the id matches; None (reported) when a regex times out."""
        if not tool.is_regex:
            return [t for t in self.tools if t.name == tool.pattern]
        compiled = compile_pattern(tool.pattern)  # compiles: the engine loaded it already
        found = []
        for t in self.tools:
            try:
                if compiled.fullmatch(t.name, timeout=TOOL_REGEX_TIMEOUT) is not None:
                    found.append(t)
            except TimeoutError:
                self.report(f'regex tool id r"{tool.pattern}" is too slow to match tool names',
                            tool.span)
                return None
        return found

    def check(self) -> list[Problem]:
        declared = 0
        for decl in self.program.declarations:
            if isinstance(decl, A.Let):
                self.lets[decl.name] = [(n, s) for n, s, _ in self.reads(decl.body)]
                continue
            declared += 1
            self.check_decl(decl)
        if declared == 0:
            self.report("the policy declares no tool: write at least one `tool \"NAME\" { ... }` "
                        f"declaration for these tools: {_names(self.tools)}", None)
        return self.problems

    def check_decl(self, decl: A.ToolBlock | A.ToolShorthand) -> None:
        tools = self.matched(decl.tool)
        if tools is None:
            return
        if not tools:
            kind = "regex tool id" if decl.tool.is_regex else "tool"
            shown = f'r"{decl.tool.pattern}"' if decl.tool.is_regex else json.dumps(decl.tool.pattern)
            why = "matches no tool" if decl.tool.is_regex else "does not exist"
            self.report(f"{kind} {shown} {why}; the tools are: {_names(self.tools)}", decl.tool.span)
            return
        known = frozenset().union(*(t.arg_names for t in tools))
        reported: set[str] = set()
        for expr in _decl_exprs(decl):
            for name, span, let in self.reads(expr):
                if name in known or name in reported:
                    continue
                reported.add(name)
                self.report(_unknown_arg(name, let, decl.tool, tools), span)


def _unknown_arg(name: str, let: str | None, tool: A.ToolId, tools: Sequence[ToolSpec]) -> str:
    through = f" (read through let {let})" if let else ""
    if tool.is_regex:
        where = f'any tool matched by r"{tool.pattern}" ({_names(tools)})'
    else:
        where = f"tool {json.dumps(tool.pattern)}"
    args = sorted(frozenset().union(*(t.arg_names for t in tools)))
    has = f"its arguments are: {', '.join(args)}" if args else "it takes no arguments"
    return f"argument {json.dumps(name)}{through} does not exist on {where}; {has}"


def validate_candidate(text: str, tools: Sequence[ToolSpec]) -> list[Problem]:
    """Every reason `text` is not an acceptable policy for `tools` (empty list: accept it).

    >>> from server.policygen.tools import ToolSpec, Param
    >>> [str(p) for p in validate_candidate('tool "f" { hard deny when y.value == 1; }',
    ...                                      [ToolSpec("f", None, (Param("x"),))])]
    ['line 1, column 27: argument "y" does not exist on tool "f"; its arguments are: x']
    """
    try:
        load_policy(text)
    except PolicyLoadError as err:
        return [Problem(err.message, err.line, err.column)]
    return _Checker(parse(text), tools).check()


def render_problems(problems: Sequence[Problem], source: str) -> str:
    """Problems as a numbered list, each with its source line and a caret (for the model)."""
    lines = source.splitlines()
    out = []
    for i, p in enumerate(problems, 1):
        out.append(f"{i}. {p}")
        if p.line is not None and 1 <= p.line <= len(lines):
            out.append(f"     {lines[p.line - 1]}")
            out.append("     " + " " * max((p.column or 1) - 1, 0) + "^")
    return "\n".join(out)

