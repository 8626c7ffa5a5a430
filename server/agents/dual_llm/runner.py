"""One dual-LLM request's work: plan, run, answer the quarantined LLM, replay — until the client must act.

The loop never waits for a client: a client tool call ends the request with a tool-call outcome
(the ledger records it as pending); the next request settles it and runs the program again from
the top. Quarantined-LLM calls are answered within the request and replayed the same way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from server.agents.dual_llm import interpreter
from server.agents.dual_llm.content import Failure, failure_outcome, success_outcome
from server.agents.dual_llm.gateway import (
    INTERNAL_SPECS,
    NOT_ENOUGH_INFORMATION,
    HistoryMismatch,
    LedgerGateway,
)
from server.agents.dual_llm.interpreter.gateway import ToolSpec as InterpreterTool
from server.agents.dual_llm.interpreter.errors import (
    ControlFlowViolation,
    LimitExceeded,
    PolicyDenied,
    ProgramRejected,
    ProgramRuntimeError,
    Suspend,
    WallTimeExceeded,
)
from server.agents.dual_llm.guards import DualGuards, GuardPending, recorded_scores, verdict_json
from server.agents.dual_llm.ledger import Event
from server.agents.dual_llm.plans import pick_candidate, plan_candidates
from server.agents.dual_llm.planner import context_var_lines
from server.agents.dual_llm.planner import CLARIFY_PREFIX, NoProgram, PlannerView, extract_program, planner_messages
from server.agents.dual_llm.quarantine import ask_quarantine
from server.agents.dual_llm.tool_filter import filter_tools
from server.agents.dual_llm.review import feedback_for_planner, review_result
from server.agents.dual_llm.session_state import DualState
from server.audit.decisions import OnDecision
from server.config import SessionConfig
from server.formats.canonical import FinalOutcome, Message, TokenUsage, ToolCall, ToolCallsOutcome, ToolSpec
from server.policy import load_policy
from server.policy.branching import branch_violations
from server.policy.errors import PolicyLoadError
from server.policy.results import NON_EXECUTABLE_TAG, QLLM_TOOLS
from server.policy.sqrt import parse as parse_sqrt
from server.policygen.auto_policy import restriction_problems
from server.policy.engine import PolicySet
from server.policy.metadata import Labelled, MetaData
from server.providers.base import LlmClient
from server.providers.completion import ChatTurn, Usage, complete

__all__ = ["TurnContext", "run_turn"]


@dataclass
class TurnContext:
    """What one request brings to the loop; `usage` accumulates every internal LLM call."""

    config: SessionConfig
    state: DualState
    policy: PolicySet
    client: LlmClient
    api_key: Callable[[], str]
    tools: tuple[ToolSpec, ...]
    trusted: tuple[Message, ...]
    new_call_id: Callable[[], str]
    session_meta: MetaData
    program_override: str | None = None
    context_vars: dict[str, Labelled] = field(default_factory=dict)
    usage: Usage = Usage()
    guards: DualGuards | None = None  # classifiers and blockers (dual_llm/guards.py)
    on_decision: OnDecision | None = None  # audit log and metrics
    mismatch: bool = False  # the caller's history diverged; the answer says so (spec 6.5)
    planner_tools: tuple[ToolSpec, ...] | None = None  # after the tool-filter LLM


def _tokens(usage: Usage) -> TokenUsage:
    return TokenUsage(usage.prompt_tokens, usage.completion_tokens)


def _fail(ctx: TurnContext, code: str, message: str) -> FinalOutcome:
    return failure_outcome(
        Failure(code, message),
        fmt=ctx.config.response_format,
        usage=_tokens(ctx.usage),
        program=ctx.state.program,
        history=ctx.state.history,
        mismatch=ctx.mismatch,
    )


async def _plan(ctx: TurnContext) -> str | FinalOutcome:
    """A new program from the planner, or a final outcome (clarifying question, limits)."""
    fsm = ctx.config.fsm
    state = ctx.state
    if state.steps >= fsm.max_pllm_steps:
        return _fail(ctx, "max_steps_exceeded", f"max_pllm_steps reached ({fsm.max_pllm_steps} planner steps)")
    state.steps += 1
    if ctx.planner_tools is None:  # the tool-filter LLM, once per request
        ctx.planner_tools, used = await filter_tools(
            ctx.client, config=ctx.config, api_key=ctx.api_key(), request=state.request, tools=ctx.tools
        )
        ctx.usage = ctx.usage + used
    view = PlannerView(
        turns=tuple((t[0], t[1], tuple(t[2])) for t in state.turns),
        turn_failures=tuple(tuple((a[0], a[1]) for a in (t[3] if len(t) > 3 else ())) for t in state.turns),
        attempts=tuple((a[0], a[1]) for a in state.attempts),
        steps=tuple((step[0], tuple(step[1])) for step in state.done_steps),
    )
    messages = planner_messages(
        trusted=ctx.trusted,
        tools=ctx.planner_tools,
        internal_tools=sorted(_internal_tools(ctx)),
        view=view,
        clarify=ctx.config.prompt.pllm.clarify_ambiguous_queries,
        context_var_names=context_var_lines(ctx.context_vars, ctx.config.prompt.pllm.context_var_visibility),
        flavor=ctx.config.prompt.pllm.flavor or ("code" if ctx.config.family == "code" else "universal"),
        multistep=fsm.enable_multistep_planning,
    )
    if fsm.n_pllm_plans > 1:
        models = sorted(fsm.pllm_candidate_models) or [ctx.config.pllm_model]
        answers, usage = await plan_candidates(
            ctx.client, messages=messages, models=models, n=fsm.n_pllm_plans, api_key=ctx.api_key()
        )
        chosen, text, picked = await pick_candidate(
            ctx.client, messages=messages, answers=answers, model=ctx.config.pllm_model, api_key=ctx.api_key()
        )
        ctx.usage = ctx.usage + usage + picked
        if chosen is not None:
            return chosen
    else:
        got = await complete(
            ctx.client, model=ctx.config.pllm_model, messages=messages, api_key=ctx.api_key(),
            params=ctx.config.llm.pllm,
        )
        ctx.usage = ctx.usage + got.usage
        text = got.text
    if ctx.config.prompt.pllm.clarify_ambiguous_queries and text.strip().startswith(CLARIFY_PREFIX):
        question = text.strip()[len(CLARIFY_PREFIX):].strip()
        return success_outcome(Labelled(question), fmt=ctx.config.response_format, usage=_tokens(ctx.usage))
    try:
        return extract_program(text)
    except NoProgram as err:
        return await _failed_step(ctx, text, str(err))


async def _failed_step(ctx: TurnContext, program: str, error: str) -> str | FinalOutcome:
    """Record a failed step and plan again, within `max_pllm_failed_steps`."""
    state = ctx.state
    state.failed += 1
    state.attempts.append([program, error])
    limit = ctx.config.fsm.max_pllm_failed_steps
    if state.failed >= limit or ctx.program_override is not None:
        code = "execution_error" if ctx.program_override is not None else "max_steps_exceeded"
        message = error if ctx.program_override is not None else f"max_pllm_failed_steps reached ({limit}); last error: {error}"
        return _fail(ctx, code, message)
    every = ctx.config.fsm.clear_history_every_n_attempts
    if every and state.failed % every == 0:
        state.attempts = []
    state.new_attempt(ctx.session_meta.to_json())
    return await _plan(ctx)


def _set_policy(ctx: TurnContext, event: Event) -> str | None:
    """`set_policy(code)`: add SQRT deny rules for the rest of the session; an error text if refused.

    Restrict only (spec dual-llm 4): the text may hold `let`s and deny check rules, nothing that
    could relax a policy (allow rules, priorities, updates — stricter than the spec's "deny rules
    and |= tag updates", because adding a tag can un-fire a rule written with `not`); refused when
    the text carries `__non_executable` or any producer (it derives from tool output).
    """
    code = event.labelled_args().get("code")
    if code is None or not isinstance(code.value, str):
        return "set_policy(code) needs the policy text as a string"
    if NON_EXECUTABLE_TAG in code.meta.tags or code.meta.producers:
        return "set_policy refuses policy text derived from tool output"
    if ctx.config.policy.language != "sqrt":
        return "set_policy adds SQRT rules; this session's policy is Cedar"
    try:
        problems = restriction_problems(parse_sqrt(code.value))
        if problems:
            return "set_policy may only restrict: " + "; ".join(p.message for p in problems[:5])
        extras = [*ctx.state.extra_policies, code.value]
        ctx.policy = combined_policy(ctx.config, extras)
    except PolicyLoadError as err:
        return f"set_policy: {err}"
    ctx.state.extra_policies = extras
    return None


def combined_policy(config: SessionConfig, extras: list[str]) -> PolicySet:
    """The request's policy with the session's `set_policy` additions after it."""
    text = "\n\n".join([config.policy.code, *extras])
    return load_policy(config.policy.language, text, config.policy.presets)


def _error_for_planner(err: ProgramRuntimeError, ctx: TurnContext) -> str:
    """`prompt.pllm.debug_info_level`: `minimal` the error type and line only; `normal` the message
    unless it depends on untrusted data; `extra` adds the failing source line. Redaction applies
    at every level (guarantee 4)."""
    level = ctx.config.prompt.pllm.debug_info_level
    if level == "minimal":
        return err.redacted().replace(" (message redacted: it depends on untrusted data)", "")
    text = err.for_planner()
    if level == "extra" and err.line is not None and ctx.state.program:
        lines = ctx.state.program.splitlines()
        if 0 < err.line <= len(lines):
            text += f"\n  at line {err.line}: {lines[err.line - 1].strip()}"
    return text


def _branch_check(ctx: TurnContext) -> Callable[[MetaData], str | None] | None:
    if ctx.config.policy.mode != "custom":
        return None
    policy = ctx.config.policy.presets.branching_meta_policy

    def check(meta: MetaData) -> str | None:
        found = branch_violations(policy, meta)
        return "; ".join(found) if found else None

    return check


async def _answer_quarantine(ctx: TurnContext, event: Event) -> Event:
    """Run a pending parse_with_ai / verify_hypothesis now and settle its ledger event."""
    args = event.labelled_args()
    values = {k: v.value for k, v in args.items()}
    if event.name == "verify_hypothesis":
        query = f"Hypothesis: {values.get('hypothesis')}\nEvidence: {json.dumps(values.get('evidence'), default=str)}"
        schema: Any = "bool"
    else:
        query = str(values.get("query", ""))
        schema = values.get("output_schema", "str")
    try:
        answer = await ask_quarantine(
            ctx.client, model=ctx.config.qllm_model, api_key=ctx.api_key(), query=query, output_schema=schema,
            params=ctx.config.llm.qllm,
        )
    except ValueError as err:  # a bad output_schema is the program's error
        return event.settled(result=None, error=str(err), session_meta=MetaData.from_json(event.session_meta))
    ctx.usage = ctx.usage + answer.usage
    if answer.not_enough_information:
        return event.settled(result=None, error=NOT_ENOUGH_INFORMATION, session_meta=MetaData.from_json(event.session_meta))
    done = ctx.policy.complete(tool=event.name, args=args, session_meta=MetaData.from_json(event.session_meta),
                               result=answer.value, derived=True)
    return event.settled(result=done.result, error=None, session_meta=done.session_meta)


async def _guard_arguments(ctx: TurnContext, pending: GuardPending) -> None:
    """Run the guards on a new client call's arguments and keep the verdict for the replay."""
    assert ctx.guards is not None
    before = ctx.guards.usage
    recorded = recorded_scores(ctx.state.guards, ctx.state.events)
    report = await ctx.guards.run(list(pending.values.values()), "arguments", recorded)
    ctx.state.guards[pending.digest] = verdict_json(report, tool=pending.name)
    after = ctx.guards.usage
    ctx.usage = ctx.usage + Usage(after.prompt_tokens - before.prompt_tokens, after.completion_tokens - before.completion_tokens)


def client_specs(tools: tuple[ToolSpec, ...]) -> dict[str, InterpreterTool]:
    """Interpreter tool specs: positional parameters in the JSON schema's property order."""
    out = {}
    for tool in tools:
        props = tool.parameters.get("properties") if isinstance(tool.parameters, dict) else None
        out[tool.name] = InterpreterTool(tool.name, tuple(props) if isinstance(props, dict) else ())
    return out


def _step_left_turn_open(ctx: TurnContext, result: interpreter.RunResult) -> bool:
    """Multi-step planning: a program that neither completed the turn nor set the answer."""
    return (
        ctx.config.fsm.enable_multistep_planning
        and ctx.program_override is None
        and not result.turn_completed
        and "final_return_value" not in result.namespace.values
    )


async def _review(ctx: TurnContext, value: Labelled) -> str | None:
    """None when approved (or review is off); else the rejection as the planner may see it."""
    if ctx.config.fsm.disable_rllm or ctx.program_override is not None:
        return None
    got = await review_result(
        ctx.client, model=ctx.config.pllm_model, api_key=ctx.api_key(), request=ctx.state.request, value=value
    )
    ctx.usage = ctx.usage + got.usage
    return None if got.approved else feedback_for_planner(got, ctx.config.fsm.review_grammar)


def _internal_tools(ctx: TurnContext) -> frozenset[str]:
    """The enabled internal tools; a lang-graph program may call any of them (spec dual-llm 4)."""
    if ctx.program_override is not None:
        return frozenset(INTERNAL_SPECS)
    enabled = frozenset(ctx.config.fsm.enabled_internal_tools or ())
    return enabled | {"complete_turn"} if ctx.config.fsm.enable_multistep_planning else enabled


def _tool_call(event: Event) -> ToolCall:
    return ToolCall(id=event.call_id or "", name=event.name, arguments={k: v["value"] for k, v in event.args.items()})


async def run_turn(ctx: TurnContext) -> ToolCallsOutcome | FinalOutcome:
    """Drive the current attempt until the client must run a tool or the turn has its answer."""
    state = ctx.state
    if state.program is None:
        planned = ctx.program_override if ctx.program_override is not None else await _plan(ctx)
        if isinstance(planned, FinalOutcome):
            return planned
        state.program = planned
    while True:
        assert state.program is not None
        gateway = LedgerGateway(
            events=state.events,
            policy=ctx.policy,
            language=ctx.config.policy.language,
            session_meta=MetaData.from_json(state.snapshot) if state.snapshot else ctx.session_meta,
            client_tools=client_specs(ctx.tools),
            internal_tools=_internal_tools(ctx),
            new_call_id=ctx.new_call_id,
            fail_fast=ctx.config.policy.fail_fast,
            max_tool_calls=ctx.config.fsm.max_tool_calls_per_step,
            force_to_cache=ctx.config.fsm.force_to_cache,
            cached=state.cache,
            on_decision=ctx.on_decision,
            guarded=state.guards if ctx.guards is not None and ctx.guards.active else None,
        )
        try:
            result = interpreter.run_program(
                state.program,
                gateway=gateway,
                context_vars=ctx.context_vars,
                mode=ctx.config.policy.mode,
                branch_check=_branch_check(ctx),
                namespace=interpreter.Namespace.from_json(state.namespace) if state.namespace else None,
            )
        except Suspend as signal:
            if isinstance(signal.payload, GuardPending):  # guard the arguments, then replay
                await _guard_arguments(ctx, signal.payload)
                continue
            ctx.session_meta = gateway.session_meta
            event = signal.payload
            assert isinstance(event, Event)
            if event.kind == "client":
                state.history = list(gateway.history)
                return ToolCallsOutcome(calls=(_tool_call(event),), usage=_tokens(ctx.usage))
            if event.name in QLLM_TOOLS:
                state.events[gateway.position - 1] = await _answer_quarantine(ctx, event)
            else:  # set_policy
                state.events[gateway.position - 1] = event.settled(
                    result=None if (error := _set_policy(ctx, event)) else Labelled(None),
                    error=error,
                    session_meta=MetaData.from_json(event.session_meta),
                )
            continue
        except PolicyDenied as denied:
            ctx.session_meta = gateway.session_meta
            state.history = list(gateway.history)
            message = denied.record.message or f"Tool call to '{denied.record.tool}' is denied by argument checking policies."
            if ctx.config.fsm.retry_on_policy_violation and ctx.program_override is None:
                planned = await _failed_step(ctx, state.program, f"the call to '{denied.record.tool}' was denied by policy")
                if isinstance(planned, FinalOutcome):
                    return planned
                state.program = planned
                continue
            return _fail(ctx, "policy_denied", message)
        except ControlFlowViolation as violation:
            state.history = list(gateway.history)
            return _fail(ctx, "control_flow_violation", f"Control flow violation detected during program execution. {violation.reason}")
        except WallTimeExceeded as err:
            return _fail(ctx, "execution_error", str(err))
        except LimitExceeded as err:
            code = "max_steps_exceeded" if err.limit == "max_tool_calls_per_step" else "execution_error"
            return _fail(ctx, code, str(err))
        except HistoryMismatch:
            state.new_attempt(ctx.session_meta.to_json())
            continue
        except ProgramRejected as rejected:
            planned = await _failed_step(ctx, state.program, str(rejected))
        except ProgramRuntimeError as err:
            if err.type_name == NOT_ENOUGH_INFORMATION and ctx.program_override is not None:
                return _fail(ctx, "not_enough_information", err.for_planner())
            planned = await _failed_step(ctx, state.program, _error_for_planner(err, ctx))
        else:
            ctx.session_meta = gateway.session_meta
            state.history = list(gateway.history)
            state.namespace = result.namespace.to_json()
            state.names = sorted(result.snapshot())
            if _step_left_turn_open(ctx, result):
                state.done_steps.append([state.program, state.names])
                state.new_attempt(ctx.session_meta.to_json())
                planned = await _plan(ctx)
                if isinstance(planned, FinalOutcome):
                    return planned
                state.program = planned
                continue
            if ctx.config.fsm.enable_multistep_planning and state.done_steps:
                state.program = "\n\n".join([*(step[0] for step in state.done_steps), state.program])
            value = result.final_return_value or Labelled(None)
            rejection = await _review(ctx, value)
            if rejection is not None:
                planned = await _failed_step(ctx, state.program, rejection)
                if isinstance(planned, FinalOutcome):
                    return planned
                state.program = planned
                continue
            return success_outcome(
                value,
                fmt=ctx.config.response_format,
                usage=_tokens(ctx.usage),
                program=state.program,
                history=state.history,
                namespace={k: v.to_json() for k, v in result.snapshot().items()}
                if ctx.config.response_format.include_namespace_snapshot
                else None,
                printed=[str(p.value) for p in result.printed],
                mismatch=ctx.mismatch,
            )
        if isinstance(planned, FinalOutcome):
            return planned
        state.program = planned
