"""Hostile policies and values: regex timeouts fail closed; size, depth and expansion limits hold."""

from __future__ import annotations

import time

import pytest

from server.policy.engine import Presets
from server.policy.errors import PolicyLoadError, PolicyRuntimeError
from server.policy.metadata import MetaData
from server.policy.sqrt import Limits, load_policy
from tests.policy.sqrt_helpers import arg

FAST = Limits(regex_timeout=0.02)
EVIL = r'r"(a|aa)+b"'
EVIL_VALUE = "a" * 60


def _check(policy: str, tool: str = "t", args: dict | None = None):  # type: ignore[no-untyped-def]
    p = load_policy(policy, Presets(), limits=FAST)
    a = {k: arg(v) for k, v in (args or {}).items()}
    return p.check(tool=tool, args=a, session_meta=MetaData())


@pytest.mark.parametrize("rule", [
    f"hard deny when x.value in {{{EVIL}}};",
    f"hard allow when x.value in {{{EVIL}}};",  # an allow rule that errors still denies
    f"should allow when x.value in {{str matching {EVIL} length 1..100}};",
    f"hard deny when not (x.value in {{{EVIL}}});",
])
def test_catastrophic_regex_times_out_and_fails_closed(rule: str) -> None:
    started = time.perf_counter()
    rec = _check(f'tool "t" {{ /// the evil rule\n {rule} }}', args={"x": EVIL_VALUE})
    assert time.perf_counter() - started < 1.0
    assert rec.verdict.value == "hard_denied"
    assert rec.message is not None
    assert rec.message.startswith("Tool call to 't' is denied by argument checking policies.")
    assert "the evil rule" in rec.message and "timed out" in rec.message


def test_timeout_in_tool_id_fails_closed() -> None:
    rec = _check('tool r"(a|aa)+b" { hard allow always; }', tool=EVIL_VALUE)
    assert rec.verdict.value == "hard_denied" and "timed out" in (rec.message or "")


def test_timeout_in_before_update_denies_and_in_result_update_raises() -> None:
    before = f'tool "t" {{ session before {{ when x.value in {{{EVIL}}} {{ @tags |= {{"a"}}; }} }} }}'
    assert _check(before, args={"x": EVIL_VALUE}).verdict.value == "hard_denied"
    result = f'tool "t" -> @tags -= {{"pii"}} when x.value in {{{EVIL}}};'
    p = load_policy(result, Presets(), limits=FAST)
    with pytest.raises(PolicyRuntimeError, match="timed out"):
        p.complete(tool="t", args={"x": arg(EVIL_VALUE)}, session_meta=MetaData(), result=1)


def test_oversized_policy_is_rejected_before_parsing() -> None:
    text = "// " + "x" * 300_000
    started = time.perf_counter()
    with pytest.raises(PolicyLoadError, match="at most 256000 allowed"):
        load_policy(text)
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize("pred", [
    "(" * 5000 + "true" + ")" * 5000,
    "not " * 5000 + "true",
    "x.tags overlaps " + "(" * 3000 + '{"a"}' + ")" * 3000,
])
def test_deep_nesting_is_rejected_quickly(pred: str) -> None:
    started = time.perf_counter()
    with pytest.raises(PolicyLoadError, match="nested too deeply"):
        load_policy(f'tool "t" {{ hard deny when {pred}; }}')
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("pred", [
    " or ".join(["false"] * 5000) + " or true",
    " and ".join(["true"] * 5000),
    "x.tags overlaps " + " | ".join(['{"a"}'] * 5000),
    'x.tags overlaps {"z"}' + ' with "a"' * 5000,
])
def test_long_flat_chains_load_and_evaluate(pred: str) -> None:
    rec = _check(f'tool "t" {{ hard deny when {pred}; }}', args={"x": "v"})
    assert rec.verdict.value in ("allowed", "hard_denied")


def test_let_chains_do_not_expand_exponentially() -> None:
    lines = ['let L0 = {"a"};'] + [f"let L{i} = L{i - 1} | L{i - 1};" for i in range(1, 200)]
    lines += ['let P0 = x.tags overlaps L199;'] + [
        f"let P{i} = P{i - 1} and P{i - 1};" for i in range(1, 200)]
    started = time.perf_counter()
    p = load_policy("\n".join(lines) + '\ntool "t" { hard deny when P50; }')
    assert time.perf_counter() - started < 2.0
    assert p.check(tool="t", args={}, session_meta=MetaData()).verdict.value == "allowed"


@pytest.mark.parametrize("pattern", [r"(a{1000}){1000}", r"((a{100}){100}){100}", "a{99999}"])
def test_regex_expansion_bombs_are_rejected(pattern: str) -> None:
    started = time.perf_counter()
    with pytest.raises(PolicyLoadError, match="counted"):
        load_policy(f'let R = {{r"{pattern}"}};')
    assert time.perf_counter() - started < 0.5


def test_long_regex_is_rejected() -> None:
    with pytest.raises(PolicyLoadError, match="at most 2000 allowed"):
        load_policy('let R = {r"' + "a" * 3000 + '"};')


def test_many_rules_and_tools_do_not_slow_unrelated_checks() -> None:
    text = "\n".join(f'tool "tool_{i}" {{ hard deny when x.value == {i}; }}' for i in range(2000))
    p = load_policy(text)
    started = time.perf_counter()
    for _ in range(1000):
        p.check(tool="other", args={}, session_meta=MetaData())
    assert time.perf_counter() - started < 0.5


def test_hostile_argument_values_never_raise() -> None:
    p = load_policy('tool "t" { hard deny when x.value in {int 1..5, datetime d"2025-01-01"..} '
                    'or x.value == y.value; }')
    deep: object = 1
    for _ in range(3000):
        deep = {"k": deep}
    for value in [None, [], {}, float("nan"), float("inf"), 10**400, "9" * 10_000, deep, "\x00",
                  "2025-99-99", -(10**30)]:
        rec = p.check(tool="t", args={"x": arg(value), "y": arg(value)}, session_meta=MetaData())
        assert rec.verdict.value in ("allowed", "hard_denied")


_FUZZ_TOKENS = (
    'let tool priority must hard should soft allow deny when always result session before after '
    'in overlaps subset superset of is empty universal not and or union intersect minus xor with '
    'without from args bool int float str datetime matching like length true false inf -inf '
    'x A x.value x.tags @tags @result.tags @result.value @session.tags @args.tags @args.tags.union '
    '{ } ( ) [ ] , ; = -> | & - ^ |= &= -= ^= == .. <.. ..< <..< 0 -7 2.5 "s" r"a.*" w"*" '
    'd"2025-01-01" /// // /*'
).split()


def test_random_token_soup_never_crashes() -> None:
    import random

    rng = random.Random(1234)
    for _ in range(400):
        words = [rng.choice(_FUZZ_TOKENS) for _ in range(rng.randint(1, 40))]
        text = " ".join(words) if rng.random() < 0.5 else "\n".join(words)
        try:
            load_policy(text)
        except PolicyLoadError as err:
            assert err.message
    # mutations of a valid policy, too
    base = list('tool "t" { hard deny when x.tags overlaps {"a"} | A and not y.value in {int 1..5}; }')
    for _ in range(400):
        chars = base[:]
        for _ in range(rng.randint(1, 4)):
            chars[rng.randrange(len(chars))] = rng.choice(list('{}();.|&"x@ 0-<'))
        try:
            load_policy("".join(chars))
        except PolicyLoadError as err:
            assert err.message
