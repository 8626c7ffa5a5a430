"""Benchmark of the SQRT engine: compile a 200-rule policy, check a call, look up the policy cache.

Run: `.venv/bin/python bench/policy_eval.py`. Workload (issue 3): 200 rules over 50 tools (exact
and regex ids, let-bound sets, string domains) and a call matching 10 of them. Prints each figure
with its ratio to the target (ratio < 1 means within target); exits 1 if a target is missed.
Figures are medians of this process's CPU time (robust on a shared machine); wall-clock medians
are printed alongside.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from server.policy.cache import PolicyCache
from server.policy.engine import Presets
from server.policy.metadata import Labelled, MetaData
from server.policy.sqrt import load_policy

TARGETS = {"compile": 100e-3, "check": 25e-6, "cache": 20e-6}
EXACT_TOOLS, REGEX_TOOLS, RULES = 42, 8, 200

RULE_SHAPES = [
    "hard deny when to.value in Blocked{k};",
    "should allow when body.tags overlaps Trusted{k} and not (name.value in Handle);",
    'hard deny when "pii" in @args.tags and dest.value in {{str like w"*.evil{k}.com"}};',
    "should deny when count.value in {{int {k}00..}} or body.producers overlaps {{\"web{k}\"}};",
    'soft allow when name.value in {{str matching r"user_{k}[a-z]*" length 1..32}};',
]


def build_policy() -> str:
    """The benchmark policy text: 10 let sets, one domain, 50 tool declarations, 200 rules."""
    lines = [f'let Blocked{k} = {{"a{k}@x.com", "b{k}@x.com", "c{k}@x.com"}};' for k in range(5)]
    lines += [f'let Trusted{k} = {{"internal{k}", "reviewed{k}"}} | Blocked{k};' for k in range(5)]
    lines.append('let Handle = str matching r"[a-z][a-z0-9_]*" length 3..16;')
    # rules per declaration: the call's tool "tool_7" gets 4; two regex ids that match it get 3.
    counts = [4] * EXACT_TOOLS + [3, 3] + [0] * (REGEX_TOOLS - 2)
    spare = RULES - sum(counts)
    for i in range(EXACT_TOOLS + 2, EXACT_TOOLS + REGEX_TOOLS):
        counts[i] = spare // (REGEX_TOOLS - 2) + (i < EXACT_TOOLS + 2 + spare % (REGEX_TOOLS - 2))
    ids = [f'"tool_{i}"' for i in range(EXACT_TOOLS)]
    ids += ['r"tool_[0-9]"', 'r"tool_.*7"']
    ids += [f'r"group{j}_.*"' for j in range(REGEX_TOOLS - 2)]
    rule_no = 0
    for tool_id, count in zip(ids, counts, strict=True):
        body = []
        for _ in range(count):
            shape = RULE_SHAPES[rule_no % len(RULE_SHAPES)]
            body.append("    " + shape.format(k=rule_no % 5))
            rule_no += 1
        lines.append(f"tool {tool_id} {{\n    priority {rule_no % 3};\n" + "\n".join(body) + "\n}")
    assert rule_no == RULES
    return "\n".join(lines) + "\n"


def call_args() -> dict[str, Labelled]:
    return {
        "to": Labelled("someone@y.com", MetaData(producers=frozenset({"user"}))),
        "body": Labelled("hello", MetaData(tags=frozenset({"internal1", "draft"}))),
        "name": Labelled("alice_01"),
        "dest": Labelled("files.example.com"),
        "count": Labelled(42),
    }


def _median_per_call(fn: Callable[[], object], *, batch: int,
                     batches: int) -> tuple[float, float]:
    """Median seconds per call over `batches` batches: (CPU time, wall time)."""
    cpu, wall = [], []
    for _ in range(batches):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(batch):
            fn()
        cpu.append((time.process_time() - c0) / batch)
        wall.append((time.perf_counter() - w0) / batch)
    return statistics.median(cpu), statistics.median(wall)


def main() -> int:
    text = build_policy()
    load_policy("")  # build the LALR tables once, as a server does at start-up
    compile_s = _median_per_call(lambda: load_policy(text), batch=1, batches=21)

    policy = load_policy(text)
    args, session = call_args(), MetaData()
    record = policy.check(tool="tool_7", args=args, session_meta=session)
    matched = len(policy.plan("tool_7").hard_deny + policy.plan("tool_7").hard_allow
                  + policy.plan("tool_7").soft)
    check_s = _median_per_call(
        lambda: policy.check(tool="tool_7", args=args, session_meta=session),
        batch=200, batches=101)

    cache, presets = PolicyCache(), Presets()
    cache_text = (text * (10_240 // len(text) + 1))[:10_240]
    cache.get_or_load("sqrt", cache_text, presets, lambda t, p: policy)
    cache_s = _median_per_call(
        lambda: cache.get_or_load("sqrt", cache_text, presets, lambda t, p: policy),
        batch=200, batches=101)

    print(f"policy: {len(text)} characters, {RULES} rules, {EXACT_TOOLS + REGEX_TOOLS} tool "
          f"declarations; call matches {matched} rules -> {record.verdict.value}")
    ok = True
    rows = [("compile", compile_s, "ms", 1e3), ("check", check_s, "us", 1e6),
            ("cache", cache_s, "us", 1e6)]
    for name, (cpu, wall), unit, scale in rows:
        ratio = cpu / TARGETS[name]
        ok &= ratio < 1
        label = {"compile": "compile 200-rule policy", "check": "check call",
                 "cache": "cache lookup 10 KB text"}[name]
        print(f"{label:24s} {cpu * scale:8.2f} {unit} cpu ({wall * scale:8.2f} {unit} wall)"
              f"   target {TARGETS[name] * scale:4.0f} {unit}   ratio {ratio:5.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
