"""What the policy model is told: reference and rules, the catalogue, and the feedback on a retry."""

from __future__ import annotations

from server.policygen.prompt import first_turns, retry_turns, system_prompt, user_prompt
from server.policygen.tools import INTERNAL_TOOLS, MAX_ENUM_SHOWN, Param, ToolSpec
from server.policygen.validate import Problem

TOOLS = [
    ToolSpec("set_mode", "Switch the mode.", (Param("mode", "string", enum=tuple(range(MAX_ENUM_SHOWN + 5))),)),
    ToolSpec("ping", None, ()),
    INTERNAL_TOOLS["parse_with_ai"],
]


def test_system_prompt_holds_the_rules_and_the_reference() -> None:
    text = system_prompt()
    assert text.startswith("You write security policies in SQRT")
    assert "ONE fenced block that starts with ```sqrt" in text
    assert "# SQRT in brief" in text and "## Verdicts" in text


def test_user_prompt_lists_the_catalogue_then_the_intent() -> None:
    lines = user_prompt(tools=TOOLS, description="  only mode 1  ").splitlines()
    assert lines[:5] == [
        "Tools of the agent (name, then each argument: type, notes):",
        '- "set_mode": Switch the mode.',
        "    - mode: string; one of " + ", ".join(map(str, range(MAX_ENUM_SHOWN))) + ", ...",
        '- "ping"',
        "    (no arguments)",
    ]
    assert "Internal tools of the service the policy may also govern:" in lines
    assert '- "parse_with_ai": ' + INTERNAL_TOOLS["parse_with_ai"].description in lines
    assert lines[-5:] == ["<<<", "only mode 1", ">>>", "",
                          "Write the SQRT policy that implements this intent for these tools."]


def test_retry_feeds_back_only_the_latest_answer() -> None:
    first = first_turns(tools=TOOLS, description="x")
    candidate = 'tool "pong" { hard deny always; }'
    turns = retry_turns(first, answer="```sqrt\n" + candidate + "\n```", candidate=candidate,
                        problems=[Problem('tool "pong" does not exist', 1, 6)])
    again = retry_turns(first, answer="", candidate="", problems=[Problem("no policy")])
    assert [t.role for t in turns] == ["system", "user", "assistant", "user"]
    assert turns[3].content.splitlines()[1:4] == [
        '1. line 1, column 6: tool "pong" does not exist',
        '     tool "pong" { hard deny always; }',
        "          ^",
    ]
    assert [t.role for t in again] == ["system", "user", "assistant", "user"]
    assert again[2].content == "(empty answer)"
