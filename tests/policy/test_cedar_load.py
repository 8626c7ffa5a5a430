"""Cedar policy loading: syntax and schema-validation errors with line and column, and the API."""

from __future__ import annotations

import pytest

from server.policy import cedar
from server.policy.cedar import CedarPolicy, load_policy
from server.policy.errors import PolicyLoadError

OK_POLICIES = [
    ("empty", ""),
    ("comment only", "// nothing here\n"),
    ("permit all", "permit(principal, action, resource);"),
    ("scoped forbid", 'forbid(principal, action == Action::"rm", resource);'),
    ("action list", 'permit(principal, action in [Action::"a", Action::"b"], resource);'),
    ("principal", 'permit(principal == Agent::"session", action, resource);'),
    ("tool family", 'forbid(principal, action, resource) when { resource.name like "fs_*" };'),
    ("metadata", 'forbid(principal, action, resource) when { context.a.tags.contains("x") };'),
    ("session", "forbid(principal, action, resource) when { context.session.tags.isEmpty() };"),
    ("value string", 'permit(principal, action, resource) when { context.a.value == "x" };'),
    ("value long", "permit(principal, action, resource) when { context.a.value < 5 };"),
    ("value bool", "permit(principal, action, resource) when { context.a.value };"),
    ("value set", 'permit(principal, action, resource) when { context.a.value.contains("x") };'),
    ("value record", "permit(principal, action, resource) when { context.a.value.f.g == 1 };"),
    (
        "value decimal",
        'permit(principal, action, resource) when { context.a.value.lessThan(decimal("1.5")) };',
    ),
    (
        "has value",
        'permit(principal, action, resource) when { context.a has value && context.a.value like "x*" };',
    ),
    ("quoted arg", 'permit(principal, action, resource) when { context["to-addr"].value == "x" };'),
    (
        "one argument, two types across tools",
        (
            'permit(principal, action == Action::"a", resource) when { context.n.value == 1 };\n'
            'permit(principal, action == Action::"b", resource) when { context.n.value == "1" };'
        ),
    ),
]


@pytest.mark.parametrize(("name", "text"), OK_POLICIES, ids=[n for n, _ in OK_POLICIES])
def test_valid_policies_load(name: str, text: str) -> None:
    policy = load_policy(text)
    assert isinstance(policy, CedarPolicy)
    assert policy.language == "cedar"


# (id, text, line, column, words in the message)
LOAD_ERRORS = [
    (
        "unexpected token",
        "permit(principal, action, resource)\nwhen { context.x.value == };",
        2,
        27,
        "unexpected token",
    ),
    (
        "bad condition keyword",
        "permit(principal, action, resource) whn { true };",
        1,
        37,
        "invalid policy condition",
    ),
    ("missing semicolon", "permit(principal, action, resource)", 1, 36, "ends with ';'"),
    (
        "unterminated string",
        'permit(principal, action, resource) when { "abc };',
        1,
        44,
        "unterminated string",
    ),
    (
        "second policy",
        "permit(principal, action, resource);\n\nforbid(principal, actoin, resource);",
        3,
        19,
        "actoin",
    ),
    (
        "bad escape",
        'permit(principal, action, resource) when { context.a.value == "\\q" };',
        1,
        64,
        "escape",
    ),
    (
        "unknown method",
        "permit(principal, action, resource) when { context.a.value.foo() };",
        1,
        60,
        "not a valid method",
    ),
    (
        "number too large",
        "permit(principal, action, resource) when { context.a.value == 99999999999999999999 };",
        1,
        63,
        "integer",
    ),
    ("template", "permit(principal == ?principal, action, resource);", 1, 21, "templates"),
    (
        "misspelt field",
        'permit(principal, action, resource)\n  when { context.a.tag.contains("x") };',
        2,
        18,
        "a.tag",
    ),
    (
        "session value",
        'permit(principal, action, resource) when { context.session.value == "x" };',
        1,
        52,
        "session.value",
    ),
    ("unknown entity type", 'permit(principal == User::"x", action, resource);', 1, 21, "User"),
    (
        "metadata is strings",
        "forbid(principal, action, resource) when { context.a.tags.contains(1) };",
        1,
        1,
        "schema validation",
    ),
    (
        "value used as two types",
        'permit(principal, action, resource) when { context.a.value == 1 && context.a.value == "x" };',
        1,
        1,
        "not compatible",
    ),
    (
        "resource attribute",
        'permit(principal, action, resource) when { resource.owner == "x" };',
        1,
        53,
        "owner",
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "line", "column", "words"), LOAD_ERRORS, ids=[e[0] for e in LOAD_ERRORS]
)
def test_load_errors_have_line_and_column(
    name: str, text: str, line: int, column: int, words: str
) -> None:
    with pytest.raises(PolicyLoadError) as info:
        load_policy(text)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert words in err.message
    assert err.language == "cedar"
    assert err.source_line == text.splitlines()[line - 1]
    assert err.compiler_style("p.cedar").startswith(f"p.cedar:{line}:{column}: ")


def test_validation_hint_names_the_record_fields() -> None:
    with pytest.raises(PolicyLoadError) as info:
        load_policy('permit(principal, action, resource) when { context.a.tag.contains("x") };')
    assert "value, producers, consumers, tags" in info.value.message
    assert "__any_tool__" not in info.value.message


def test_public_surface() -> None:
    assert set(cedar.__all__) == {
        "CedarPolicy",
        "load_policy",
        "MAX_POLICY_CHARS",
        "MAX_POLICIES",
        "MAX_NESTING",
        "MAX_OPERATORS_PER_POLICY",
    }
