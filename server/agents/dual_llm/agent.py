"""The dual-LLM agent: find and lease the session, settle tool results, run the turn, save.

Decisions:
- The planner's view of the conversation is built from trusted roles only (system, developer,
  user). The client's copies of earlier assistant answers and tool results never reach it; the
  session remembers earlier turns' requests and programs itself.
- Tool results become program values as `tool_results.interpret_result` says (JSON-decoded when
  they parse, bare strings too, unless `strict_tool_result_parsing`).
- A request carrying tool results for calls that are not pending, with no new user message, gets
  400; a new user message always opens a new turn (a pending call is then abandoned).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import regex

from server.agents.dual_llm.guards import DualGuards, guarded_result, recorded_scores
from server.agents.dual_llm.ledger import cache_key_of
from server.audit.decisions import DecisionLog, OnDecision
from server.agents.dual_llm.planner import planner_conversation
from server.agents.dual_llm.quarantine import ask_quarantine
from server.agents.dual_llm.runner import TurnContext, combined_policy, run_turn
from server.agents.dual_llm.session_state import DualState
from server.agents.dual_llm.support import reject_unsupported
from server.agents.dual_llm.tool_results import interpret_result
from server.config import Fsm, SessionConfig
from server.errors import BadRequest, Conflict
from server.formats.canonical import Conversation, Message, Outcome, ToolCallsOutcome, ToolSpec
from server.guards import GuardError, GuardReport, ScoreCache
from server.names import Provider
from server.policy import load_policy
from server.policy.errors import PolicyLoadError
from server.policy.metadata import Labelled, MetaData, MetaDataError
from server.policygen.auto import auto_policy_for
from server.policygen.auto_cache import TwoLevelCache
from server.providers.completion import Usage
from server.providers.registry import ProviderRegistry
from server.sessions.ids import client_tool_call_id, new_session_id, session_of_tool_call_id
from server.sessions.record import Session
from server.sessions.store import SessionStore

__all__ = ["DualRequest", "run_dual"]

_STATE = "dual"


@dataclass(frozen=True)
class DualRequest:
    owner: str
    provider: Provider
    conversation: Conversation
    config: SessionConfig
    byok: str | None
    session_header: str | None
    scores: ScoreCache | None = None  # the process's tag-LLM score cache (Services.scores)


def _policy(config: SessionConfig) -> Any:
    try:
        return load_policy(config.policy.language, config.policy.code, config.policy.presets)
    except PolicyLoadError as err:
        raise BadRequest(f"Invalid X-Policy header: codes.code: {err}", param="X-Policy", code="invalid_policy") from None


def _context_vars(raw: Any) -> dict[str, Labelled]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadRequest("body.context_vars: must be an object of name -> {value, meta}", param="context_vars")
    try:
        return {str(k): Labelled.from_json(v, path=f"context_vars.{k}") for k, v in raw.items()}
    except MetaDataError as err:
        raise BadRequest(f"body.{err}", param="context_vars") from None


def _trailing_results(messages: tuple[Message, ...]) -> list[Message]:
    out: list[Message] = []
    for m in reversed(messages):
        if m.role != "tool":
            break
        out.append(m)
    return list(reversed(out))


async def _find_session(store: SessionStore, req: DualRequest) -> tuple[Session, bool]:
    conv = req.conversation
    candidate = req.session_header
    if not candidate and conv.previous_response_id:
        candidate = await store.resolve_alias(conv.previous_response_id)
    if not candidate:
        results = [m for m in conv.messages if m.role == "tool" and m.tool_call_id]
        candidate = session_of_tool_call_id(results[-1].tool_call_id) if results else None
    found = await store.acquire(candidate, owner=req.owner) if candidate else None
    if found is None:
        return Session(id=new_session_id(), owner=req.owner, arch="dual-llm"), False
    if found.arch != "dual-llm":
        await store.release(found.id, lease=found.lease)
        raise Conflict(
            f"session {found.id} runs '{found.arch}', but this request asks for 'dual-llm'; "
            "start a new session (omit X-Session-ID) to change architecture",
            code="arch_mismatch",
        )
    return found, True


def _settle_results(
    ctx_state: DualState, results: list[Message], policy: Any, *, fsm: Fsm,
    guarded: dict[str, GuardReport | GuardError] | None = None,
) -> None:
    """`guarded`: guard verdicts per call id; tags join the result before the policy's result phase."""
    pending = ctx_state.pending()
    for message in results:
        position = pending.get(message.tool_call_id or "")
        if position is None:
            allowed = ", ".join(sorted(pending)) or "none"
            raise BadRequest(
                f"tool result for call '{message.tool_call_id}' does not answer a pending call; pending calls: {allowed}",
                code="tool_call_not_pending",
            )
        event = ctx_state.events[position]
        outcome = interpret_result(message.text, is_error=message.is_error, fsm=fsm)
        session_meta = MetaData.from_json(event.session_meta)
        report = (guarded or {}).get(message.tool_call_id or "")
        if report is not None and outcome.error is None:
            value, error = guarded_result(outcome.value, report)
            outcome = replace(outcome, value=value, error=error)
            extra = dict(event.extra.get("guards") or {})
            if isinstance(report, GuardReport):
                extra["result"] = report.history_entries(tool=event.name, call_id=message.tool_call_id)
                extra["scores"] = {**(extra.get("scores") or {}), **report.recorded}
            event = replace(event, extra={**event.extra, "guards": extra})
        if outcome.error is not None:
            ctx_state.events[position] = event.settled(result=None, error=outcome.error, session_meta=session_meta)
            continue
        done = policy.complete(tool=event.name, args=event.labelled_args(), session_meta=session_meta, result=outcome.value)
        ctx_state.events[position] = event.settled(result=done.result, error=None, session_meta=done.session_meta)
        if any(regex.fullmatch(p, event.name, timeout=0.05) for p in fsm.force_to_cache):
            ctx_state.cache[cache_key_of(event.name, event.args)] = outcome.value


async def run_dual(
    req: DualRequest,
    *,
    store: SessionStore,
    providers: ProviderRegistry,
    generated: TwoLevelCache | None = None,
    decisions: DecisionLog | None = None,
) -> tuple[str, Outcome]:
    """`generated`: where `policy.auto_gen` policies are cached (server.policygen.auto);
    `decisions`: where every new verdict goes (audit log, metrics)."""
    config = req.config
    reject_unsupported(config)
    policy = _policy(config)
    session, stored = await _find_session(store, req)
    try:
        usage = Usage()
        if config.policy.auto_gen:  # issue 7 item 3: the request's policy plus generated deny rules
            tools = req.conversation.tools or _stored_tools(session)
            policy, usage = await auto_policy_for(
                config, tools, owner=req.owner, provider=req.provider, byok=req.byok,
                providers=providers, cache=generated if generated is not None else TwoLevelCache(),
            )
        on_decision = decisions.bound(session_id=session.id, owner=req.owner) if decisions else None
        outcome, session = await _step(req, session, policy, providers, usage, on_decision)
        session = await _persist(store, session, stored=stored, outcome=outcome, max_n_turns=config.fsm.max_n_turns)
        return session.id, outcome
    finally:
        if stored or session.lease:
            await store.release(session.id, lease=session.lease)


def _stored_tools(session: Session) -> tuple[ToolSpec, ...]:
    return tuple(ToolSpec(**t) for t in DualState.from_json(session.state.get(_STATE)).tools)


async def _step(
    req: DualRequest,
    session: Session,
    policy: Any,
    providers: ProviderRegistry,
    usage: Usage = Usage(),
    on_decision: OnDecision | None = None,
) -> tuple[Outcome, Session]:
    config, conv = req.config, req.conversation
    state = DualState.from_json(session.state.get(_STATE))
    if state.extra_policies:  # rules earlier set_policy calls added to this session
        policy = combined_policy(config, state.extra_policies)
    session_meta = MetaData.from_json(session.session_meta)
    results = _trailing_results(conv.messages)
    tools = conv.tools or tuple(ToolSpec(**t) for t in state.tools)
    mismatch = _history_mismatch(state, conv, policy_name=config.fsm.history_mismatch_policy)
    if mismatch:  # restart_turn / continue: replan from the caller's last request (spec 6.5)
        state.events = []
        results = []
    if (
        mismatch
        or conv.messages and conv.messages[-1].role in ("user", "developer")
        or not state.events and not results
    ):
        if config.fsm.clear_session_meta == "every_turn":
            session_meta = MetaData()
        trusted = [m for m in conv.messages if m.role in ("user", "developer")]
        state.new_turn(trusted[-1].text if trusted else "", session_meta.to_json())
    elif results:
        guards = DualGuards(config, client=providers.client(req.provider), model=config.pllm_model, cache=req.scores,
                            api_key=lambda: providers.api_key(provider=req.provider, byok=req.byok, models=config.model_names))
        guarded = await _guard_results(guards, state, results, config.fsm) if guards.active else None
        usage = usage + guards.usage
        if config.fsm.detect_tool_errors == "llm":
            results, asked = await _llm_error_detection(results, req, providers)
            usage = usage + asked
        _settle_results(state, results, policy, fsm=config.fsm, guarded=guarded)
    else:
        raise BadRequest("nothing to do: the request neither starts a turn nor answers a pending call")
    if config.fsm.clear_session_meta == "every_attempt" and state.program is None:
        session_meta = MetaData()
    key: dict[str, str] = {}

    def api_key() -> str:  # checked at the first LLM call only (spec 13.2)
        if "k" not in key:
            key["k"] = providers.api_key(provider=req.provider, byok=req.byok, models=config.model_names)
        return key["k"]

    ctx = TurnContext(
        config=config,
        state=state,
        policy=policy,
        client=providers.client(req.provider),
        api_key=api_key,
        tools=tools,
        trusted=planner_conversation(conv.messages, config.prompt.pllm),
        new_call_id=_call_ids(session.id),
        session_meta=session_meta,
        program_override=conv.user_provided_program,
        context_vars=_context_vars(conv.context_vars),
        usage=usage,
        guards=DualGuards(config, client=providers.client(req.provider), model=config.pllm_model, api_key=api_key,
                          cache=req.scores),
        on_decision=on_decision,
    )
    ctx.mismatch = mismatch
    outcome = await run_turn(ctx)
    if config.response_format.stream_thoughts and state.program:
        # The planner's program is its "thought"; Chat streams carry it as reasoning_content.
        # Messages and Responses streams have no channel the official client accepts for it.
        outcome = replace(outcome, thoughts=state.program)
    state.seen = fingerprint(conv.messages) + [_answer_fingerprint(outcome)]
    if not isinstance(outcome, ToolCallsOutcome):
        if state.program and not outcome.failed:
            kept = [] if config.fsm.prune_failed_steps else state.attempts
            state.turns.append([state.request, state.program, state.names, kept])
        state.new_turn("", ctx.session_meta.to_json())
    state.tools = [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools]
    updated = replace(
        session,
        session_meta=ctx.session_meta.to_json(),
        pending_calls=tuple(state.pending()),
        state={**session.state, _STATE: state.to_json()},
        turn=session.turn + (0 if isinstance(outcome, ToolCallsOutcome) else 1),
    )
    return outcome, updated


async def _guard_results(
    guards: DualGuards, state: DualState, results: list[Message], fsm: Fsm
) -> dict[str, GuardReport | GuardError]:
    """Guard verdicts for the results that answer pending calls (others get their 400 in settle)."""
    pending, recorded, out = state.pending(), recorded_scores(state.guards, state.events), {}
    for message in results:
        if message.tool_call_id in pending and not message.is_error:
            value = interpret_result(message.text, is_error=False, fsm=fsm).value
            out[message.tool_call_id or ""] = await guards.run([value], "result", recorded)
    return out


async def _llm_error_detection(
    results: list[Message], req: DualRequest, providers: ProviderRegistry
) -> tuple[list[Message], Usage]:
    """`detect_tool_errors: llm`: the quarantined model judges whether each result reports a
    failure (it reads tool output, so it is the QLLM's job). The verdict is settled into the ledger
    with the result, so a replay never asks again. An unreadable answer is not an error."""
    config = req.config
    limit = config.fsm.detect_tool_error_max_result_length
    key = providers.api_key(provider=req.provider, byok=req.byok, models=config.model_names)
    usage = Usage()
    out: list[Message] = []
    for message in results:
        sample = message.text if limit is None else message.text[:limit]
        answer = await ask_quarantine(
            providers.client(req.provider),
            model=config.qllm_model,
            api_key=key,
            query=f"Does this tool output report an error or a failure? Output:\n{sample}",
            output_schema="bool",
        )
        usage = usage + answer.usage
        out.append(replace(message, is_error=message.is_error or answer.value is True))
    return out, usage


def fingerprint(messages: tuple[Message, ...]) -> list[list[str]]:
    """What history reconciliation compares (spec 6.5): roles, trusted texts, tool-call ids.

    Assistant texts are left out: clients re-serialise our answers in their own ways.
    """
    out: list[list[str]] = []
    for m in messages:
        if m.role == "assistant":
            out.append(["assistant", *(c.id for c in m.tool_calls)])
        elif m.role == "tool":
            out.append(["tool", m.tool_call_id or ""])
        else:
            out.append([m.role, m.text])
    return out


def _answer_fingerprint(outcome: Outcome) -> list[str]:
    calls = outcome.calls if isinstance(outcome, ToolCallsOutcome) else ()
    return ["assistant", *(c.id for c in calls)]


def _history_mismatch(state: DualState, conv: Conversation, *, policy_name: str) -> bool:
    """True when the caller's history diverges from what this session answered.

    Responses continuations (`previous_response_id`) carry only new items and are not compared.
    `reject` answers 409; `restart_turn` and `continue` both replan from the caller's last request
    (this server keeps no message history to cut, so the two behave the same) and the answer says
    `message_history_mismatch_detected`.
    """
    if not state.seen or conv.previous_response_id:
        return False
    seen = fingerprint(conv.messages)
    if seen[: len(state.seen)] == state.seen:
        return False
    if policy_name == "reject":
        raise Conflict(
            "history mismatch: the messages do not continue this session's conversation "
            "(fsm.history_mismatch_policy is 'reject'); resend the session's history, or start a new session",
            code="history_mismatch",
        )
    return True


def _call_ids(session_id: str) -> Callable[[], str]:
    return lambda: client_tool_call_id(session_id)


async def _persist(
    store: SessionStore, session: Session, *, stored: bool, outcome: Outcome, max_n_turns: int | None
) -> Session:
    finished = not isinstance(outcome, ToolCallsOutcome)
    if finished and max_n_turns is not None and session.turn >= max_n_turns:
        if stored:
            await store.delete(session.id)
        return replace(session, lease=None)
    return await (store.save(session) if stored else store.create(session))
