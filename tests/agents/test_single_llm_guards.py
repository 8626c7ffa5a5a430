"""The single-LLM enforcer with guard reports: redaction written back, tags before the result phase, history."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from server.agents.single_llm_guards import RequestGuards, add_usage, with_tags
from server.agents.single_llm_policy import Enforcer, PolicyState, load_request_policy
from server.config.models import Blocker, Classifier
from server.config.session import PolicyConfig
from server.formats.base import ToolCallView, ToolResultView
from server.guards import GuardTimeout
from server.policy.metadata import MetaData
from server.providers.completion import Usage

POLICY = """
tool "read_chart" -> session @tags |= @result.tags;
tool "send_email" {
    /// No personal data after a chart with PII
    hard deny when "__pii" in @session.tags;
}
"""
CONFIG = PolicyConfig(code=POLICY)


@dataclass(frozen=True)
class Guards:
    classifiers: tuple[Classifier, ...] = (Classifier(name="pii_redaction"),)
    blockers: tuple[Blocker, ...] = (Blocker(name="url_blocker"),)


def enforcer(state: Any = None) -> Enforcer:
    return Enforcer.start(policy=load_request_policy(CONFIG), config=CONFIG, stored_state=state,
                          stored_meta=MetaData().to_json(), clear="never", opens_turn=False)


def guards() -> RequestGuards:
    return RequestGuards(config=Guards(), llm=None)


def test_redacted_arguments_are_relayed_remembered_and_scored_in_history() -> None:
    e = enforcer()
    call = ToolCallView("tc-1", "send_email", json.dumps({"to": "bob@example.org", "body": "see www.evil.io"}))
    reports = asyncio.run(guards().arguments([call], [json.loads(call.arguments)]))
    assert e.gate([call], reports) is None
    assert e.rewrites == {"tc-1": {"to": "[EMAIL_1]", "body": "see [URL_1]"}}
    assert e.state.calls["tc-1"]["args"] == {"to": "[EMAIL_1]", "body": "see [URL_1]"}
    assert {"__pii", "__url_masked"} <= set(e.state.calls["tc-1"]["meta"]["tags"])
    classifier = [h for h in e.state.history if h["source"] == "classifier"]
    assert classifier[0]["tool"] == "send_email" and classifier[0]["score"] == 1.0


def test_result_tags_reach_the_result_phase_and_the_upstream_gets_placeholders() -> None:
    state = PolicyState(calls={"tc-r": {"tool": "read_chart", "meta": MetaData().to_json(), "args": {}}}).to_json()
    e = enforcer(state)
    result = ToolResultView("tc-r", "Patient alice@example.com")
    reports = asyncio.run(guards().results([result]))
    replaced = e.settle([], [result], pending={"tc-r"}, guarded=reports)
    assert replaced == {"tc-r": "Patient [EMAIL_1]"}
    assert "__pii" in e.session_meta.tags  # the session phase saw the guard's tag
    assert "No personal data" in (e.gate([ToolCallView("tc-2", "send_email", "{}")]) or "")


def test_unguardable_arguments_are_denied_with_the_sentence() -> None:
    e = enforcer()
    call = ToolCallView("tc-3", "send_email", "{}")
    denial = e.gate([call], {"tc-3": GuardTimeout(detector="pii", chars=10)})
    assert denial is not None and denial.startswith("Tool call to 'send_email' is denied by argument checking policies.")


def test_with_tags_keeps_a_client_wrapper_and_adds_the_tags() -> None:
    wrapped = {"is_sequrity_var": True, "value": "x", "meta": {"producers": ["db"], "consumers": ["*"], "tags": ["a"]}}
    out = with_tags(wrapped, frozenset({"__pii"}), "y")
    assert out["value"] == "y" and out["meta"]["tags"] == ["__pii", "a"] and out["meta"]["producers"] == ["db"]


def test_usage_is_added_in_every_format() -> None:
    chat = add_usage({"usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}, Usage(2, 3))
    assert chat["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    responses = add_usage({"usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}, Usage(2, 3))
    assert responses["usage"] == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
