"""Syntax cross-check against the official client's checker `sequrity.sqrt` (spec sqrt 13, "Oracle").

Every program of VALID and INVALID must be judged the same way by our `parse` (grammar plus the
syntactic restrictions of spec 3.2; no load-time checks) and by `sequrity.sqrt.validate`.
DISAGREEMENTS lists where the spec decides otherwise, with the reason; both sides are asserted.
"""

from __future__ import annotations

import pytest

from server.policy.errors import PolicyLoadError
from server.policy.sqrt import parse

sqrt_oracle = pytest.importorskip("sequrity.sqrt")

VALID = [
    'tool "t" { hard deny when int.value in {"a"}; }',
    'tool "t" { hard deny when tags.value in {"a"}; }',
    'tool "t" { hard deny when x.value == true; }',
    'tool "t" { hard deny when (true); }',
    'let A = true and false;',
    'tool "t" { hard deny when x.tags overlaps with; }',
    'tool "t" { hard deny when x.tags overlaps {"a"} with str "x"; }',
    'tool "t" { hard deny when x.tags overlaps {"a"} | union of tags from args; }',
    'tool "t" { hard deny when x.value in {datetime d"2025-01-01"<..<d"2026-01-01"}; }',
    'tool "t" { hard deny when x.value in {float 1}; }',
    'tool "t" { hard deny when d"2025" == x.value; }',
    'tool "t" { hard deny when 5 == 5; }',
    'tool "t" { hard deny when x.tags==y.tags; }',
    'tool "t" { hard deny when x.value in{"a"}and true; }',
    'tool "t"{hard deny always;}',
    'let A = @args.tags.union overlaps {"a"};',
    'tool "t" { hard deny when x.tags overlaps intersect of consumers from args; }',
    '',
    '// c',
    'let A = {"a"};',
    'let A = {};',
    'let A = {"a", r"b.*", w"c*", 5, 1.5, inf, -inf, +inf};',
    'let D = int 1..5;',
    'let D = float ..<2.5;',
    'let D = str "x" length 1..;',
    'let D = str matching r"a" length ..3;',
    'let D = str like w"*";',
    'let D = bool true;',
    'let D = datetime d"2025-01-01"..d"2026-01-01";',
    'let D = datetime "2025-01-01";',
    'let D = datetime 0;',
    'let D = datetime ..<d"2025-01-01";',
    'let P = x.tags overlaps {"a"};',
    'let P = not x.value in {"a"} or y.value == 2;',
    'let T = true;',
    'let A = B;',
    'let A = (B);',
    'let A = (x.tags overlaps {"a"});',
    'let A = ({"a"} | {"b"}) - {"c"};',
    'let A = x.tags with "a" without r"b";',
    'let A = @args.tags.intersect;',
    'let A = union of tags from args;',
    'let tool = {"a"};',
    'let not = {"a"};',
    'let when = {"a"};',
    'let inf = {"a"};',
    'tool "t" { }',
    'tool r"t.*" { priority -1; }',
    'tool "t" { hard deny always; }',
    'tool "t" { must allow when true; }',
    'tool "t" { should deny when x.value == d"2025-01-01"; }',
    'tool "t" { soft allow when "a" in @session.tags; }',
    'tool "t" { result { @tags |= {"a"}; when x.tags is empty { @tags = {}; @producers -= {"p"}; } } }',
    'tool "t" { session before { @session.tags ^= {"a"}; } session after { @result.tags &= {"x"}; } }',
    'tool "t" -> @tags |= {"a"};',
    'tool "t" [3] -> result @tags |= {"a"};',
    'tool "t" -> session @tags |= {"a"} when true;',
    'tool "t" -> session before @consumers = {"*"};',
    'tool "t" -> session after @producers |= @result.producers;',
    '/// d\ntool "t" { /// m\n hard deny always; /// r\n result { /// s\n @tags |= {}; } }',
    'tool "t" { hard deny when @args.producers.union superset of {"a"} and @args.consumers subset of {"b"}; }',
    'tool "t" { hard deny when x.tags == {"a"} - {"b"} ^ {"c"}; }',
    'tool "t" { hard deny when x.tags is universal; }',
    'tool "t" { hard deny when not not true; }',
    'tool "t" { hard deny when @result.value == 1; }',
    'tool "t" { hard deny when @session.value == 1; }',
    'tool "t" { hard deny when x .value in {"a"}; }',
    'tool "t" { hard deny when x . tags overlaps {"a"}; }',
    'tool "t" { hard deny when @ tags is empty; }',
]

INVALID = [
    'tool "t" { hard deny when x.tags overlaps {"a"} with {"b"}; }',
    'tool "t" { hard deny when x.tags overlaps {"a"} union of tags from args; }',
    'tool "t" { hard deny when @tags.value == 1; }',
    'tool "t" { hard deny when x.value in {int 1..<}; }',
    'tool "t" { hard deny when x.value in {int <..5}; }',
    'tool "t" { hard deny when x.value in {datetime <..d"2026-01-01"}; }',
    'tool "t" { hard deny when x.value in {str "a" length 1 length 2}; }',
    'tool "t" { hard deny when x.value in {str r"a"}; }',
    'tool "t" { hard deny when x.value in {bool 1}; }',
    'tool "t" -> session before after @tags |= {};',
    'tool "t" [+1] -> @tags |= {};',
    'tool "t" { priority 1.5; }',
    'let A = {"a"}; let B = {A};',
    'tool "t" { HARD deny always; }',
    'TOOL "t" { }',
    'let A = {"a"};;',
    'tool "t" { hard deny always;; }',
    'let A = @result.value;',
    'tool "t" { hard deny when x.tags overlaps union of value from args; }',
    'let A = {"a",};',
    'let n = 5;',
    'let v = a.value;',
    'let A = {Port};',
    'let D = datetime 0..100;',
    'let R = int 1 < .. 5;',
    'tool "t" { hard deny when x.tags is not empty; }',
    'tool "t" { hard deny when x.tags subset {"a"}; }',
    'tool "t" { hard deny when p.value in int 1..9; }',
    'tool "t" { hard deny when {"a"} overlaps x.tags; }',
    'tool "t" { hard deny when (x.tags) overlaps {"a"}; }',
    'tool "t" { hard deny when x.value == y.tags; }',
    'tool "t" { hard deny when x.value == {"a"}; }',
    'tool "t" { hard deny when x.value == r"a"; }',
    'tool "t" { hard deny when x.value == 1.; }',
    'tool "t" { hard deny when x.value == .5; }',
    'tool "t" { hard deny when x.value == 1e3; }',
    'tool "t" { session { @tags |= {}; } }',
    'tool "t" { result { when true { @tags |= {}; }; } }',
    'tool "t" { result { when true { when true { @tags |= {}; } } } }',
    'tool "t" -> @result.tags |= {"a"};',
    'tool "t" -> x.tags |= {"a"};',
    'tool "t" { [3] hard deny always; }',
    'tool "t" -> priority 3;',
    '/// dangling',
    'tool "t" { hard deny always; /// x\n }',
    'tool "t" /// x\n { }',
    'tool "t" { result { when true { /// x\n @tags |= {}; } } }',
    'tool "t" { hard deny when x. value in {"a"}; }',
    'tool "t" { hard deny always }',
    'tool "t" { hard deny when x.tags overlaps A B; }',
    'tool "t" -> @tags += {"a"};',
    'tool "t" -> @tags := {"a"};',
    'tool r "t" { }',
    'let A = {"a"}',
    '/* open',
    'let A = {"open};',
    'tool "t" { hard deny when x.tags; }',
    'tool "t" { hard deny when x.value; }',
    'tool "t" -> @tags |= ("a" in x.tags);',
    'let A = {true};',
    'tool "t" { hard deny when x.value in y.value; }',
    'tool "t" { hard deny when "a" in "b"; }',
    'let P = x.tags overlaps {"a"} overlaps {"b"};',
    'tool "t" { hard deny when x.value == y.value == z.value; }',
    'tool "t" { must allow; }',
    'tool "t" { hard deny when a.tags overlaps x.tags.union; }',
    'let A = @args.value;',
    'tool "t" { hard deny when @args.tags.union.union is empty; }',
]

_KEYWORD_WINS = "spec 13 'Keywords and names': where a word reads as keyword or name, the keyword wins"

# (program, our verdict, the oracle's verdict, reason)
DISAGREEMENTS = [
    ("let A = int;", False, True, _KEYWORD_WINS + " (`int` starts a domain)"),
    ("let A = not;", False, True, _KEYWORD_WINS + " (`not` starts a negation)"),
    ("let A = inf;", False, True, _KEYWORD_WINS + " (`inf` is a number)"),
    ('tool "t" { hard deny when not.value in {"a"}; }', False, True, _KEYWORD_WINS),
    ('tool "t" { hard deny when union.value in {"a"}; }', False, True,
     _KEYWORD_WINS + " (`union of F from args`)"),
    ('tool "t" { hard deny when inf.value in {"a"}; }', False, True, _KEYWORD_WINS),
    ('tool "t" { hard deny when true.value in {"a"}; }', False, True, _KEYWORD_WINS),
    ('tool "t" { hard deny when x.tags overlaps union; }', False, True, _KEYWORD_WINS),
]


def _ours(program: str) -> bool:
    try:
        parse(program)
    except PolicyLoadError:
        return False
    return True


@pytest.mark.parametrize("program", VALID)
def test_both_accept(program: str) -> None:
    assert sqrt_oracle.validate(program) is True
    assert _ours(program) is True


@pytest.mark.parametrize("program", INVALID)
def test_both_reject(program: str) -> None:
    assert sqrt_oracle.validate(program) is False
    assert _ours(program) is False


@pytest.mark.parametrize(("program", "ours", "theirs", "reason"), DISAGREEMENTS,
                         ids=[d[0] for d in DISAGREEMENTS])
def test_listed_disagreements(program: str, ours: bool, theirs: bool, reason: str) -> None:
    assert reason
    assert sqrt_oracle.validate(program) is theirs
    assert _ours(program) is ours
