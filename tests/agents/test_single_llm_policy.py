"""The single-LLM enforcer on its own: result settling, session clearing, verdicts, the stored state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.agents.single_llm_policy import (
    MAX_HISTORY,
    MAX_STORED_ARGS,
    Enforcer,
    PolicyState,
    decode_arguments,
    load_request_policy,
)
from server.config.session import PolicyConfig
from server.errors import BadRequest
from server.formats.base import ToolCallView, ToolResultView
from server.policy.metadata import MetaData

POLICY = """
tool "read_inbox" -> session @tags |= {"untrusted"};
tool "fetch_page" -> @tags |= {"web"};
tool "send_email" {
    /// Untrusted sessions cannot mail
    must deny when "untrusted" in @session.tags;
    /// Web content must not be mailed
    must deny when body.tags overlaps {"web"};
}
"""
CONFIG = PolicyConfig(code=POLICY)
MAIL = ToolCallView("tc-new", "send_email", json.dumps({"to": "bob@x.org", "body": "hi"}))


class Counting:
    """A policy that counts `complete` calls, to prove a settled result never runs twice."""

    def __init__(self) -> None:
        self.inner = load_request_policy(CONFIG)
        self.language = self.inner.language
        self.completes = 0

    def check(self, **kw: Any) -> Any:
        return self.inner.check(**kw)

    def complete(self, **kw: Any) -> Any:
        self.completes += 1
        return self.inner.complete(**kw)


def enforcer(policy: Any = None, *, state: Any = None, meta: Any = None, clear: str = "never",
             opens_turn: bool = False) -> Enforcer:
    return Enforcer.start(
        policy=policy or load_request_policy(CONFIG),
        config=CONFIG,
        stored_state=state,
        stored_meta=meta or MetaData().to_json(),
        clear=clear,
        opens_turn=opens_turn,
    )


def pending_state(call_id: str, tool: str) -> dict[str, Any]:
    return PolicyState(calls={call_id: {"tool": tool, "args": {}}}).to_json()


def test_pending_result_runs_its_phases_once_and_is_reused_on_resend() -> None:
    policy = Counting()
    first = enforcer(policy, state=pending_state("tc-a", "read_inbox"))
    result = ToolResultView("tc-a", "mail")
    first.settle([], [result], pending={"tc-a"})
    assert policy.completes == 1 and "untrusted" in first.session_meta.tags
    stored = first.state.to_json()
    again = enforcer(policy, state=stored, meta=first.session_meta.to_json())
    again.settle([], [result], pending=set())
    assert policy.completes == 1, "a resent result must reuse its stored metadata"
    assert again.gate([MAIL]) is not None


def test_unknown_call_counts_for_this_request_but_never_touches_the_stored_session() -> None:
    e = enforcer()
    history = [ToolCallView("toolu_1", "read_inbox", {})]
    e.settle(history, [ToolResultView("toolu_1", "mail")], pending=set())
    assert e.session_meta == MetaData() and e.state.settled == {}
    denial = e.gate([MAIL])
    assert denial is not None and "Untrusted sessions cannot mail" in denial
    assert "untrusted" not in e.session_meta.tags


def test_result_tags_reach_every_later_argument() -> None:
    e = enforcer()
    e.settle([ToolCallView("c1", "fetch_page", "{}")], [ToolResultView("c1", "<html>")], pending=set())
    assert "web" in e.conversation.tags
    assert "Web content must not be mailed" in (e.gate([MAIL]) or "")


@pytest.mark.parametrize(
    "clear, opens_turn, kept",
    [("never", True, True), ("every_turn", False, True), ("every_turn", True, False), ("every_attempt", False, False)],
)
def test_clear_session_meta(clear: str, opens_turn: bool, kept: bool) -> None:
    tagged = MetaData(tags=frozenset({"untrusted"})).to_json()
    e = enforcer(meta=tagged, clear=clear, opens_turn=opens_turn)
    assert ("untrusted" in e.session_meta.tags) is kept


@pytest.mark.parametrize(
    "content, plain",
    [
        (json.dumps({"value": "v", "meta": {"producers": [], "consumers": ["*"], "tags": ["s"]}, "is_sequrity_var": True}), "v"),
        (json.dumps({"value": {"a": 1}, "meta": {"producers": [], "consumers": ["*"], "tags": []}, "is_sequrity_var": True}), '{"a": 1}'),
        ([{"type": "text", "text": json.dumps({"value": 2, "meta": {"producers": [], "consumers": ["*"], "tags": []}, "is_sequrity_var": True})}], "2"),
        (json.dumps({"value": "v", "meta": {"tags": ["s"]}, "is_sequrity_var": True}), None),  # malformed: plain
        (json.dumps({"value": "v", "is_sequrity_var": "yes"}), None),
        ("plain text", None),
    ],
)
def test_wrappers_are_unwrapped_for_the_upstream(content: Any, plain: str | None) -> None:
    e = enforcer()
    replaced = e.settle([], [ToolResultView("c", content)], pending=set())
    assert replaced.get("c") == plain


def test_wrapper_tags_join_the_conversation() -> None:
    e = enforcer()
    wrapped = {"value": "v", "meta": {"producers": ["vault"], "consumers": ["bob"], "tags": ["web"]}, "is_sequrity_var": True}
    e.settle([], [ToolResultView("c", json.dumps(wrapped))], pending=set())
    assert e.conversation.producers == {"vault"} and e.conversation.consumers == {"bob"}
    assert e.gate([MAIL]) is not None


def test_tool_errors_add_nothing() -> None:
    e = enforcer()
    e.settle([ToolCallView("c", "fetch_page", {})], [ToolResultView("c", "boom", is_error=True)], pending=set())
    assert e.conversation == MetaData() and e.gate([MAIL]) is None


def test_allowed_calls_are_remembered_with_their_arguments_and_history_is_recorded() -> None:
    e = enforcer()
    assert e.gate([MAIL]) is None
    assert e.state.calls["tc-new"]["tool"] == "send_email"
    assert e.state.calls["tc-new"]["args"]["to"] == "bob@x.org"
    entry = e.state.history[-1]
    assert entry["tool"] == "send_email" and entry["allowed"] is True and entry["source"] == "sqrt"


def test_partly_denied_answer_remembers_no_call() -> None:
    e = enforcer(meta=MetaData(tags=frozenset({"untrusted"})).to_json())
    other = ToolCallView("tc-2", "fetch_page", "{}")
    denial = e.gate([other, MAIL])
    assert denial is not None and denial.count("is denied by argument checking policies") == 1
    assert e.state.calls == {} and [h["allowed"] for h in e.state.history] == [True, False]
    assert e.state.history[-1]["denied"][0]["description"] == "Untrusted sessions cannot mail"


@pytest.mark.parametrize("raw", ['{"to": "x"', "[1, 2]", 7])
def test_arguments_that_are_not_an_object_are_denied(raw: Any) -> None:
    e = enforcer()
    denial = e.gate([ToolCallView("c", "anything", raw)])
    assert denial is not None and denial.startswith("Tool call to 'anything' is denied")
    assert e.state.history[-1]["verdict"] == "hard_denied"


@pytest.mark.parametrize("raw, decoded", [("", {}), (None, {}), ({"a": 1}, {"a": 1}), ('{"a": 1}', {"a": 1})])
def test_decode_arguments(raw: Any, decoded: dict) -> None:
    assert decode_arguments(raw) == decoded


def test_large_arguments_are_not_stored_but_taken_from_the_history() -> None:
    big = {"path": "/tmp/x", "content": "x" * (MAX_STORED_ARGS + 1)}
    first = enforcer()
    call = ToolCallView("tc-big", "write_file", json.dumps(big))
    assert first.gate([call]) is None and first.state.calls["tc-big"]["args"] is None
    second = enforcer(state=first.state.to_json())
    second.settle([call], [ToolResultView("tc-big", "ok")], pending={"tc-big"})
    assert "tc-big" in second.state.settled


def test_state_round_trips_and_history_is_capped() -> None:
    state = PolicyState(history=[{"n": i} for i in range(MAX_HISTORY + 5)], seen=MetaData(tags=frozenset({"t"})))
    back = PolicyState.from_json(json.loads(json.dumps(state.to_json())))
    assert len(back.history) == MAX_HISTORY and back.history[-1] == {"n": MAX_HISTORY + 4}
    assert back.seen.tags == {"t"}
    assert PolicyState.from_json(None) == PolicyState()


def test_invalid_policy_is_a_400_naming_line_and_column() -> None:
    with pytest.raises(BadRequest) as err:
        load_request_policy(PolicyConfig(code='tool "t" {\n  must deny when ;\n}'))
    assert "line 2, column" in err.value.message and err.value.code == "invalid_policy"


def test_single_llm_ignores_the_non_executable_preset() -> None:
    e = enforcer()
    e.settle([ToolCallView("c", "read_secret", {})], [ToolResultView("c", "x")], pending=set())
    assert "__non_executable" not in e.conversation.tags
