"""Hostile Cedar policy texts: a clear PolicyLoadError, never a crash or a hang.

cedarpy's native parser overflows the stack (killing the process) on deeply nested input, so
these texts are loaded in a child process: a regression shows up as a failed test, not as a
dead test run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from server.policy.cedar import (
    MAX_NESTING,
    MAX_OPERATORS_PER_POLICY,
    MAX_POLICIES,
    MAX_POLICY_CHARS,
    load_policy,
)
from server.policy.metadata import Labelled, MetaData

_P = "permit(principal, action, resource) when { %s };"

# (id, Python expression building the text, words expected in the error; None: loads)
HOSTILE: list[tuple[str, str, str | None]] = [
    ("huge text", f"'// x\\n' * {MAX_POLICY_CHARS // 4}", "too large"),
    ("many policies", f"'permit(principal, action, resource);' * {MAX_POLICIES + 1}", "too many"),
    ("deep parentheses", f"{_P!r} % ('(' * 5000 + 'true' + ')' * 5000)", "nested too deeply"),
    ("deep sets", f"{_P!r} % ('[' * 900 + '1' + ']' * 900 + '.isEmpty()')", "nested too deeply"),
    ("deep records", f"{_P!r} % ('{{a:' * 900 + '1' + '}}' * 900 + ' has a')", "nested too deeply"),
    ("long || chain", f"{_P!r} % ' || '.join(['true'] * 5000)", "too complex"),
    ("long attribute chain", f"{_P!r} % ('context' + '.a' * 5000)", "too complex"),
    ("long method chain", f"{_P!r} % ('true' + '.contains(1)' * 3000)", "too complex"),
    (
        "nested if",
        f"{_P!r} % ('if true then ' * 2000 + 'true' + ' else false' * 2000)",
        "too complex",
    ),
    (
        "chain just over Cedar's 100 levels",
        f"{_P!r} % ' || '.join(['true'] * 150)",
        "nested too deeply",
    ),
    (
        "brackets at the limit load",
        f"{_P!r} % ('(' * {MAX_NESTING - 1} + 'true' + ')' * {MAX_NESTING - 1})",
        None,
    ),
    ("many negations", f"{_P!r} % ('!' * 400 + 'true')", "occurrences"),
    (
        "unterminated string",
        "'permit(principal, action, resource) when { \"' + 'a' * 50000",
        "unterminated",
    ),
    ("binary garbage", "'\\x00\\xff\\u202e' * 100", "syntax error"),
    ("long string literal loads", f"{_P!r} % ('context.a.value == \"' + 'a' * 60000 + '\"')", None),
]

_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from server.policy.cedar import load_policy
    from server.policy.errors import PolicyLoadError
    out = {}
    for name, expr in json.loads(sys.stdin.read()):
        text = eval(expr)
        start = time.perf_counter()
        try:
            load_policy(text)
            out[name] = {"error": None}
        except PolicyLoadError as err:
            out[name] = {"error": err.message, "line": err.line, "column": err.column}
        out[name]["seconds"] = time.perf_counter() - start
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict[str, Any]]:
    cases = json.dumps([(name, expr) for name, expr, _ in HOSTILE])
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=cases,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (
        f"loading hostile policies crashed: rc={proc.returncode}\n{proc.stderr}"
    )
    result: dict[str, dict[str, Any]] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize(("name", "expr", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_policy_text(
    outcomes: dict[str, dict[str, Any]], name: str, expr: str, words: str | None
) -> None:
    outcome = outcomes[name]
    assert outcome["seconds"] < 5.0
    if words is None:
        assert outcome["error"] is None
        return
    assert outcome["error"] is not None and words in outcome["error"]
    assert outcome["line"] is not None and outcome["column"] is not None


def test_operator_limit_names_the_fix() -> None:
    text = _P % " || ".join(["true"] * (MAX_OPERATORS_PER_POLICY + 1))
    with pytest.raises(Exception) as info:
        load_policy(text)
    assert "split it into several policies" in str(info.value)


def _deep_list(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def test_hostile_call_data_does_not_break_checks() -> None:
    policy = load_policy('forbid(principal, action, resource) unless { context.a.value == "ok" };')
    nasty: list[Any] = [
        {"__entity": {"type": "Agent", "id": "session"}},
        _deep_list(40),
        "x" * 100_000,
        float("nan"),
        2**200,
    ]
    for value in nasty:
        record = policy.check(tool="t\n\"';", args={"a": Labelled(value)}, session_meta=MetaData())
        assert record.verdict.value == "hard_denied"
