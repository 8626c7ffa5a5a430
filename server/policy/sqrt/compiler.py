"""Compiles a checked SQRT program into per-declaration check rules and update statements (spec 7-10)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from server.policy.engine import FiredRule
from server.policy.metadata import Labelled, MetaData
from server.policy.sqrt import ast as A
from server.policy.sqrt.checks import Context, LetInfo
from server.policy.sqrt.expressions import SET_OPS, Env, ExprCompiler, Pred
from server.policy.sqrt.limits import Limits
from server.policy.sqrt.values import RegexMatcher

__all__ = ["CompiledRule", "CompiledStmt", "CompiledDecl", "compile_program"]

Runner = Callable[[Env], None]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A check rule; `predicate` None means `always`. `key` orders soft rules (spec 9 step 3)."""

    level: Literal["hard", "soft"]
    effect: Literal["allow", "deny"]
    predicate: Pred | None
    record: FiredRule
    key: tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class CompiledStmt:
    """One `result`/`session` statement, with a record naming it if its condition fails."""

    run: Runner
    record: FiredRule


@dataclass(frozen=True, slots=True)
class CompiledDecl:
    """A tool block or shorthand: its id, priority and members, compiled."""

    tool: str
    matcher: RegexMatcher | None
    priority: int
    order: int
    rules: tuple[CompiledRule, ...]
    before: tuple[CompiledStmt, ...]
    result: tuple[CompiledStmt, ...]
    after: tuple[CompiledStmt, ...]


def _with_field(meta: MetaData, field: str, value: Any) -> MetaData:
    if field == "tags":
        return MetaData(meta.producers, meta.consumers, value)
    if field == "producers":
        return MetaData(value, meta.consumers, meta.tags)
    return MetaData(meta.producers, value, meta.tags)


class _DeclCompiler:
    def __init__(self, program: A.Program, exprs: ExprCompiler, *, internal: bool) -> None:
        self.source = program.source
        self.exprs = exprs
        self.internal = internal

    def record(self, node: Any) -> FiredRule:
        text = " ".join(node.span.text(self.source).split()).rstrip(";").rstrip()
        desc = "\n".join(node.doc) if node.doc else None
        return FiredRule(
            rule=desc or text,
            line=None if self.internal else node.span.line,
            column=None if self.internal else node.span.column,
            description=desc,
            source="preset" if self.internal else "sqrt",
        )

    def update(self, u: A.Update, ctx: Context) -> Runner:
        field = u.target.field
        scope = u.target.scope
        if scope == "ctx":
            scope = "result" if ctx == "result" else "session"
        rhs = self.exprs.set(u.value, ctx).fn
        combine = None if u.op == "=" else SET_OPS[u.op[0]]
        if scope == "session":

            def run_session(env: Env) -> None:
                new = rhs(env)
                if combine is not None:
                    new = combine(getattr(env.session, field), new)
                env.session = _with_field(env.session, field, new)

            return run_session

        def run_result(env: Env) -> None:
            res: Labelled = env.result  # type: ignore[assignment]
            new = rhs(env)
            if combine is not None:
                new = combine(getattr(res.meta, field), new)
            env.result = Labelled(res.value, _with_field(res.meta, field, new))

        return run_result

    def when(self, cond: A.Expr, updates: list[Runner], ctx: Context) -> Runner:
        test = self.exprs.pred(cond, ctx)

        def run(env: Env) -> None:
            if test(env):
                for u in updates:
                    u(env)

        return run

    def stmt(self, s: A.Stmt, ctx: Context) -> CompiledStmt:
        if isinstance(s, A.WhenGroup):
            runner = self.when(s.condition, [self.update(u, ctx) for u in s.updates], ctx)
        else:
            runner = self.update(s, ctx)
        return CompiledStmt(runner, self.record(s))

    def tool_matcher(self, tool: A.ToolId) -> RegexMatcher | None:
        if not tool.is_regex:
            return None
        return self.exprs.domains.regex(A.RegexLit(tool.pattern, tool.span))

    def shorthand(self, d: A.ToolShorthand, order: int) -> CompiledDecl:
        ctx: Context = d.phase
        upd = self.update(d.update, ctx)
        runner = upd if d.condition is None else self.when(d.condition, [upd], ctx)
        stmt = (CompiledStmt(runner, self.record(d)),)
        return CompiledDecl(
            d.tool.pattern, self.tool_matcher(d.tool), d.priority, order, (),
            stmt if ctx == "before" else (), stmt if ctx == "result" else (),
            stmt if ctx == "after" else (),
        )

    def block(self, d: A.ToolBlock, order: int) -> CompiledDecl:
        priority = next((m.value for m in d.members if isinstance(m, A.Priority)), 0)
        rules: list[CompiledRule] = []
        phases: dict[str, list[CompiledStmt]] = {"before": [], "result": [], "after": []}
        for index, m in enumerate(d.members):
            if isinstance(m, A.CheckRule):
                pred = None if m.trigger is None else self.exprs.pred(m.trigger, "check")
                key = (-priority, 0 if self.internal else 1, order, index)
                rules.append(CompiledRule(m.level, m.effect, pred, self.record(m), key))
            elif isinstance(m, A.ResultBlock):
                phases["result"].extend(self.stmt(s, "result") for s in m.stmts)
            elif isinstance(m, A.SessionBlock):
                phases[m.phase].extend(self.stmt(s, m.phase) for s in m.stmts)
        return CompiledDecl(
            d.tool.pattern, self.tool_matcher(d.tool), priority, order, tuple(rules),
            tuple(phases["before"]), tuple(phases["result"]), tuple(phases["after"]),
        )


def compile_program(
    program: A.Program,
    lets: Mapping[str, LetInfo],
    *,
    limits: Limits,
    internal: bool = False,
    first_order: int = 0,
) -> tuple[CompiledDecl, ...]:
    """Compile every tool declaration; `let`s are expanded where they are used.

    `internal` marks preset rules (reported with source "preset", ordered before user rules of
    the same priority); `first_order` numbers declarations after those of another program.
    """
    exprs = ExprCompiler(source=program.source, lets=lets, limits=limits)
    for info in lets.values():  # every let compiles once, used or not, so its errors surface
        if info.kind == "predicate":
            exprs.pred(A.NameRef(info.name, info.body.span), "after")
        else:
            exprs.set(A.NameRef(info.name, info.body.span), "after")
    decls = _DeclCompiler(program, exprs, internal=internal)
    out: list[CompiledDecl] = []
    for i, d in enumerate(program.declarations):
        order = first_order + i
        if isinstance(d, A.ToolBlock):
            out.append(decls.block(d, order))
        elif isinstance(d, A.ToolShorthand):
            out.append(decls.shorthand(d, order))
    return tuple(out)
