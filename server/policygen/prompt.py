"""The policy LLM's prompt: SQRT reference and rules (system), tools and intent (user), feedback.

Prompt design (decisions):
- The system turn carries the compact SQRT reference (sqrt_reference.md, written for a model)
  and the output contract: one ```sqrt block, exact tool and argument names, no invented tools.
- The user turn lists the catalogue as signatures with types, required marks, enums and
  descriptions, then the intent between markers. Tool and intent text are data the user wrote;
  they are quoted as they are (the output is checked by our engine, not trusted).
- A retry is the first exchange plus the rejected answer and a numbered list of its problems,
  each with the offending source line and a caret. Only the latest rejected answer is fed back:
  older ones add tokens, not information, and keep the prompt bounded by `n_retries`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

from server.policygen.tools import MAX_ENUM_SHOWN, Param, ToolSpec
from server.policygen.validate import Problem, render_problems
from server.providers.completion import ChatTurn

__all__ = ["sqrt_reference", "system_prompt", "user_prompt", "first_turns", "retry_turns"]

_RULES = """\
You write security policies in SQRT for an LLM agent's tools. Rules:
1. Answer with the complete policy in ONE fenced block that starts with ```sqrt and nothing after it.
2. Name only the tools listed by the user, with their exact names (string ids), or regex ids
   r"..." that fully match at least one listed tool. Never invent tools.
3. Read only the arguments listed for each tool, by their exact names (`to.value`, `body.tags`).
4. Implement exactly what the intent asks: use `hard deny` for what must never happen and
   `hard allow` only when the intent describes an allow-list (an allow rule denies every call
   it does not match). Tag the results of tools that read sensitive data, then deny the tools
   that would leak data carrying those tags.
5. Put a short `///` doc comment before each declaration or rule, saying which part of the
   intent it implements.
6. Follow the grammar of the reference exactly; when unsure, prefer the simplest construct."""


@cache
def sqrt_reference() -> str:
    """The SQRT reference for the model, read once from the package."""
    return files("server.policygen").joinpath("sqrt_reference.md").read_text(encoding="utf-8")


def system_prompt() -> str:
    return f"{_RULES}\n\n{sqrt_reference()}"


def _param(p: Param) -> str:
    head = f"    - {p.name}: {p.type or 'any'}" + (" (required)" if p.required else "")
    if p.enum is not None:
        shown = ", ".join(json.dumps(v) for v in p.enum[:MAX_ENUM_SHOWN])
        more = ", ..." if len(p.enum) > MAX_ENUM_SHOWN else ""
        head += f"; one of {shown}{more}"
    return head + (f" — {p.description}" if p.description else "")


def _tool(t: ToolSpec) -> str:
    lines = [f"- {json.dumps(t.name)}" + (f": {t.description}" if t.description else "")]
    lines.extend(_param(p) for p in t.params)
    if not t.params:
        lines.append("    (no arguments)")
    return "\n".join(lines)


def user_prompt(*, tools: Sequence[ToolSpec], description: str) -> str:
    """The catalogue and the intent.

    >>> print(user_prompt(tools=[ToolSpec("f", "does f", (Param("x", "string", required=True),))],
    ...                   description="never call f").splitlines()[1])
    - "f": does f
    """
    client = [t for t in tools if not t.internal]
    internal = [t for t in tools if t.internal]
    parts = ["Tools of the agent (name, then each argument: type, notes):", *map(_tool, client)]
    if internal:
        parts += ["", "Internal tools of the service the policy may also govern:",
                  *map(_tool, internal)]
    parts += ["", "Security intent, in the user's words:", "<<<", description.strip(), ">>>", "",
              "Write the SQRT policy that implements this intent for these tools."]
    return "\n".join(parts)


def first_turns(*, tools: Sequence[ToolSpec], description: str) -> list[ChatTurn]:
    return [
        ChatTurn("system", system_prompt()),
        ChatTurn("user", user_prompt(tools=tools, description=description)),
    ]


def retry_turns(
    first: Sequence[ChatTurn], *, answer: str, candidate: str, problems: Sequence[Problem]
) -> list[ChatTurn]:
    """The first exchange, the rejected answer, and what was wrong with it."""
    feedback = (
        "Your policy was rejected by the SQRT engine and checker:\n"
        f"{render_problems(problems, candidate)}\n\n"
        "Fix every problem and answer again with the complete corrected policy in one ```sqrt block."
    )
    return [*first, ChatTurn("assistant", answer or "(empty answer)"), ChatTurn("user", feedback)]
