"""The shared conformance suite (spec sqrt 13): worked-example checks of spec sqrt 15, as data.

Each case is one call checked under a policy written twice, in SQRT and in Cedar; every engine
must reach `expected`. Included are the checks Cedar can express. Left out, with the reason:

* E3, E4 — soft rules and priorities: a Cedar `forbid` is always a hard denial, so `soft_denied`
  from user rules has no Cedar form (soft verdicts still appear here through the presets, E13/E15);
* E7 — datetime windows over argument strings: Cedar's `datetime(...)` takes literals only under
  validation, and accepts no `+02:00` offsets;
* E8 — regex and length domains: Cedar has only `like`;
* E9, E10, E14 and the counter of E11 — result and session updates: Cedar expresses checks only
  (E11's check on a given session is included);
* E12 — aggregations over all arguments (`@args.producers`): Cedar cannot iterate the context.

Allow-lists (SQRT spec 9 step 4) are written in Cedar as a `permit` plus a `forbid ... unless`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CASES", "Call", "ConformanceCase"]


@dataclass(frozen=True)
class Call:
    """A call in the wire shape of spec sqrt 14 (args: name -> {"value", "meta"})."""

    tool: str
    args: dict[str, dict[str, Any]] = field(default_factory=dict)
    session_meta: dict[str, list[str]] | None = None
    presets: dict[str, Any] = field(default_factory=dict)
    """Overrides of `engine.Presets` fields."""


@dataclass(frozen=True)
class ConformanceCase:
    id: str
    sqrt: str
    cedar: str
    call: Call
    expected: str
    """A `Verdict` value: allowed | soft_denied | hard_denied."""


def _arg(value: Any, **meta: list[str]) -> dict[str, Any]:
    return {"value": value, "meta": meta}


E1_SQRT = """\
let Confidential = {"hr_record", "salary"};
tool "load_employee" -> @tags |= Confidential;
tool "post_message" {
    hard deny when msg.tags overlaps Confidential and not (channel.value in {"#hr-private"});
}
"""
E1_CEDAR = """\
@id("no-confidential-outside-hr")
forbid(principal, action == Action::"post_message", resource)
when {
    context.msg.tags.containsAny(["hr_record", "salary"]) &&
    !(["#hr-private"].contains(context.channel.value))
};
"""
E2_SQRT = 'tool "wire_transfer" { hard allow when amount.value in {float 0.0<..1000.0}; }'
E2_CEDAR = """\
permit(principal, action == Action::"wire_transfer", resource)
when { context.amount.value > 0 && context.amount.value <= 1000 };
forbid(principal, action == Action::"wire_transfer", resource)
unless { context.amount.value > 0 && context.amount.value <= 1000 };
"""
E5_SQRT = """\
tool "deploy" {
    must allow when env.value == "staging";
    must deny when build.tags overlaps {"unsigned"};
}
"""
E5_CEDAR = """\
permit(principal, action == Action::"deploy", resource) when { context.env.value == "staging" };
forbid(principal, action == Action::"deploy", resource) unless { context.env.value == "staging" };
forbid(principal, action == Action::"deploy", resource) when { context.build.tags.contains("unsigned") };
"""
E6_SQRT = 'tool "t" { hard deny when d.tags overlaps {"a"} | {"b"} & {"c"}; }'
E6_CEDAR = """\
// ({"a"} | {"b"}) & {"c"} is empty: the rule can never fire.
forbid(principal, action == Action::"t", resource)
when { context.d.tags.containsAny(["a", "b"]) && ["c"].containsAny(["a", "b"]) };
"""
E11_SQRT = 'tool "send_sms" { hard deny when "sms3" in @session.tags; }'
E11_CEDAR = """\
forbid(principal, action == Action::"send_sms", resource)
when { context.session.tags.containsAny(["*", "sms3"]) };
"""
E13_SQRT = 'tool "read_cv" -> @tags |= {"__llm_blocked"};'
E13_SOFT_SQRT = E13_SQRT + '\ntool "parse_with_ai" { priority 1; should allow always; }'
E13_SOFT_CEDAR = 'permit(principal, action == Action::"parse_with_ai", resource);'
E15_SQRT = 'tool r"send_.*" { hard deny when "pii" in data.tags; }'
E15_CEDAR = """\
forbid(principal, action, resource)
when { resource.name like "send_*" && context.data.tags.containsAny(["*", "pii"]) };
"""
_BLOCKED = _arg("cv text", tags=["__llm_blocked", "__non_executable"])

CASES: tuple[ConformanceCase, ...] = (
    ConformanceCase(
        "E1-general",
        E1_SQRT,
        E1_CEDAR,
        Call("post_message", {"channel": _arg("#general"), "msg": _arg("hi", tags=["salary"])}),
        "hard_denied",
    ),
    ConformanceCase(
        "E1-hr-private",
        E1_SQRT,
        E1_CEDAR,
        Call("post_message", {"channel": _arg("#hr-private"), "msg": _arg("hi", tags=["salary"])}),
        "allowed",
    ),
    ConformanceCase(
        "E1-untagged",
        E1_SQRT,
        E1_CEDAR,
        Call("post_message", {"channel": _arg("#general"), "msg": _arg("hi")}),
        "allowed",
    ),
    ConformanceCase(
        "E2-250", E2_SQRT, E2_CEDAR, Call("wire_transfer", {"amount": _arg(250)}), "allowed"
    ),
    ConformanceCase(
        "E2-5000", E2_SQRT, E2_CEDAR, Call("wire_transfer", {"amount": _arg(5000)}), "hard_denied"
    ),
    ConformanceCase(
        "E2-string",
        E2_SQRT,
        E2_CEDAR,
        Call("wire_transfer", {"amount": _arg("250")}),
        "hard_denied",
    ),
    ConformanceCase("E2-absent", E2_SQRT, E2_CEDAR, Call("wire_transfer"), "hard_denied"),
    ConformanceCase(
        "E2-other-tool",
        E2_SQRT,
        E2_CEDAR,
        Call("check_balance", {"amount": _arg(5000)}),
        "allowed",
    ),
    ConformanceCase(
        "E5-both-fire",
        E5_SQRT,
        E5_CEDAR,
        Call("deploy", {"env": _arg("staging"), "build": _arg("b1", tags=["unsigned"])}),
        "hard_denied",
    ),
    ConformanceCase(
        "E5-allow",
        E5_SQRT,
        E5_CEDAR,
        Call("deploy", {"env": _arg("staging"), "build": _arg("b1")}),
        "allowed",
    ),
    ConformanceCase(
        "E5-no-allow-fires",
        E5_SQRT,
        E5_CEDAR,
        Call("deploy", {"env": _arg("prod"), "build": _arg("b1")}),
        "hard_denied",
    ),
    ConformanceCase("E6-a", E6_SQRT, E6_CEDAR, Call("t", {"d": _arg(1, tags=["a"])}), "allowed"),
    ConformanceCase("E6-c", E6_SQRT, E6_CEDAR, Call("t", {"d": _arg(1, tags=["c"])}), "allowed"),
    ConformanceCase(
        "E11-sms3",
        E11_SQRT,
        E11_CEDAR,
        Call("send_sms", session_meta={"tags": ["sms1", "sms2", "sms3"]}),
        "hard_denied",
    ),
    ConformanceCase(
        "E11-sms1",
        E11_SQRT,
        E11_CEDAR,
        Call("send_sms", session_meta={"tags": ["sms1"]}),
        "allowed",
    ),
    ConformanceCase(
        "E11-universal-session-tags",
        E11_SQRT,
        E11_CEDAR,
        Call("send_sms", session_meta={"tags": ["*"]}),
        "hard_denied",
    ),
    ConformanceCase(
        "E13-hard", E13_SQRT, "", Call("parse_with_ai", {"query": _BLOCKED}), "hard_denied"
    ),
    ConformanceCase(
        "E13-hard-beats-allow",
        E13_SQRT + '\ntool "parse_with_ai" { hard allow always; }',
        E13_SOFT_CEDAR,
        Call("parse_with_ai", {"query": _BLOCKED}),
        "hard_denied",
    ),
    ConformanceCase(
        "E13-soft-overridden",
        E13_SOFT_SQRT,
        E13_SOFT_CEDAR,
        Call(
            "parse_with_ai",
            {"query": _BLOCKED},
            presets={"llm_blocked_tag_enforcement_level": "soft"},
        ),
        "allowed",
    ),
    ConformanceCase(
        "E13-soft-alone",
        E13_SQRT,
        "",
        Call(
            "parse_with_ai",
            {"query": _BLOCKED},
            presets={"llm_blocked_tag_enforcement_level": "soft"},
        ),
        "soft_denied",
    ),
    ConformanceCase(
        "E13-preset-off",
        E13_SQRT,
        "",
        Call("parse_with_ai", {"query": _BLOCKED}, presets={"enable_llm_blocked_tag": False}),
        "allowed",
    ),
    ConformanceCase(
        "E13-other-tool", E13_SQRT, "", Call("summarize", {"query": _BLOCKED}), "allowed"
    ),
    ConformanceCase(
        "E15-default-deny",
        E15_SQRT,
        E15_CEDAR,
        Call("send_fax", {"number": _arg("1")}, presets={"default_allow": False}),
        "soft_denied",
    ),
    ConformanceCase(
        "E15-default-deny-hard",
        E15_SQRT,
        E15_CEDAR,
        Call(
            "send_fax",
            {"number": _arg("1")},
            presets={"default_allow": False, "default_allow_enforcement_level": "hard"},
        ),
        "hard_denied",
    ),
    ConformanceCase(
        "E15-default-allow",
        E15_SQRT,
        E15_CEDAR,
        Call("send_fax", {"number": _arg("1")}),
        "allowed",
    ),
    ConformanceCase(
        "E15-pii",
        E15_SQRT,
        E15_CEDAR,
        Call("send_fax", {"number": _arg("1"), "data": _arg("x", tags=["pii"])}),
        "hard_denied",
    ),
    ConformanceCase(
        "E15-other-family",
        E15_SQRT,
        E15_CEDAR,
        Call("fax_send", {"data": _arg("x", tags=["pii"])}),
        "allowed",
    ),
)
