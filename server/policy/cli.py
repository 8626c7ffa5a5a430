"""`sequrity-control policy check|eval|test`: load, evaluate and test policies from the shell.

Calls (for `eval --call`, each line of `eval --calls`, and each call of a test file) are JSON
objects: `{"tool": str, "args": {name: {"value": ..., "meta": {...}}}, "session_meta": {...},
"presets": {...}, "fail_fast": bool, "result": <raw tool return or is_sequrity_var wrapper>}`;
all but `tool` are optional, `presets` merge over the defaults. In `--calls` and in a test, a
call without `session_meta` continues from the session the previous call left (so session
counters can be exercised); the first starts from the default triple.

Test files (`policy test FILE.yaml`, example in tests/policy/example_policy_test.yaml):

    language: sqrt                  # optional; defaults by policy_file extension, else sqrt
    policy: |                       # the policy text, or `policy_file: path` (relative to FILE)
      tool "send_email" { hard deny when "pii" in body.tags; }
    presets: {default_allow: true}  # optional, merged under each call's own presets
    tests:
      - name: pii is blocked
        calls:                      # or `call:` with a single call
          - tool: send_email
            args: {body: {value: "hi", meta: {tags: [pii]}}}
            expect:                 # every key optional; only the listed ones are compared
              verdict: hard_denied  # allowed | soft_denied | hard_denied
              allowed: false
              message_contains: "denied by argument checking policies"
              fired: ["hard deny when \\"pii\\" in body.tags"]   # exact list, in order
              result_meta: {tags: [pii, __non_executable]}     # listed fields only
              session_meta: {tags: []}

Exit codes: 0 success; 1 a call or test is malformed (eval) or a test fails (test); 2 a policy
does not load (or, for `test`, the file itself is unreadable).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TextIO

import yaml

from server.policy import LANGUAGES, get_loader
from server.policy.engine import BranchingMetaPolicy, PolicySet, Presets
from server.policy.errors import PolicyLoadError, PolicyRuntimeError
from server.policy.metadata import Labelled, MetaData, MetaDataError
from server.policy.results import QLLM_TOOLS

__all__ = ["add_policy_commands", "CallError", "parse_call", "run_call"]

_CALL_KEYS = {"tool", "args", "session_meta", "presets", "fail_fast", "result"}
_PRESET_KEYS = {f.name for f in fields(Presets)}


class CallError(ValueError):
    """A call object that is not a call; the message names the offending key."""


def _presets(data: Any, base: Presets, where: str) -> Presets:
    if data is None:
        return base
    if not isinstance(data, Mapping):
        raise CallError(f"{where}: must be an object")
    unknown = set(data) - _PRESET_KEYS
    if unknown:
        raise CallError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: "
                        f"{', '.join(sorted(_PRESET_KEYS))}")
    values = {f.name: getattr(base, f.name) for f in fields(Presets)}
    for key, value in data.items():
        if key == "branching_meta_policy":
            value = _branching(value, f"{where}.branching_meta_policy")
        elif key.endswith("_level") and value not in ("hard", "soft"):
            raise CallError(f"{where}.{key}: must be 'hard' or 'soft' (got {value!r})")
        elif not key.endswith("_level") and not isinstance(value, bool):
            raise CallError(f"{where}.{key}: must be true or false (got {value!r})")
        values[key] = value
    return Presets(**values)


def _branching(data: Any, where: str) -> BranchingMetaPolicy:
    if not isinstance(data, Mapping) or set(data) - {"mode", "producers", "tags", "consumers"}:
        raise CallError(f"{where}: must be an object with mode, producers, tags, consumers")
    mode = data.get("mode", "deny")
    if mode not in ("allow", "deny"):
        raise CallError(f"{where}.mode: must be 'allow' or 'deny' (got {mode!r})")
    lists = {}
    for name in ("producers", "tags", "consumers"):
        items = data.get(name) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise CallError(f"{where}.{name}: must be a list of strings")
        lists[name] = frozenset(items)
    return BranchingMetaPolicy(mode=mode, **lists)


def parse_call(data: Any, *, base_presets: Presets = Presets()) -> dict[str, Any]:
    """Validate one call object; returns tool, args, session_meta (or None), presets, ..."""
    if not isinstance(data, Mapping):
        raise CallError("a call must be a JSON object with at least 'tool'")
    unknown = set(data) - _CALL_KEYS
    if unknown:
        raise CallError(f"unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(_CALL_KEYS))}")
    tool = data.get("tool")
    if not isinstance(tool, str) or not tool:
        raise CallError("'tool' must be a non-empty string")
    raw_args = data.get("args") or {}
    if not isinstance(raw_args, Mapping):
        raise CallError("'args' must be an object of name -> {value, meta}")
    fail_fast = data.get("fail_fast", True)
    if not isinstance(fail_fast, bool):
        raise CallError(f"'fail_fast' must be true or false (got {fail_fast!r})")
    try:
        args = {str(k): Labelled.from_json(v, path=f"args.{k}") for k, v in raw_args.items()}
        session = None if data.get("session_meta") is None else MetaData.from_json(
            data["session_meta"], path="session_meta")
    except MetaDataError as err:
        raise CallError(str(err)) from None
    return {"tool": tool, "args": args, "session_meta": session, "fail_fast": fail_fast,
            "presets": _presets(data.get("presets"), base_presets, "presets"),
            "result": data.get("result")}


def run_call(policy: PolicySet, call: Mapping[str, Any], session: MetaData) -> dict[str, Any]:
    """Check one call and, when allowed, complete it; the result line of `policy eval`."""
    record = policy.check(tool=call["tool"], args=call["args"], session_meta=session,
                          fail_fast=call["fail_fast"])
    out: dict[str, Any] = {
        "verdict": record.verdict.value, "allowed": record.allowed, "message": record.message,
        "fired": [{"rule": f.rule, "line": f.line} for f in record.fired],
        "result_meta": None, "session_meta": record.session_meta.to_json(),
    }
    if record.allowed:
        try:
            done = policy.complete(tool=call["tool"], args=call["args"], session_meta=record.session_meta,
                                   result=call["result"], derived=call["tool"] in QLLM_TOOLS)
        except PolicyRuntimeError as err:  # fail closed: the result is withheld
            out.update(verdict="hard_denied", allowed=False, message=f"{err}")
        else:
            out["result_meta"] = done.result.meta.to_json()
            out["session_meta"] = done.session_meta.to_json()
    return out


def _language(path: str, explicit: str | None) -> str:
    return explicit or ("cedar" if path.endswith(".cedar") else "sqrt")


class _Policies:
    """One policy text loaded once per distinct presets (calls may carry their own)."""

    def __init__(self, language: str, text: str) -> None:
        self.loader = get_loader(language)
        self.text = text
        self._by_presets: dict[Presets, PolicySet] = {}

    def get(self, presets: Presets) -> PolicySet:
        if presets not in self._by_presets:
            self._by_presets[presets] = self.loader(self.text, presets)
        return self._by_presets[presets]


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def cmd_check(ns: argparse.Namespace, out: TextIO | None = None) -> int:
    """`policy check FILE...`: one line per file; 0 when all load, else 2."""
    out = out or sys.stdout
    ok = True
    for path in ns.files:
        try:
            get_loader(_language(path, ns.language))(_read(path), Presets())
        except PolicyLoadError as err:
            print(err.compiler_style(path), file=out)
            ok = False
        except OSError as err:
            print(f"{path}: cannot read: {err.strerror or err}", file=out)
            ok = False
        else:
            print(f"{path}: ok", file=out)
    return 0 if ok else 2


def _load_or_report(path: str, language: str, err_out: TextIO) -> _Policies | None:
    try:
        policies = _Policies(language, _read(path))
        policies.get(Presets())
    except PolicyLoadError as err:
        print(err.compiler_style(path), file=err_out)
        return None
    except OSError as err:
        print(f"{path}: cannot read: {err.strerror or err}", file=err_out)
        return None
    return policies


def cmd_eval(ns: argparse.Namespace, out: TextIO | None = None,
             err_out: TextIO | None = None) -> int:
    """`policy eval FILE --call JSON | --calls FILE.jsonl`: one JSON result line per call."""
    out, err_out = out or sys.stdout, err_out or sys.stderr
    policies = _load_or_report(ns.file, _language(ns.file, ns.language), err_out)
    if policies is None:
        return 2
    if ns.call is not None:
        lines = [("--call", ns.call)]
    else:
        text = sys.stdin.read() if ns.calls == "-" else _read(ns.calls)
        lines = [(f"{ns.calls}:{i}", ln) for i, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    session = MetaData()
    for where, line in lines:
        try:
            call = parse_call(json.loads(line))
            policy = policies.get(call["presets"])
        except json.JSONDecodeError as err:
            print(f"{where}: not valid JSON: {err}", file=err_out)
            return 1
        except CallError as err:
            print(f"{where}: not a call: {err}", file=err_out)
            return 1
        result = run_call(policy, call, call["session_meta"] or session)
        session = MetaData.from_json(result["session_meta"])
        print(json.dumps(result, ensure_ascii=False), file=out)
    return 0


class _TestFileError(ValueError):
    """A test file that is not in the documented format."""


def _expect_failures(expect: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    problems = []
    for key, want in expect.items():
        if key == "message_contains":
            if not isinstance(got["message"], str) or str(want) not in got["message"]:
                problems.append(f"message: expected to contain {want!r}, got {got['message']!r}")
        elif key == "fired":
            names = [f["rule"] for f in got["fired"]]
            if names != list(want):
                problems.append(f"fired: expected {list(want)}, got {names}")
        elif key in ("result_meta", "session_meta"):
            actual = got[key]
            if actual is None or not isinstance(want, Mapping):
                problems.append(f"{key}: expected {want!r}, got {actual!r}")
                continue
            for field, items in want.items():
                wanted = MetaData.from_json({field: items}).to_json()[field]
                if actual.get(field) != wanted:
                    problems.append(f"{key}.{field}: expected {wanted}, got {actual.get(field)}")
        elif key in ("verdict", "allowed"):
            if got[key] != want:
                problems.append(f"{key}: expected {want!r}, got {got[key]!r}")
        else:
            raise _TestFileError(f"unknown expect key {key!r}; allowed: verdict, allowed, "
                                 "message_contains, fired, result_meta, session_meta")
    return problems


def _run_test(policies: _Policies, base: Presets, test: Mapping[str, Any], where: str) -> list[str]:
    calls = test.get("calls", [test["call"]] if "call" in test else None)
    if not isinstance(calls, list) or not calls:
        raise _TestFileError(f"{where}: needs 'calls' (a list) or 'call'")
    session, problems = MetaData(), []
    for i, raw in enumerate(calls, 1):
        if not isinstance(raw, Mapping):
            raise _TestFileError(f"{where}.calls[{i}]: must be a mapping")
        expect = raw.get("expect", {})
        try:
            call = parse_call({k: v for k, v in raw.items() if k != "expect"}, base_presets=base)
        except CallError as err:
            raise _TestFileError(f"{where}.calls[{i}]: {err}") from None
        got = run_call(policies.get(call["presets"]), call, call["session_meta"] or session)
        session = MetaData.from_json(got["session_meta"])
        problems += [f"call {i}: {p}" for p in _expect_failures(expect, got)]
    return problems


def _run_test_file(path: str, language: str | None, out: TextIO) -> int:
    try:
        doc = yaml.safe_load(_read(path))
    except (OSError, yaml.YAMLError) as err:
        print(f"{path}: cannot read test file: {err}", file=out)
        return 2
    if not isinstance(doc, Mapping) or not isinstance(doc.get("tests"), list):
        print(f"{path}: a test file is a mapping with 'policy' (or 'policy_file') and 'tests'",
              file=out)
        return 2
    policy_file = doc.get("policy_file")
    if policy_file is not None:
        policy_path = str(Path(path).parent / str(policy_file))
        lang = language or doc.get("language") or _language(policy_path, None)
    else:
        policy_path, lang = path, language or doc.get("language") or "sqrt"
    try:
        text = _read(policy_path) if policy_file is not None else str(doc.get("policy") or "")
        policies = _Policies(str(lang), text)
        base = _presets(doc.get("presets"), Presets(), "presets")
        policies.get(base)
    except PolicyLoadError as err:
        print(err.compiler_style(policy_path), file=out)
        return 2
    except (OSError, CallError) as err:
        print(f"{path}: {err}", file=out)
        return 2
    failed = 0
    for n, test in enumerate(doc["tests"], 1):
        name = test.get("name", f"test {n}") if isinstance(test, Mapping) else f"test {n}"
        try:
            if not isinstance(test, Mapping):
                raise _TestFileError(f"tests[{n}]: must be a mapping")
            problems = _run_test(policies, base, test, f"tests[{n}]")
        except _TestFileError as err:
            problems = [f"malformed test: {err}"]
        failed += bool(problems)
        print(f"{'FAIL' if problems else 'PASS'} {path}: {name}", file=out)
        for p in problems:
            print(f"    {p}", file=out)
    total = len(doc["tests"])
    print(f"{path}: {total - failed} passed, {failed} failed", file=out)
    return 1 if failed else 0


def cmd_test(ns: argparse.Namespace, out: TextIO | None = None) -> int:
    """`policy test FILE.yaml...`: PASS/FAIL per test; 0 all pass, 1 a failure, 2 unusable file."""
    out = out or sys.stdout
    codes = [_run_test_file(path, ns.language, out) for path in ns.files]
    return max(codes, default=0)


def add_policy_commands(subparsers: Any) -> Any:
    """Register `policy check|eval|test`; returns the `policy` subparsers for more commands."""
    policy = subparsers.add_parser("policy", help="check, evaluate and test security policies")
    sub = policy.add_subparsers(dest="policy_command", required=True)
    lang = {"choices": LANGUAGES, "default": None,
            "help": "policy language (default: cedar for *.cedar files, else sqrt)"}

    check = sub.add_parser("check", help="parse and load policy files")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--language", **lang)
    check.set_defaults(handler=cmd_check)

    ev = sub.add_parser("eval", help="evaluate calls against a policy, one JSON result per call")
    ev.add_argument("file", metavar="FILE")
    ev.add_argument("--language", **lang)
    which = ev.add_mutually_exclusive_group(required=True)
    which.add_argument("--call", metavar="CALL_JSON", help="one call as a JSON object")
    which.add_argument("--calls", metavar="FILE.jsonl", help="one call per line ('-' for stdin)")
    ev.set_defaults(handler=cmd_eval)

    test = sub.add_parser("test", help="run a policy test file (YAML)")
    test.add_argument("files", nargs="+", metavar="FILE.yaml")
    test.add_argument("--language", **lang)
    test.set_defaults(handler=cmd_test)
    return sub

