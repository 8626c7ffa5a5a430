"""Load errors (spec sqrt 3.2, 5): every one a `PolicyLoadError` naming what, where and what is allowed."""

from __future__ import annotations

import pytest

from server.policy.errors import PolicyLoadError
from server.policy.sqrt import load_policy

# (policy, line, column, words the message must contain)
CASES = [
    # syntax
    ('tool "t" {\n  hard deny when x.tags overlaps {"a"}\n}', 3, 1, "expected ';' after check rule"),
    ('tool "t" { hard deny when x.value == "open; }', 1, 38, "unterminated string"),
    ("let A = {};\n/* never closed", 2, 1, "unterminated block comment"),
    ('let A = {"a",};', 1, 14, "unexpected '}'"),
    ("let A = {Port};", 1, 10, "a let name is not a set element"),
    ('tool "t" { hard deny when p.value in int 1..9; }', 1, 38, "type domain appears only"),
    ('tool "t" { hard deny when x.tags is not empty; }', 1, 37, "unexpected 'not'"),
    ('tool "t" { hard deny when x.tags subset {"a"}; }', 1, 41, "expected 'of'"),
    ("let R = int 1 < .. 5;", 1, 15, "unexpected"),
    ('tool "t" { hard deny when x.value == +5; }', 1, 38, "'+inf'"),
    ('tool "t" { session { @tags |= {"a"}; } }', 1, 20, "'after', 'before'"),
    ('tool "t" { result { when true { @tags |= {"a"}; }; } }', 1, 50, "unexpected ';'"),
    ('tool "t" { [3] hard deny always; }', 1, 12, "unexpected '['"),
    ('tool "t" -> priority 3;', 1, 13, "unexpected 'priority'"),
    # doc comments where they document nothing
    ("let A = {};\n/// dangling", 2, 1, "doc comment followed by end of text"),
    ('tool "t" {\n  hard deny always;\n  /// nothing\n}', 3, 3, "doc comment followed by '}'"),
    ('tool "t" /// here\n{ hard deny always; }', 1, 10, "doc comment is not allowed here"),
    ('tool "t" { hard deny /// inside\n always; }', 1, 22, "doc comment is not allowed here"),
    ('tool "t" { result { when true {\n /// no\n @tags |= {"a"}; } } }', 2, 2,
     "doc comment is not allowed here"),
    # grammar restrictions checked after parsing
    ('tool "t" { hard deny when {"a"} overlaps x.tags; }', 1, 27, "left operand of 'overlaps'"),
    ('tool "t" { hard deny when (x.tags) overlaps {"a"}; }', 1, 27, "left operand of 'overlaps'"),
    ('let A = {"a"};\ntool "t" { hard deny when A subset of x.tags; }', 2, 27, "left operand"),
    ('tool "t" { hard deny when x.value == y.tags; }', 1, 38, "expected a value"),
    ('tool "t" { hard deny when x.value == {"a"}; }', 1, 38, "expected a value"),
    ('tool "t" { hard deny when x.tags in {"a"}; }', 1, 27, "on the left of 'in'"),
    ('tool "t" { hard deny when x.tags; }', 1, 27, "expected a predicate after 'when'"),
    ('tool "t" { hard deny when x.value; }', 1, 27, "found a value"),
    ('tool "t" -> @tags |= x.tags overlaps {"a"};', 1, 29, "found 'overlaps'"),
    ('tool "t" -> @tags |= ("a" in x.tags);', 1, 22, "found a predicate"),
    ("let n = 5;", 1, 9, "cannot be a bare literal"),
    ("let v = a.value;", 1, 9, "cannot be a bare literal"),
    ("let D = datetime 0..100;", 1, 19, "found '..'"),
    # names and kinds (spec 5.1)
    ('tool "t" { hard deny when Missing; }', 1, 27, "undefined name 'Missing'"),
    ('tool "t" { must deny when always; }', 1, 27, "undefined name 'always'"),
    ('tool "t" { hard deny when x.tags overlaps Later; }\nlet Later = {"a"};', 1, 43,
     "undefined name 'Later'"),
    ('let A = {"a"};\nlet A = {"b"};', 2, 5, "already defined at line 1"),
    ("let true = {};", 1, 5, "'true' is a constant"),
    ('let A = {"a"};\ntool "t" { hard deny when A; }', 2, 27, "'A' is a set"),
    ('let P = true;\ntool "t" { hard deny when x.tags overlaps P; }', 2, 43, "'P' is a predicate"),
    ('let P = true;\ntool "t" -> @tags |= P;', 2, 22, "'P' is a predicate"),
    ("let D = int 1..5;\nlet P = D;\ntool \"t\" { hard deny when P; }", 3, 27, "'P' is a domain"),
    # contexts (spec 5.2)
    ('tool "t" { hard deny when @tags is empty; }', 1, 27, "@tags has no meaning in a check rule"),
    ('tool "t" { hard deny when @result.tags is empty; }', 1, 27, "not available in a check rule"),
    ('tool "t" { hard deny when @result.value == 1; }', 1, 27, "@result.value is not available"),
    ('let R = @result.tags overlaps {"a"};\ntool "t" { hard deny when R; }', 2, 27,
     "through let 'R'"),
    ('let S = @tags;\nlet R = x.tags overlaps S;\ntool "t" { hard deny when R; }', 3, 27,
     "@tags (through let 'R') has no meaning"),
    ('tool "t" { session before { @tags |= @result.tags; } }', 1, 38, "session before block"),
    ('tool "t" { session before { @result.tags |= {"a"}; } }', 1, 29, "not available"),
    ('tool "t" -> session before @tags |= {"a"} when @result.tags is empty;', 1, 48,
     "not available in a session before block"),
    # other load errors (spec 5.3)
    ('tool "t" -> x.tags |= {"a"};', 1, 13, "unexpected 'x'"),
    ('tool "t" { result { x.tags |= {"a"}; } }', 1, 21, "arguments are read-only"),
    ('tool "t" -> @tags |= {r"a.*"};', 1, 22, "non-string element"),
    ('tool "t" -> @tags |= {"a"} with 5;', 1, 22, "non-string element"),
    ('let D = int 1..5;\ntool "t" -> @tags |= D;', 2, 22, "non-string element"),
    ('tool "t" { priority 1;\n priority 2; }', 2, 2, "at most one priority"),
    ('tool "t" { hard deny when x.value in {r"(unclosed"}; }', 1, 39, "invalid regex"),
    ('tool r"(bad" { hard deny always; }', 1, 6, "invalid regex"),
    ('let R = {r"[z-a]"};', 1, 10, "invalid regex"),  # checked even when unused
    ('tool "t" { hard deny when x.value == d"yesterday"; }', 1, 38, "invalid datetime"),
    ('tool "t" { hard deny when x.value in {datetime "soon"}; }', 1, 48, "invalid datetime"),
    ('tool "t" { hard deny when x.value in {datetime inf}; }', 1, 48, "cannot be infinite"),
]


@pytest.mark.parametrize(("policy", "line", "column", "words"), CASES,
                         ids=[c[3] + f"-{i}" for i, c in enumerate(CASES)])
def test_load_error(policy: str, line: int, column: int, words: str) -> None:
    with pytest.raises(PolicyLoadError) as info:
        load_policy(policy)
    err = info.value
    assert words in err.message
    assert (err.line, err.column) == (line, column), err.message
    assert err.source_line == policy.splitlines()[line - 1]


def test_str_and_compiler_style() -> None:
    with pytest.raises(PolicyLoadError) as info:
        load_policy('let A = {"a"};\ntool "t" { hard deny when A; }')
    text = str(info.value)
    assert text.splitlines()[0].startswith("line 2, column 27: 'A' is a set")
    assert text.splitlines()[-1].strip() == "^"
    assert info.value.compiler_style("p.sqrt").startswith("p.sqrt:2:27: 'A' is a set")


@pytest.mark.parametrize("policy", [
    "", "   \n// only a comment\n", "/// doc\nlet A = {};", 'let tool = {"a"};',
    'tool "t" { }', 'tool "t" { priority -3; }', 'let T = true;\ntool "t" { hard deny when T; }',
    'tool "t" -> @tags |= {"a"} when true;',
])
def test_valid_edge_cases_load(policy: str) -> None:
    load_policy(policy)
