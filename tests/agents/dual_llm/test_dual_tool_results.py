"""Client tool results as program values: transform, decoding, error detection, wrapping (spec dual-llm 9)."""

from __future__ import annotations

import json

import pytest

from server.agents.dual_llm.tool_results import ToolOutcome, interpret_result
from server.config import Fsm

CODEX = json.dumps({"output": "ok\n", "metadata": {"exit_code": 0, "duration_seconds": 0.1}})


@pytest.mark.parametrize(
    ("text", "is_error", "fsm", "expected"),
    [
        ('{"a": 1}', False, Fsm(), ToolOutcome(value={"a": 1})),
        ('"execute_query"', False, Fsm(), ToolOutcome(value="execute_query")),
        ("plain text", False, Fsm(), ToolOutcome(value="plain text")),
        ('{"a": 1}', False, Fsm(strict_tool_result_parsing=True), ToolOutcome(value='{"a": 1}')),
        ("boom", True, Fsm(), ToolOutcome(error="boom")),
        ("Error: no such file", False, Fsm(detect_tool_errors="regex"), ToolOutcome(error="Error: no such file")),
        ("all good", False, Fsm(detect_tool_errors="regex"), ToolOutcome(value="all good")),
        ("fine ... error later", False,
         Fsm(detect_tool_errors="regex", detect_tool_error_max_result_length=6), ToolOutcome(value="fine ... error later")),
        ("E42 happened", False, Fsm(detect_tool_errors="regex", detect_tool_error_regex_pattern=r"E\d+"),
         ToolOutcome(error="E42 happened")),
        ('{"a": 1}', False, Fsm(wrap_tool_result=True), ToolOutcome(value={"ok": True, "value": {"a": 1}})),
        ("bad", True, Fsm(wrap_tool_result=True), ToolOutcome(value={"ok": False, "error": "bad"})),
        (CODEX, False, Fsm(tool_result_transform="codex"), ToolOutcome(value={"output": "ok\n", "exit_code": 0})),
        (CODEX, False, Fsm(), ToolOutcome(value=json.loads(CODEX))),
    ],
)
def test_interpret_result(text, is_error, fsm, expected) -> None:
    assert interpret_result(text, is_error=is_error, fsm=fsm) == expected
