"""Single-LLM passthrough: forward the caller's request upstream, relay the answer, keep the session.

The caller's body goes upstream with every field intact (spec 13.11); only tool-call ids change
(spec 13.5), `is_sequrity_var` wrappers are unwrapped, and an answer proposing a denied tool call
is replaced by the denial (spec 13.4; see `single_llm_policy`). The session keeps no history, only
its turn count, the calls it is waiting for (with their upstream ids, which Responses
continuations need), session metadata (spec 6.5) and the enforcement state.

Decisions:
- A brand-new session that ends its last turn in this very request is never written to the store:
  nobody could continue it, so writing and deleting it would only cost time.
- A request that fails (upstream error, client gone mid-stream) releases its lease and leaves the
  stored session exactly as it was.
- Guards (X-Features classifiers and blockers, `single_llm_guards`) run on the request's tool
  results before anything goes upstream and on the answer's tool calls at the gate; the tag LLM's
  usage is added to a non-streamed answer's `usage` (a streamed answer's usage is the upstream's).
- The policy is loaded before the session is leased or anything goes upstream: an invalid policy
  is a 400 that costs nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from server.agents.single_llm_guards import RequestGuards, add_usage
from server.audit.decisions import DecisionLog
from server.agents.single_llm_policy import STATE_KEY, Enforcer, decode_arguments, load_request_policy
from server.config.models import Blocker, Classifier
from server.config.session import PolicyConfig
from server.errors import BadRequest, Conflict
from server.formats import CODECS, Relayed
from server.formats.base import GateDecision, SessionHints, ToolCallView
from server.guards import ScoreCache
from server.formats.ids import IdMapper
from server.formats.responses import answer_denied_calls
from server.names import Provider, WireFormat
from server.providers.base import UpstreamCall
from server.providers.registry import ProviderRegistry
from server.sessions.ids import new_session_id, session_of_tool_call_id
from server.sessions.record import Session
from server.sessions.store import SessionStore

__all__ = ["PassthroughRequest", "JsonOutcome", "StreamOutcome", "run_passthrough"]

_PENDING = "pending"  # state key: client call id -> upstream call id
# state key, Responses only: the last answer's denied calls, answered on its continuation
# ({"response_id", "calls": [[upstream id, kind]], "text"}; see `answer_denied_calls`)
_DENIED = "denied_calls"


@dataclass(frozen=True)
class PassthroughRequest:
    owner: str
    provider: Provider
    format: WireFormat
    body: dict[str, Any]
    model: str
    byok: str | None
    session_header: str | None
    max_n_turns: int | None
    provider_headers: Mapping[str, str]
    query: Mapping[str, str]
    policy: PolicyConfig = PolicyConfig()
    clear_session_meta: str = "never"  # fsm.clear_session_meta: never | every_turn | every_attempt
    classifiers: tuple[Classifier, ...] = ()  # X-Features content_classifiers (a `GuardConfig`)
    blockers: tuple[Blocker, ...] = ()  # X-Features content_blockers


@dataclass(frozen=True)
class JsonOutcome:
    session_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class StreamOutcome:
    session_id: str
    chunks: AsyncIterator[bytes]


class _Turn:
    """One request's hold on its session: found or new, leased, and settled exactly once."""

    def __init__(self, store: SessionStore, session: Session, *, stored: bool) -> None:
        self.store = store
        self.session = session
        self.stored = stored
        self.settled = False

    async def finish(
        self, relayed: Relayed, ids: IdMapper, *, max_n_turns: int | None, enforcer: Enforcer,
        denied: dict[str, Any] | None = None,
    ) -> None:
        """Record the answer: pending calls, or a finished turn (deleting the last one)."""
        if not relayed.tool_calls:
            enforcer.state.calls = {}
        state = {k: v for k, v in self.session.state.items() if k != _DENIED}
        if denied and relayed.response_id:
            state[_DENIED] = {"response_id": relayed.response_id, **denied}
        s = replace(
            self.session,
            session_meta=enforcer.session_meta.to_json(),
            state={**state, STATE_KEY: enforcer.state.to_json()},
        )
        if relayed.tool_calls:
            s = replace(s, pending_calls=tuple(ids.issued), state={**s.state, _PENDING: ids.issued})
        else:
            s = replace(s, turn=s.turn + 1, pending_calls=(), state={**s.state, _PENDING: {}})
            if max_n_turns is not None and s.turn >= max_n_turns:
                if self.stored:
                    await self.store.delete(s.id)
                self.settled = True
                if _DENIED in s.state:
                    await self._leave_heir(s, relayed.response_id)
                return
        s = await (self.store.save(s) if self.stored else self.store.create(s))
        self.stored = True
        self.session = s
        if relayed.response_id:
            await self.store.bind_alias(relayed.response_id, s.id)

    async def _leave_heir(self, finished: Session, response_id: str | None) -> None:
        """The session closed on a denied Responses answer, which the upstream still holds with its
        calls: a continuation from it starts a new session that carries only the denial record, so
        the calls get answered (`answer_denied_calls`). Nothing else of the closed session survives."""
        if not response_id:
            return
        heir = Session(id=new_session_id(), owner=finished.owner, arch=finished.arch,
                       state={_DENIED: finished.state[_DENIED]})
        heir = await self.store.create(heir)
        await self.store.release(heir.id, lease=heir.lease)
        await self.store.bind_alias(response_id, heir.id)

    async def close(self) -> None:
        """Drop this request's lease, whatever happened; the stored session stays as last saved."""
        if not self.settled and self.stored:
            self.settled = True
            await self.store.release(self.session.id, lease=self.session.lease)


async def _find_session(
    store: SessionStore, req: PassthroughRequest, hints: SessionHints
) -> _Turn:
    candidate = req.session_header
    if not candidate and hints.previous_response_id:
        candidate = await store.resolve_alias(hints.previous_response_id)
    if not candidate and hints.latest_result:
        candidate = session_of_tool_call_id(hints.latest_result)
    session = await store.acquire(candidate, owner=req.owner) if candidate else None
    if session is None:
        fresh = Session(id=new_session_id(), owner=req.owner, arch="single-llm")
        return _Turn(store, fresh, stored=False)
    turn = _Turn(store, session, stored=True)
    try:
        _check_session(session, hints)
    except BaseException:
        await turn.close()
        raise
    return turn


def _check_session(session: Session, hints: SessionHints) -> None:
    if session.arch != "single-llm":
        raise Conflict(
            f"session {session.id} runs '{session.arch}', but this request asks for 'single-llm'; "
            "start a new session (omit X-Session-ID) to change architecture",
            code="arch_mismatch",
        )
    pending = set(session.pending_calls)
    for call_id in hints.trailing_results:
        if session_of_tool_call_id(call_id) == session.id and call_id not in pending:
            allowed = ", ".join(sorted(pending)) or "none"
            raise BadRequest(
                f"tool result for call '{call_id}' does not answer a pending call of session "
                f"{session.id}; pending calls: {allowed}",
                code="tool_call_not_pending",
            )


async def run_passthrough(
    req: PassthroughRequest,
    *,
    store: SessionStore,
    providers: ProviderRegistry,
    stream: bool,
    scores: ScoreCache | None = None,
    decisions: DecisionLog | None = None,
) -> JsonOutcome | StreamOutcome:
    """`scores`: the process's tag-LLM score cache (`Services.scores`)."""
    codec = CODECS[req.format]
    policy = load_request_policy(req.policy)
    api_key = providers.api_key(provider=req.provider, byok=req.byok, models=(req.model,))
    hints = codec.hints(req.body)
    turn = await _find_session(store, req, hints)
    try:
        enforcer = Enforcer.start(
            policy=policy,
            config=req.policy,
            stored_state=turn.session.state.get(STATE_KEY),
            stored_meta=turn.session.session_meta,
            clear=req.clear_session_meta,
            opens_turn=hints.opens_turn,
            session_id=turn.session.id,
            on_decision=decisions.bound(session_id=turn.session.id, owner=req.owner) if decisions else None,
        )
        guards = RequestGuards.build(
            req, providers=providers, provider=req.provider, model=req.model, api_key=api_key, cache=scores,
            recorded=enforcer.state.scores,
        )
        history, results = codec.exchange(req.body)
        guarded = await guards.results(results) if guards is not None and results else None
        unwrapped = enforcer.settle(history, results, pending=set(turn.session.pending_calls), guarded=guarded)
    except BaseException:
        await turn.close()
        raise
    body = codec.replace_results(req.body, unwrapped) if unwrapped else req.body
    denied_before = turn.session.state.get(_DENIED)
    if denied_before and hints.previous_response_id == denied_before["response_id"]:
        body = answer_denied_calls(body, denied_before["calls"], denied_before["text"])
    ids = IdMapper(turn.session.id, turn.session.state.get(_PENDING, {}))
    call = UpstreamCall(
        format=req.format,
        body=codec.to_upstream(body, ids),
        api_key=api_key,
        headers=req.provider_headers,
        query=req.query,
    )
    client = providers.client(req.provider)
    relayed = Relayed()
    denied: dict[str, Any] = {}  # this answer's denied calls, for a Responses continuation

    async def gate(calls: list[ToolCallView]) -> GateDecision:
        reports = None
        if guards is not None:
            reports = await guards.arguments(calls, [decode_arguments(c.arguments) for c in calls])
            enforcer.state.scores = guards.scores_to_store()
        denial = enforcer.gate(calls, reports)
        if denial is not None and req.body.get("store") is not False:  # an unstored answer cannot be continued
            denied.update(calls=[[ids.issued.get(c.call_id, c.call_id), c.kind] for c in calls], text=denial)
            ids.issued.clear()  # no call of a denied answer reaches the client
        return GateDecision(denial=denial, arguments=enforcer.rewrites)

    if guards is not None:
        enforcer.state.scores = guards.scores_to_store()

    if not stream:
        try:
            answer = codec.from_upstream(await client.send(call), ids, relayed)
            proposed = codec.proposed_calls(answer) if relayed.tool_calls else []
            decision = await gate(proposed) if proposed else GateDecision()
            if decision.denial is not None:
                answer, relayed.tool_calls = codec.deny(answer, decision.denial), False
            elif decision.arguments:
                answer = codec.rewrite_calls(answer, decision.arguments)
            if guards is not None:
                answer = add_usage(answer, guards.usage)
            await turn.finish(relayed, ids, max_n_turns=req.max_n_turns, enforcer=enforcer, denied=denied)
        finally:
            await turn.close()
        return JsonOutcome(turn.session.id, answer)
    try:
        events = await client.stream(call)
    except BaseException:
        await turn.close()
        raise

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in codec.stream_from_upstream(events, ids, relayed, gate):
                yield chunk
            await turn.finish(relayed, ids, max_n_turns=req.max_n_turns, enforcer=enforcer, denied=denied)
        finally:
            await turn.close()

    return StreamOutcome(turn.session.id, chunks())
