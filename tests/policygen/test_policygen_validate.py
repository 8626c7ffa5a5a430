"""The candidate check: our engine's load errors, then unknown tools and arguments, by table."""

from __future__ import annotations

import re

import pytest

from server.policy.sqrt import load_policy
from server.policygen.prompt import sqrt_reference
from server.policygen.tools import INTERNAL_TOOLS, Param, ToolSpec
from server.policygen.validate import extract_policy, render_problems, validate_candidate

TOOLS = (
    ToolSpec("send_email", None, (Param("to"), Param("body"))),
    ToolSpec("send_sms", None, (Param("number"), Param("body"))),
    ToolSpec("read_file", None, (Param("path"),)),
    ToolSpec("ping", None, ()),
)
WITH_PARSE = (*TOOLS, INTERNAL_TOOLS["parse_with_ai"])

VALID = [
    'tool "send_email" { hard deny when not (to.value in {str like w"*@example.com"}); }',
    'tool r"send_.*" { hard deny when body.tags overlaps {"secret"}; }',
    'tool r"send_.*" { hard deny when to.value == "x"; }',  # `to` exists on one matched tool
    'tool "read_file" -> @tags |= {"file"};',
    'tool "read_file" [3] -> session @tags |= @result.tags when path.value == "/etc";',
    'let Out = not (to.value in {"a@b.c"});\ntool "send_email" { hard deny when Out; }',
    'tool "ping" { hard deny always; }',
    'tool "send_email" { hard allow when @args.tags is empty and "x" in @session.tags; }',
    'tool "send_email" { result { when to.tags overlaps {"a"} { @tags |= {"b"}; } } }',
]


@pytest.mark.parametrize("policy", VALID)
def test_valid_candidates(policy: str) -> None:
    assert validate_candidate(policy, TOOLS) == []


INVALID = [
    ('tool "send_email" { hard deny when to.value startswith "x"; }', "line 1, column", "expected"),
    ('tool "send_emial" { hard deny always; }', "line 1, column 6",
     'tool "send_emial" does not exist; the tools are: "send_email", "send_sms", "read_file", "ping"'),
    ('tool r"mail_.*" { hard deny always; }', "line 1, column 6", 'regex tool id r"mail_.*" matches no tool'),
    ('tool r"send" { hard deny always; }', "line 1", "matches no tool"),  # full match only
    ('tool "send_email" { hard deny when recipient.value == "x"; }', "line 1, column 36",
     'argument "recipient" does not exist on tool "send_email"; its arguments are: body, to'),
    ('tool "send_email" { hard deny when cc.tags overlaps {"a"}; }', "line 1", 'argument "cc"'),
    ('tool r"send_.*" { hard deny when subject.value == "x"; }', "line 1",
     'does not exist on any tool matched by r"send_.*" ("send_email", "send_sms")'),
    ('tool "ping" { hard deny when host.value == "x"; }', "line 1", "it takes no arguments"),
    ('let Bad = cc.value == "x";\ntool "send_email" { hard deny when Bad; }', "line 2, column 36",
     'argument "cc" (read through let Bad)'),
    ('let In = to.value == "x";\nlet Both = In and cc.value == "y";\ntool "send_email" { hard deny when Both; }',
     "line 3, column 36", 'argument "cc" (read through let Both)'),
    ('tool "send_email" { result { when x.tags overlaps {"a"} { @tags |= {"b"}; } } }', "line 1", 'argument "x"'),
    ('tool "parse_with_ai" { hard deny always; }', "line 1", 'tool "parse_with_ai" does not exist'),
    ("", "", "declares no tool"),
    ('let A = {"x"};', "", "declares no tool"),
    ('tool "send_email" { must deny when always; }', "line 1", "always"),  # a load error
]


@pytest.mark.parametrize(("policy", "where", "says"), INVALID)
def test_invalid_candidates(policy: str, where: str, says: str) -> None:
    problems = [str(p) for p in validate_candidate(policy, TOOLS)]
    assert problems and any(p.startswith(where) and says in p for p in problems), problems


def test_internal_tools_exist_when_listed() -> None:
    policy = 'tool "parse_with_ai" { hard deny when "__llm_blocked" in query.tags; }'
    assert validate_candidate(policy, WITH_PARSE) == []
    bad = validate_candidate('tool "parse_with_ai" { hard deny when prompt.value == "x"; }', WITH_PARSE)
    assert "its arguments are: output_schema, query" in str(bad[0])


def test_every_problem_is_reported_once() -> None:
    policy = 'tool "nope" { hard deny always; }\ntool "send_email" { hard deny when a.value == 1 or a.value == 2; }'
    assert [str(p) for p in validate_candidate(policy, TOOLS)] == [
        'line 1, column 6: tool "nope" does not exist; the tools are: '
        '"send_email", "send_sms", "read_file", "ping"',
        'line 2, column 36: argument "a" does not exist on tool "send_email"; its arguments are: body, to',
    ]


@pytest.mark.parametrize(
    ("answer", "policy"),
    [
        ('tool "t" { hard deny always; }', 'tool "t" { hard deny always; }'),
        ('Sure!\n```sqrt\ntool "t" { hard deny always; }\n```\nDone.', 'tool "t" { hard deny always; }\n'),
        ("```\nA\n```\nthen\n```sqrt\nB\n```", "B\n"),  # the last block is the answer
        ("   \n", ""),
        ('```sqrt\ntool "t" { hard deny always; }', 'tool "t" { hard deny always; }'),  # truncated
    ],
)
def test_extract_policy(answer: str, policy: str) -> None:
    assert extract_policy(answer) == policy


def test_render_problems_points_at_the_offending_text() -> None:
    source = 'tool "send_email" {\n  hard deny when cc.value == 1;\n}'
    text = render_problems(validate_candidate(source, TOOLS), source)
    assert text.splitlines() == [
        '1. line 2, column 18: argument "cc" does not exist on tool "send_email"; its arguments are: body, to',
        "       hard deny when cc.value == 1;",
        " " * 22 + "^",
    ]


def test_the_reference_examples_load() -> None:
    """Every ```sqrt block of the model's reference is a policy our engine loads."""
    blocks = re.findall(r"```sqrt\n(.*?)```", sqrt_reference(), re.DOTALL)
    assert len(blocks) >= 2
    for block in blocks:
        load_policy(block)
