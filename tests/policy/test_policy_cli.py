"""`sequrity-control policy check|eval|test`: output lines, JSON shapes and exit codes (issue 3)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from server.cli import main
from server.policy.cli import add_policy_commands

EXAMPLE = Path(__file__).with_name("example_policy_test.yaml")
E1 = """let Confidential = {"hr_record", "salary"};
tool "load_employee" -> @tags |= Confidential;
tool "post_message" {
    /// no leaks
    hard deny when msg.tags overlaps Confidential and not (channel.value in {"#hr-private"});
}
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["policy", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_policy_commands_registers_three_commands() -> None:
    parser = argparse.ArgumentParser()
    add_policy_commands(parser.add_subparsers(dest="command"))
    for argv in (["policy", "check", "a"], ["policy", "eval", "a", "--call", "{}"],
                 ["policy", "test", "a.yaml"]):
        assert callable(parser.parse_args(argv).handler)


def test_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, "good.sqrt", E1)
    bad = _write(tmp_path, "bad.sqrt", 'tool "t" {\n  hard deny when x.tags overlaps {"a"}\n}\n')
    assert _run(capsys, "check", good) == (0, f"{good}: ok\n", "")
    code, out, _ = _run(capsys, "check", good, bad, str(tmp_path / "missing.sqrt"))
    lines = out.splitlines()
    assert code == 2 and lines[0] == f"{good}: ok"
    assert lines[1] == f"{bad}:3:1: expected ';' after check rule (found '}}')"
    assert lines[2].startswith(f"{tmp_path / 'missing.sqrt'}: cannot read")


def test_check_cedar_by_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cedar = _write(tmp_path, "p.cedar", "permit(principal, action, resource);\n")
    assert _run(capsys, "check", cedar)[0] == 0
    assert _run(capsys, "check", "--language", "sqrt", cedar)[0] == 2


def test_eval_call_result_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "e1.sqrt", E1)
    call = {"tool": "post_message", "args": {"channel": {"value": "#general"},
                                             "msg": {"value": "x", "meta": {"tags": ["salary"]}}}}
    code, out, err = _run(capsys, "eval", path, "--call", json.dumps(call))
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "verdict": "hard_denied", "allowed": False,
        "message": "Tool call to 'post_message' is denied by argument checking policies.",
        "fired": [{"rule": "no leaks", "line": 5}], "result_meta": None,
        "session_meta": {"producers": [], "consumers": ["*"], "tags": []}}


@pytest.mark.parametrize(("call", "expected"), [
    ({"tool": "load_employee", "args": {"id": {"value": 1, "meta": {"producers": ["hr"]}}}},
     {"producers": ["hr"], "consumers": ["*"], "tags": ["__non_executable", "hr_record", "salary"]}),
    ({"tool": "x", "presets": {"enable_non_executable_memory": False},
      "args": {"a": {"value": 1, "meta": {"producers": ["crm"], "tags": ["customer"]}}},
      "result": {"value": "ok", "meta": {"producers": ["vault"], "consumers": ["*"], "tags": []},
                 "is_sequrity_var": True, "combine_meta": "replace"}},
     {"producers": ["vault"], "consumers": ["*"], "tags": []}),
    # A quarantined-LLM answer is derived from its arguments: no preset tag, as in the server.
    ({"tool": "parse_with_ai", "args": {"query": {"value": "the city in: Paris"}}, "result": "Paris"},
     {"producers": [], "consumers": ["*"], "tags": []}),
    ({"tool": "parse_with_ai", "args": {"query": {"value": "q", "meta": {"tags": ["__non_executable"]}}},
      "result": "Paris"},
     {"producers": [], "consumers": ["*"], "tags": ["__non_executable"]}),
])
def test_eval_result_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str], call: dict,
                          expected: dict) -> None:
    code, out, _ = _run(capsys, "eval", _write(tmp_path, "e1.sqrt", E1), "--call", json.dumps(call))
    assert code == 0 and json.loads(out)["result_meta"] == expected


def test_eval_calls_file_in_order_with_session(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    policy = _write(tmp_path, "sms.sqrt", 'tool "sms" { session before { '
                    'when "n" in @session.tags { @tags |= {"twice"}; } @tags |= {"n"}; } '
                    'hard deny when "twice" in @session.tags; }')
    calls = _write(tmp_path, "calls.jsonl", '{"tool": "sms"}\n\n{"tool": "sms"}\n'
                   '{"tool": "sms", "session_meta": {"tags": []}}\n')
    code, out, _ = _run(capsys, "eval", policy, "--calls", calls)
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["verdict"] for r in results] == ["allowed", "hard_denied", "allowed"]
    assert results[0]["session_meta"]["tags"] == ["n"]


@pytest.mark.parametrize(("lines", "message"), [
    ('{"tool": "t"}\nnot json\n', "calls.jsonl:2: not valid JSON"),
    ('{"tool": "t"}\n{"tool": 5}\n', "calls.jsonl:2: not a call: 'tool' must be a non-empty string"),
    ('{"tol": "t"}\n', "calls.jsonl:1: not a call: unknown key(s) ['tol']"),
    ('{"tool": "t", "args": {"a": {"meta": {}}}}\n', "calls.jsonl:1: not a call: args.a"),
    ('{"tool": "t", "presets": {"default_allow": "yes"}}\n', "presets.default_allow: must be"),
    ('[1]\n', "calls.jsonl:1: not a call"),
])
def test_eval_bad_call_lines_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    lines: str, message: str) -> None:
    policy = _write(tmp_path, "p.sqrt", "")
    code, out, err = _run(capsys, "eval", policy, "--calls", _write(tmp_path, "calls.jsonl", lines))
    assert code == 1 and message in err
    assert len(out.splitlines()) == lines.count('{"tool": "t"}\n')  # results before the bad line


def test_eval_policy_load_error_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "bad.sqrt", "let A = ;")
    code, out, err = _run(capsys, "eval", path, "--call", '{"tool": "t"}')
    assert (code, out) == (2, "") and err.startswith(f"{path}:1:9: ")


def test_eval_presets_merge_over_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "p.sqrt", 'tool "t" { hard deny when false; }')
    call = {"tool": "t", "presets": {"default_allow": False}}
    code, out, _ = _run(capsys, "eval", path, "--call", json.dumps(call))
    assert json.loads(out)["verdict"] == "soft_denied"


def test_test_example_file_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "test", str(EXAMPLE))
    assert code == 0 and out.splitlines()[-1].endswith("4 passed, 0 failed")


def test_test_failures_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "p.sqrt", 'tool "t" { hard deny always; }')
    path = _write(tmp_path, "t.yaml", """
policy_file: p.sqrt
tests:
  - name: wrong expectation
    call: {tool: t, expect: {verdict: allowed, fired: [nope]}}
  - name: right expectation
    call: {tool: t, expect: {verdict: hard_denied, message_contains: "'t' is denied"}}
  - name: malformed
    calls: [{tool: t, expect: {colour: red}}]
""")
    code, out, _ = _run(capsys, "test", path)
    assert code == 1
    assert f"FAIL {path}: wrong expectation" in out
    assert "call 1: verdict: expected 'allowed', got 'hard_denied'" in out
    assert "call 1: fired: expected ['nope'], got ['hard deny always']" in out
    assert f"PASS {path}: right expectation" in out
    assert "unknown expect key 'colour'" in out
    assert out.splitlines()[-1] == f"{path}: 1 passed, 2 failed"


@pytest.mark.parametrize(("content", "words"), [
    ("policy: 'let A = ;'\ntests: []\n", ":1:9: "),
    ("tests: 5\n", "a test file is a mapping"),
    ("policy: [\n", "cannot read test file"),
])
def test_test_file_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 content: str, words: str) -> None:
    code, out, _ = _run(capsys, "test", _write(tmp_path, "t.yaml", content))
    assert code == 2 and words in out


def test_eval_gives_the_spec_verdicts_for_every_worked_example(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dataclasses import asdict

    from server.policy.metadata import Labelled
    from tests.policy.test_sqrt_examples import CHECKS

    for name, policy, tool, args, presets, expected in CHECKS:
        wire = {k: (v if isinstance(v, Labelled) else Labelled(v)).to_json() for k, v in args.items()}
        preset_json = {k: v for k, v in asdict(presets).items() if k != "branching_meta_policy"}
        call = {"tool": tool, "args": wire, "presets": preset_json}
        path = _write(tmp_path, f"{name}.sqrt", policy)
        code, out, _ = _run(capsys, "eval", path, "--call", json.dumps(call))
        assert (code, json.loads(out)["verdict"]) == (0, expected), name
