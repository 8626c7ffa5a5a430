"""What an auto-generated policy may contain, and how it joins the request's own policy.

Decisions (spec control-api 3.4 `auto_gen`, issue 7 item 3):
- **Restrict only.** Tool descriptions come from the client (often from third-party tool
  servers) and may carry instructions aimed at the generator. A generated policy is therefore
  allowed to contain `let` definitions and tool blocks whose members are deny check rules
  (`hard`/`soft deny when ...;` / `... deny always;`) — nothing else. Allow rules (a hard allow
  beats every soft deny, and any allow turns a tool into an allow-list), `priority`, `result` and
  `session` blocks and `->` shorthand updates are rejected: tag or session updates are not
  monotone (a rule testing `==`, `not ... overlaps` or `subset of` on tags can be relaxed by
  adding a tag), so they could weaken the request's own rules. Taint-tracking policies must be
  written by the user (e.g. generated with `sequrity-control policy generate` and reviewed).
  With deny rules only, adding the generated policy can turn an allowed call into a denied one,
  never the reverse.
- `restriction_problems` reports violations as generation problems (fed back to the model, which
  may retry); `merge_policies` additionally emits only deny rules whatever the stored text holds,
  so even a tampered cache entry cannot relax anything.
- **The request's rules take precedence, per tool.** A catalogue tool that any declaration of the
  request's policy matches (a string id equal to its name, or a regex id fully matching it, in a
  tool block or a shorthand) belongs to the request's policy alone: every generated rule for that
  tool is dropped. Regex ids of the generated policy are expanded to the catalogue tools they
  match (so a generated `r".*"` covers exactly the client's tools, never internal tools, and
  loses only the tools the request covers).
- **Visible in `policy_check_history`.** Every generated rule gets one doc line
  `[auto_gen] <the generator's doc of the rule or of its block, or the rule's text>`; a rule's doc is its `fired[].rule` and
  `description`, so generated rules are recognisable by the `[auto_gen]` prefix. Their `line`
  numbers refer to the combined text: the request's text first (its lines keep their numbers),
  then a blank line and the generated part.
- Generated `let` names are renamed with a prefix (`auto_`, `auto1_`, ...) that collides with no
  name of the request's policy.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from functools import lru_cache

from server.policy.sqrt import ast as A
from server.policy.sqrt import parse
from server.policy.sqrt.values import compile_pattern
from server.policygen.validate import Problem

__all__ = ["AUTO_GEN_TAG", "restriction_problems", "merge_policies", "covered_tools"]

AUTO_GEN_TAG = "[auto_gen]"
_MATCH_TIMEOUT = 0.1  # seconds per tool name a regex tool id may take to match


def _problem(message: str, span: A.Span) -> Problem:
    return Problem(message, span.line, span.column)


def restriction_problems(program: A.Program) -> list[Problem]:
    """Why a (loaded) candidate is not restrict-only; empty when it is.

    >>> [str(p) for p in restriction_problems(parse('tool "f" { hard allow always; }'))]
    ['line 1, column 12: allow rules are not accepted in auto-generated policies; write only deny rules']
    """
    problems: list[Problem] = []
    for decl in program.declarations:
        if isinstance(decl, A.ToolShorthand):
            problems.append(_problem("`->` updates are not accepted in auto-generated policies; "
                                     "write only deny rules", decl.span))
        elif isinstance(decl, A.ToolBlock):
            for member in decl.members:
                if isinstance(member, A.CheckRule) and member.effect == "allow":
                    problems.append(_problem("allow rules are not accepted in auto-generated "
                                             "policies; write only deny rules", member.span))
                elif isinstance(member, A.Priority):
                    problems.append(_problem("`priority` is not accepted in auto-generated "
                                             "policies; write only deny rules", member.span))
                elif isinstance(member, A.ResultBlock | A.SessionBlock):
                    problems.append(_problem("result and session blocks are not accepted in "
                                             "auto-generated policies; write only deny rules",
                                             member.span))
    return problems


def _matches(tool: A.ToolId, name: str) -> bool:
    if not tool.is_regex:
        return tool.pattern == name
    try:
        return compile_pattern(tool.pattern).fullmatch(name, timeout=_MATCH_TIMEOUT) is not None
    except TimeoutError:
        return True  # unsure: treat as matched (the request's policy covers it; generated drops it)


def covered_tools(program: A.Program, names: Sequence[str]) -> frozenset[str]:
    """The catalogue names any tool declaration of `program` matches."""
    decls = [d for d in program.declarations if isinstance(d, A.ToolBlock | A.ToolShorthand)]
    return frozenset(n for n in names if any(_matches(d.tool, n) for d in decls))


def _name_refs(node: object) -> Iterator[A.NameRef]:
    """Every NameRef inside an AST node (the nodes are frozen dataclasses and tuples)."""
    if isinstance(node, A.NameRef):
        yield node
    elif isinstance(node, tuple):
        for item in node:
            yield from _name_refs(item)
    elif dataclasses.is_dataclass(node) and not isinstance(node, A.Span):
        for f in dataclasses.fields(node):
            yield from _name_refs(getattr(node, f.name))


def _rewrite(source: str, span: A.Span, edits: list[tuple[A.Span, str]]) -> str:
    """The text of `span` with the given sub-spans replaced."""
    out, at = [], span.start
    for sub, text in sorted(edits, key=lambda e: e[0].start):
        out.append(source[at:sub.start])
        out.append(text)
        at = sub.end
    out.append(source[at:span.end])
    return "".join(out)


def _prefix(taken: set[str], lets: Sequence[str]) -> str:
    for i in range(0, 1000):
        prefix = "auto_" if i == 0 else f"auto{i}_"
        if not any(prefix + n in taken for n in lets):
            return prefix
    raise ValueError("no free let prefix")  # unreachable in practice: 1000 colliding names


def _request_names(program: A.Program) -> set[str]:
    names = {d.name for d in program.declarations if isinstance(d, A.Let)}
    return names | {r.name for r in _name_refs(program.declarations)}


def _doc(rule: A.CheckRule, block: A.ToolBlock, source: str) -> str:
    """The rule's doc, else its block's doc, else its text; on one line, tagged."""
    said = " ".join(" ".join(rule.doc or block.doc).split()) or " ".join(rule.span.text(source).split())
    return f"/// {AUTO_GEN_TAG} {said}"


def _generated_part(generated: A.Program, request: A.Program, catalogue: Sequence[str]) -> str:
    source = generated.source
    covered = covered_tools(request, catalogue)
    lets = [d for d in generated.declarations if isinstance(d, A.Let)]
    prefix = _prefix(_request_names(request), [d.name for d in lets])
    let_names = {d.name for d in lets}

    def renamed(node: object, span: A.Span, extra: tuple[tuple[A.Span, str], ...] = ()) -> str:
        edits = [(r.span, prefix + r.name) for r in _name_refs(node) if r.name in let_names]
        return _rewrite(source, span, [*edits, *extra])

    out = []
    for let in lets:
        assert let.name_span is not None
        out.append(renamed(let.body, let.span, ((let.name_span, prefix + let.name),)))
    blocks: dict[str, list[str]] = {}
    for decl in generated.declarations:
        if not isinstance(decl, A.ToolBlock):
            continue  # shorthands are updates: never emitted
        rules = [m for m in decl.members if isinstance(m, A.CheckRule) and m.effect == "deny"]
        for name in catalogue:
            if name in covered or not _matches(decl.tool, name):
                continue
            for rule in rules:
                blocks.setdefault(name, []).append(
                    f"  {_doc(rule, decl, source)}\n  {renamed(rule.trigger, rule.span)}")
    for name, texts in blocks.items():
        out.append(f"tool {json.dumps(name)} {{\n" + "\n".join(texts) + "\n}")
    return "\n".join(out) if blocks else ""


@lru_cache(maxsize=256)
def merge_policies(request_text: str, generated_text: str, *, catalogue: tuple[str, ...]) -> str:
    """The request's policy text followed by the generated rules it leaves in force.

    Both texts must parse (the caller loaded them). Returns the request's text unchanged when no
    generated rule survives.

    >>> print(merge_policies('', 'tool r"send_.*" { hard deny when "x" in to.tags; }',
    ...                      catalogue=("send_a", "read")))
    <BLANKLINE>
    <BLANKLINE>
    tool "send_a" {
      /// [auto_gen] hard deny when "x" in to.tags;
      hard deny when "x" in to.tags;
    }
    """
    part = _generated_part(parse(generated_text), parse(request_text), catalogue)
    return f"{request_text}\n\n{part}" if part else request_text
