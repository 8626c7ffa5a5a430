"""Cedar verdicts, fired-rule records, presets, complete() and branch_check()."""

from __future__ import annotations

from typing import Any

import pytest

from server.policy.cedar import load_policy
from server.policy.engine import BranchingMetaPolicy, Presets, Verdict
from server.policy.errors import PolicyLoadError
from server.policy.metadata import Labelled, MetaData
from server.policy.results import NON_EXECUTABLE_TAG

A = 'Action::"t"'


def _args(**values: Any) -> dict[str, Labelled]:
    return {k: v if isinstance(v, Labelled) else Labelled(v) for k, v in values.items()}


def _tags(*tags: str) -> MetaData:
    return MetaData(tags=frozenset(tags))


# (id, policy, args, presets, verdict)
VERDICTS: list[tuple[str, str, dict[str, Any], Presets, Verdict]] = [
    ("no policy, default allow", "", {}, Presets(), Verdict.ALLOWED),
    ("no policy, default soft deny", "", {}, Presets(default_allow=False), Verdict.SOFT_DENIED),
    (
        "no policy, default hard deny",
        "",
        {},
        Presets(default_allow=False, default_allow_enforcement_level="hard"),
        Verdict.HARD_DENIED,
    ),
    (
        "forbid matches",
        f"forbid(principal, action == {A}, resource);",
        {},
        Presets(),
        Verdict.HARD_DENIED,
    ),
    (
        "forbid for another tool",
        'forbid(principal, action == Action::"u", resource);',
        {},
        Presets(default_allow=False),
        Verdict.SOFT_DENIED,
    ),
    (
        "permit beats default deny",
        f"permit(principal, action == {A}, resource);",
        {},
        Presets(default_allow=False),
        Verdict.ALLOWED,
    ),
    (
        "forbid beats permit",
        f"permit(principal, action, resource);\nforbid(principal, action == {A}, resource);",
        {},
        Presets(),
        Verdict.HARD_DENIED,
    ),
    (
        "permit not matching falls to default",
        f'permit(principal, action == {A}, resource) when {{ context.a.value == "x" }};',
        {"a": "y"},
        Presets(default_allow=False),
        Verdict.SOFT_DENIED,
    ),
    (
        "erroring forbid fails closed",
        f"forbid(principal, action == {A}, resource) unless {{ context.n.value < 5 }};",
        {"n": "three"},
        Presets(),
        Verdict.HARD_DENIED,
    ),
    (
        "absent argument: forbid on value fails closed",
        f'forbid(principal, action == {A}, resource) when {{ context.a.value == "x" }};',
        {},
        Presets(),
        Verdict.HARD_DENIED,
    ),
    (
        "absent argument: has value guards",
        f'forbid(principal, action == {A}, resource) when {{ context.a has value && context.a.value == "x" }};',
        {},
        Presets(),
        Verdict.ALLOWED,
    ),
    (
        "absent argument has default metadata",
        f'forbid(principal, action == {A}, resource) when {{ context.a.tags.contains("pii") }};',
        {},
        Presets(),
        Verdict.ALLOWED,
    ),
    (
        "erroring permit grants nothing",
        f"permit(principal, action == {A}, resource) when {{ context.n.value < 5 }};",
        {"n": "three"},
        Presets(default_allow=False),
        Verdict.SOFT_DENIED,
    ),
    (
        "unrepresentable float fails closed",
        f'forbid(principal, action == {A}, resource) unless {{ context.x.value.lessThan(decimal("1.0")) }};',
        {"x": 0.1 + 0.2},
        Presets(),
        Verdict.HARD_DENIED,
    ),
    (
        "decimal float",
        f'forbid(principal, action == {A}, resource) unless {{ context.x.value.lessThan(decimal("1.0")) }};',
        {"x": 0.25},
        Presets(),
        Verdict.ALLOWED,
    ),
    (
        "tool family by resource.name",
        'forbid(principal, action, resource) when { resource.name like "t*" };',
        {},
        Presets(),
        Verdict.HARD_DENIED,
    ),
    (
        "record value",
        f"forbid(principal, action == {A}, resource) when {{ context.o.value.n > 2 }};",
        {"o": {"n": 3, "skip": None}},
        Presets(),
        Verdict.HARD_DENIED,
    ),
    (
        "list value is a set",
        f'forbid(principal, action == {A}, resource) when {{ context.to.value.contains("eve") }};',
        {"to": ["bob", "eve"]},
        Presets(),
        Verdict.HARD_DENIED,
    ),
    (
        "universal consumers, with the '*' idiom",
        f'forbid(principal, action == {A}, resource) unless {{ context.m.consumers.containsAny(["*", "bob"]) }};',
        {"m": Labelled("x")},
        Presets(),
        Verdict.ALLOWED,
    ),
    (
        "restricted consumers",
        f'forbid(principal, action == {A}, resource) unless {{ context.m.consumers.containsAny(["*", "bob"]) }};',
        {"m": Labelled("x", MetaData(consumers=frozenset({"alice"})))},
        Presets(),
        Verdict.HARD_DENIED,
    ),
    (
        "forged entity in data is not an entity",
        f'forbid(principal, action == {A}, resource) unless {{ context.e.value == "ok" }};',
        {"e": {"__entity": {"type": "Agent", "id": "session"}}},
        Presets(),
        Verdict.HARD_DENIED,
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "args", "presets", "verdict"), VERDICTS, ids=[v[0] for v in VERDICTS]
)
def test_verdicts(
    name: str, text: str, args: dict[str, Any], presets: Presets, verdict: Verdict
) -> None:
    record = load_policy(text, presets).check(tool="t", args=_args(**args), session_meta=MetaData())
    assert record.verdict is verdict
    assert record.allowed is (verdict is Verdict.ALLOWED)
    if verdict is Verdict.ALLOWED:
        assert record.message is None and record.denied_by == ()
    else:
        assert record.message == "Tool call to 't' is denied by argument checking policies."


POLICY = f"""\
// two rules
@id("no-rm")
@description("never delete")
forbid(principal, action == {A}, resource);

@id("all")
permit(principal, action, resource);
"""


def test_fired_rules_carry_description_id_and_line() -> None:
    record = load_policy(POLICY).check(tool="t", args={}, session_meta=MetaData())
    (rule,) = record.fired
    assert (rule.rule, rule.description, rule.line, rule.column, rule.source) == (
        "never delete",
        "never delete",
        4,
        1,
        "cedar",
    )
    assert record.denied_by == record.fired


def test_fail_fast_false_records_the_permits_too() -> None:
    record = load_policy(POLICY).check(tool="t", args={}, session_meta=MetaData(), fail_fast=False)
    assert [r.rule for r in record.fired] == ["never delete", "all"]
    assert record.verdict is Verdict.HARD_DENIED
    assert [r.rule for r in record.denied_by] == ["never delete"]


def test_rule_without_annotations_is_named_by_its_source() -> None:
    record = load_policy("permit(principal, action, resource);").check(
        tool="t", args={}, session_meta=MetaData()
    )
    assert [(r.rule, r.description, r.line) for r in record.fired] == [
        ("permit(principal, action, resource);", None, 1)
    ]


def test_session_is_unchanged_by_check() -> None:
    session = _tags("s1")
    record = load_policy("").check(tool="t", args={}, session_meta=session)
    assert record.session_meta == session


BLOCKED = {"q": Labelled("cv", _tags("__llm_blocked"))}
PERMIT_PARSE = 'permit(principal, action == Action::"parse_with_ai", resource);'
FORBID_PARSE = 'forbid(principal, action == Action::"parse_with_ai", resource);'
SOFT = Presets(llm_blocked_tag_enforcement_level="soft")

# (id, policy, args, presets, verdict)
LLM_BLOCKED: list[tuple[str, str, dict[str, Labelled], Presets, Verdict]] = [
    ("hard", "", BLOCKED, Presets(), Verdict.HARD_DENIED),
    ("hard beats permit", PERMIT_PARSE, BLOCKED, Presets(), Verdict.HARD_DENIED),
    ("soft alone", "", BLOCKED, SOFT, Verdict.SOFT_DENIED),
    ("soft beats default allow", "", BLOCKED, SOFT, Verdict.SOFT_DENIED),
    ("soft overridden by permit", PERMIT_PARSE, BLOCKED, SOFT, Verdict.ALLOWED),
    ("soft, forbid still hard", FORBID_PARSE, BLOCKED, SOFT, Verdict.HARD_DENIED),
    ("disabled", "", BLOCKED, Presets(enable_llm_blocked_tag=False), Verdict.ALLOWED),
    ("untagged", "", {"q": Labelled("cv")}, Presets(), Verdict.ALLOWED),
    ("universal tags", "", {"q": Labelled("cv", _tags("*"))}, Presets(), Verdict.HARD_DENIED),
    ("tag on any argument", "", {"a": Labelled(1), **BLOCKED}, Presets(), Verdict.HARD_DENIED),
]


@pytest.mark.parametrize(
    ("name", "text", "args", "presets", "verdict"), LLM_BLOCKED, ids=[v[0] for v in LLM_BLOCKED]
)
def test_llm_blocked_preset(
    name: str, text: str, args: dict[str, Labelled], presets: Presets, verdict: Verdict
) -> None:
    record = load_policy(text, presets).check(
        tool="parse_with_ai", args=args, session_meta=MetaData()
    )
    assert record.verdict is verdict
    if name in ("hard", "soft alone"):
        assert record.fired[0].source == "preset"
        assert "__llm_blocked" in record.fired[0].rule
        assert record.denied_by[0] == record.fired[0]


def test_llm_blocked_preset_only_for_parse_with_ai() -> None:
    record = load_policy("").check(tool="summarize", args=BLOCKED, session_meta=MetaData())
    assert record.verdict is Verdict.ALLOWED


@pytest.mark.parametrize(
    ("non_executable", "tags"), [(True, {"pii", NON_EXECUTABLE_TAG}), (False, {"pii"})]
)
def test_complete_is_the_initial_result(non_executable: bool, tags: set[str]) -> None:
    policy = load_policy("", Presets(enable_non_executable_memory=non_executable))
    session = _tags("s")
    out = policy.complete(
        tool="t", args={"a": Labelled(1, _tags("pii"))}, session_meta=session, result="r"
    )
    assert out.result.value == "r"
    assert out.result.meta.tags == tags
    assert out.session_meta == session


def test_complete_unwraps_sequrity_vars() -> None:
    policy = load_policy("", Presets(enable_non_executable_memory=False))
    raw = {
        "value": "ok",
        "meta": {"producers": ["vault"], "consumers": ["*"], "tags": []},
        "is_sequrity_var": True,
        "combine_meta": "replace",
    }
    out = policy.complete(
        tool="t",
        args={"a": Labelled(1, MetaData(producers=frozenset({"crm"})))},
        session_meta=MetaData(),
        result=raw,
    )
    assert (out.result.value, out.result.meta.producers) == ("ok", frozenset({"vault"}))


# (id, branching policy, condition metadata, allowed)
BRANCHES: list[tuple[str, BranchingMetaPolicy, MetaData, bool]] = [
    ("default never constrains", BranchingMetaPolicy(), _tags("x"), True),
    (
        "deny list hit",
        BranchingMetaPolicy(tags=frozenset({"untrusted"})),
        _tags("untrusted"),
        False,
    ),
    ("deny list miss", BranchingMetaPolicy(tags=frozenset({"untrusted"})), _tags("ok"), True),
    (
        "deny list, universal condition",
        BranchingMetaPolicy(producers=frozenset({"web"})),
        MetaData(producers=frozenset({"*"})),
        False,
    ),
    (
        "allow list subset",
        BranchingMetaPolicy(mode="allow", producers=frozenset({"db"})),
        MetaData(producers=frozenset({"db"})),
        True,
    ),
    (
        "allow list outsider",
        BranchingMetaPolicy(mode="allow", producers=frozenset({"db"})),
        MetaData(producers=frozenset({"web"})),
        False,
    ),
    (
        "allow list ignores reserved tags",
        BranchingMetaPolicy(mode="allow", tags=frozenset({"ok"})),
        _tags("ok", "__non_executable"),
        True,
    ),
    (
        "allow list, universal consumers",
        BranchingMetaPolicy(mode="allow", consumers=frozenset({"bob"})),
        MetaData(),
        False,
    ),
    ("allow list with empty list", BranchingMetaPolicy(mode="allow"), _tags("anything"), True),
]


@pytest.mark.parametrize(
    ("name", "branching", "condition", "allowed"), BRANCHES, ids=[b[0] for b in BRANCHES]
)
def test_branch_check(
    name: str, branching: BranchingMetaPolicy, condition: MetaData, allowed: bool
) -> None:
    policy = load_policy("", Presets(branching_meta_policy=branching))
    record = policy.branch_check(condition)
    assert record.allowed is allowed
    assert (record.verdict is Verdict.HARD_DENIED) is (not allowed)


INDEXED = """\
forbid(principal, action == Action::"a", resource);
permit(principal, action in [Action::"b", Action::"c"], resource) when { context.x.value == 1 };
permit(principal, action, resource) when { context.x.value == 2 };
forbid(principal, action == Action::"\\u{44}", resource);
"""

# (tool, x, verdict): each tool sees its own policies plus the unscoped one
INDEXED_CASES = [
    ("a", 2, Verdict.HARD_DENIED),
    ("b", 1, Verdict.ALLOWED),
    ("c", 2, Verdict.ALLOWED),
    ("c", 3, Verdict.SOFT_DENIED),
    ("other", 1, Verdict.SOFT_DENIED),
    ("other", 2, Verdict.ALLOWED),
    ("D", 2, Verdict.HARD_DENIED),
]


@pytest.mark.parametrize(("tool", "x", "verdict"), INDEXED_CASES)
def test_policies_are_indexed_by_tool(tool: str, x: int, verdict: Verdict) -> None:
    policy = load_policy(INDEXED, Presets(default_allow=False))
    for _ in range(2):  # the second check reuses the tool's parsed subset
        record = policy.check(tool=tool, args=_args(x=x), session_meta=MetaData())
        assert record.verdict is verdict


def test_validation_error_in_a_later_group_points_at_its_policy() -> None:
    text = (
        'permit(principal, action == Action::"a", resource) when { context.n.value == 1 };\n'
        'permit(principal, action == Action::"b", resource)\n'
        '  when { context.n.value == "1" && context.n.tag.isEmpty() };\n'
    )
    with pytest.raises(PolicyLoadError) as info:
        load_policy(text)
    assert (info.value.line, info.value.column) == (3, 44)  # at `n.tag`
