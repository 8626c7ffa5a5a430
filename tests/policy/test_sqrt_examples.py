"""Every worked example of spec sqrt 15, with the verdicts and metadata the spec states."""

from __future__ import annotations

import pytest

from server.policy.engine import Presets
from server.policy.metadata import MetaData
from server.policy.sqrt import load_policy
from tests.policy.sqrt_helpers import NO_TAG, arg, meta, run, verdict

E1 = """
let Confidential = {"hr_record", "salary"};
tool "load_employee" -> @tags |= Confidential;
tool "post_message" {
    hard deny when msg.tags overlaps Confidential and not (channel.value in {"#hr-private"});
}
"""
E2 = 'tool "wire_transfer" { hard allow when amount.value in {float 0.0<..1000.0}; }'
E3 = """
tool r"fs_.*" { should deny when path.value in {str like w"/etc/*"}; }
tool "fs_read" { priority 10; should allow when caller.tags overlaps {"admin"}; }
"""
E4 = 'tool "run_sql" { should allow when q.value in {str like w"SELECT *"}; should deny always; }'
E5 = ('tool "deploy" { must allow when env.value == "staging"; '
      'must deny when build.tags overlaps {"unsigned"}; }')
E6 = 'tool "t" { hard deny when d.tags overlaps {"a"} | {"b"} & {"c"}; }'
E7 = ('tool "schedule" { hard allow when start.value in '
      '{datetime d"2025-01-06T09:00:00Z"..<d"2025-01-06T17:00:00Z"}; }')
E8 = ('tool "create_user" { hard deny when not (name.value in '
      '{str matching r"[a-z][a-z0-9_]*" length 3..16}); }')
E12 = ('tool "publish_report" { hard allow when @args.producers superset of {"finance_db"} '
       'and not (@args.producers overlaps {"web"}); }')
E15 = 'tool r"send_.*" { hard deny when "pii" in data.tags; }'

CHECKS = [
    ("E1-general", E1, "post_message",
     {"channel": "#general", "msg": arg("x", t={"salary"})}, Presets(), "hard_denied"),
    ("E1-private", E1, "post_message",
     {"channel": "#hr-private", "msg": arg("x", t={"salary"})}, Presets(), "allowed"),
    ("E2-250", E2, "wire_transfer", {"amount": 250}, Presets(), "allowed"),
    ("E2-5000", E2, "wire_transfer", {"amount": 5000}, Presets(), "hard_denied"),
    ("E2-string", E2, "wire_transfer", {"amount": "250"}, Presets(), "hard_denied"),
    ("E3-admin", E3, "fs_read", {"path": "/etc/hosts", "caller": arg(t={"admin"})}, Presets(),
     "allowed"),
    ("E3-no-admin", E3, "fs_read", {"path": "/etc/hosts", "caller": arg()}, Presets(),
     "soft_denied"),
    ("E3-write", E3, "fs_write", {"path": "/etc/hosts"}, Presets(), "soft_denied"),
    ("E4-select", E4, "run_sql", {"q": "SELECT id FROM t"}, Presets(), "allowed"),
    ("E4-lower", E4, "run_sql", {"q": "select id"}, Presets(), "soft_denied"),
    ("E5", E5, "deploy", {"env": "staging", "build": arg(t={"unsigned"})}, Presets(),
     "hard_denied"),
    ("E6", E6, "t", {"d": arg(t={"a"})}, Presets(), "allowed"),
    ("E7-inside", E7, "schedule", {"start": "2025-01-06T18:30:00+02:00"}, Presets(), "allowed"),
    ("E7-end", E7, "schedule", {"start": "2025-01-06T17:00:00Z"}, Presets(), "hard_denied"),
    ("E8-short", E8, "create_user", {"name": "ab"}, Presets(), "hard_denied"),
    ("E8-ok", E8, "create_user", {"name": "alice_01"}, Presets(), "allowed"),
    ("E8-capital", E8, "create_user", {"name": "Alice"}, Presets(), "hard_denied"),
    ("E12-ok", E12, "publish_report",
     {"body": arg(p={"finance_db"}), "notes": arg(p={"analyst"})}, Presets(), "allowed"),
    ("E12-web", E12, "publish_report",
     {"body": arg(p={"finance_db"}), "notes": arg(p={"analyst"}), "extra": arg(p={"web"})},
     Presets(), "hard_denied"),
    ("E13-hard", 'tool "read_cv" -> @tags |= {"__llm_blocked"};', "parse_with_ai",
     {"query": arg(t={"__llm_blocked", "__non_executable"})}, Presets(), "hard_denied"),
    ("E13-soft", 'tool "read_cv" -> @tags |= {"__llm_blocked"};\n'
     'tool "parse_with_ai" { priority 1; should allow always; }', "parse_with_ai",
     {"query": arg(t={"__llm_blocked", "__non_executable"})},
     Presets(llm_blocked_tag_enforcement_level="soft"), "allowed"),
    ("E15-deny", E15, "send_fax", {"number": "1"}, Presets(default_allow=False), "soft_denied"),
    ("E15-allow", E15, "send_fax", {"number": "1"}, Presets(), "allowed"),
]


@pytest.mark.parametrize(("policy", "tool", "args", "presets", "expected"),
                         [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS])
def test_check_examples(policy: str, tool: str, args: dict, presets: Presets,
                        expected: str) -> None:
    assert verdict(policy, tool, args, presets=presets) == expected


def test_e1_message() -> None:
    record = load_policy(E1).check(tool="post_message", args={
        "channel": arg("#general"), "msg": arg("x", t={"salary"})}, session_meta=MetaData())
    assert record.message == "Tool call to 'post_message' is denied by argument checking policies."


def test_e1_load_employee_taints_result() -> None:
    _, result, _ = run(E1, "load_employee")
    assert result == meta(t={"hr_record", "salary"})


def test_e9_result_metadata() -> None:
    policy = """
    tool "search_web" { result {
        @producers |= {"web"};
        @consumers &= {"summarizer"};
        when query.tags overlaps {"pii"} { @tags |= {"pii_derived"}; }
    } }
    """
    args = {"query": arg("q", p={"user"}, c={"summarizer", "mailer"}, t={"pii"})}
    _, result, _ = run(policy, "search_web", args, presets=Presets())
    assert result == meta({"user", "web"}, {"summarizer"}, {"pii", "pii_derived",
                                                              "__non_executable"})


@pytest.mark.parametrize(("mode", "expected"), [
    ("replace", meta(p={"vault"})),
    ("merge", meta(p={"crm", "vault"}, t={"customer"})),
    ("ignore", meta(p={"crm"}, t={"customer"})),
])
def test_e10_wrapping(mode: str, expected: MetaData) -> None:
    raw = {"value": "ok", "meta": {"producers": ["vault"], "consumers": ["*"], "tags": []},
           "is_sequrity_var": True, "combine_meta": mode}
    policy = load_policy("", NO_TAG)
    args = {"a": arg("x", p={"crm"}, t={"customer"})}
    done = policy.complete(tool="t", args=args, session_meta=MetaData(), result=raw)
    assert done.result.value == "ok"
    assert done.result.meta == expected


E11 = """
tool "send_sms" {
    session before {
        when "sms2" in @tags { @tags |= {"sms3"}; }
        when "sms1" in @tags { @tags |= {"sms2"}; }
        @tags |= {"sms1"};
    }
    hard deny when "sms3" in @session.tags;
}
"""


def _sms_calls(policy: str, n: int) -> list[tuple[str, frozenset[str]]]:
    p = load_policy(policy)
    session, out = MetaData(), []
    for _ in range(n):
        rec = p.check(tool="send_sms", args={}, session_meta=session)
        session = rec.session_meta
        out.append((rec.verdict.value, session.tags))
    return out


def test_e11_session_counter() -> None:
    assert _sms_calls(E11, 4) == [
        ("allowed", {"sms1"}), ("allowed", {"sms1", "sms2"}),
        ("hard_denied", {"sms1", "sms2", "sms3"}), ("hard_denied", {"sms1", "sms2", "sms3"}),
    ]


def test_e11_opposite_order_denies_first_call() -> None:
    body = E11.split("session before {")[1].split("}\n    hard")[0]
    lines = [ln for ln in body.strip().splitlines()]
    reversed_policy = E11.replace(body.strip(), "\n".join(reversed(lines)))
    assert _sms_calls(reversed_policy, 1) == [("hard_denied", {"sms1", "sms2", "sms3"})]


def test_e11_allow_variant() -> None:
    policy = E11.replace('hard deny when "sms3"', 'hard allow when "sms3"')
    verdicts = [v for v, _ in _sms_calls(policy, 4)]
    assert verdicts == ["hard_denied", "hard_denied", "allowed", "allowed"]


def test_e14_update_order() -> None:
    policy = """
    tool "t" [0] -> @tags = {"x"};
    tool "t" [10] -> @tags |= {"y"};
    tool "t" -> session @tags |= @result.tags;
    """
    _, result, session = run(policy, "t")
    assert result == meta(t={"x"})
    assert session == meta(t={"x"})
