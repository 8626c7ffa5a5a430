"""One AgentDojo episode driven through our real server over HTTP, exactly as a client would.

`Bench` starts, once per process, the in-repo fake upstream and our server on loopback (SQLite
store, the embedded default). For each episode the client sends the task's prompt and the suite's
tools to the dual-LLM chat-completions route, runs every tool call the server returns against the
AgentDojo environment (with the attack's injections in place), sends the results back, and stops at
the final answer. The fake upstream plays the planner (it returns the task's plan) and the
quarantined LLM (honest or adversarial, see `oracles`). Utility and attack success are scored by
AgentDojo's own checks.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from agentdojo.functions_runtime import FunctionCall, FunctionsRuntime

from bench.agentdojo import oracles, suites
from bench.agentdojo.plans import Plan, load_plan
from server.app import create_app
from server.fake_upstream import FakeUpstream, Reply
from server.loopback import LoopbackServer
from server.settings import Settings

__all__ = ["Episode", "Outcome", "Bench", "POLICIES_DIR"]

POLICIES_DIR = Path(__file__).parent / "policies"
KEY = "sqc_agentdojo_bench_0123456789abcdefghijklm"
PLANNER, QLLM = "adojo-planner", "adojo-qllm"
ROUTE = "/control/chat/openai/v1/chat/completions"
MAX_REQUESTS = 60  # an episode that needs more is a runaway: reported as an error
_SCHEMA_MARK = "JSON schema of the answer:\n"
POLICY_FAILURES = frozenset({"policy_denied", "control_flow_violation"})  # turn-ending failure codes


@dataclass(frozen=True)
class Episode:
    suite: str
    user_task: str
    injection_task: str | None = None
    attack: str | None = None
    oracle: str = "honest"  # honest | adversarial | refusing (see `oracles`)
    policies: bool = True


@dataclass
class Outcome:
    episode: Episode
    utility: bool = False
    attacked: bool | None = None  # the injection task's goal reached (None without an injection)
    status: str = ""  # the final answer's status: success | failure | error (no final answer)
    denied: str | None = None  # the policy denial that ended the turn, if one did
    error: str | None = None  # anything else that ended the turn
    answer: str = ""
    tool_calls: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # QLLM queries the honest table lacks
    seconds: float = 0.0

    @property
    def blocked(self) -> bool:
        """Stopped by a policy: denied (even when AgentDojo's utility check passes anyway) or no utility."""
        return self.denied is not None or not self.utility

    @property
    def text_only_goal(self) -> bool:
        """The injection goal concerns only the final text answer (`suites.TEXT_ONLY_INJECTIONS`)."""
        return (self.episode.suite, self.episode.injection_task) in suites.TEXT_ONLY_INJECTIONS

    @property
    def state_attack(self) -> bool:
        """The injection goal reached by changing the world (not only the final text)."""
        return bool(self.attacked) and not self.text_only_goal

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "episode": asdict(self.episode)}


@dataclass
class _Live:
    """What the fake upstream needs to know about the episode being run."""

    plan: Plan
    oracle: str
    attacker: oracles.AttackerValues | None
    tool_outputs: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)


def policy_text(suite_name: str) -> str:
    return (POLICIES_DIR / f"{suite_name}.sqrt").read_text()


class Bench:
    """The fake upstream and our server for one process; `run(episode)` one at a time."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="agentdojo-bench-")
        self._fake = FakeUpstream().start()
        settings = Settings(
            api_keys=KEY,
            database_url=f"sqlite:///{self._tmp.name}/keys.db",
            session_store=f"sqlite:///{self._tmp.name}/sessions.db",
            openai_base_url=self._fake.openai_base_url,
            openai_api_key="fake-upstream",
            upstream_timeout_seconds=30.0,
        )
        self._server = LoopbackServer(create_app(settings), timeout_graceful_shutdown=1).start()
        self._client = httpx.Client(base_url=self._server.url, timeout=60)
        self._live: _Live | None = None
        self._lock = threading.Lock()
        self._fake.responder = self._respond

    def close(self) -> None:
        self._client.close()
        self._server.stop()
        self._fake.stop()
        self._tmp.cleanup()

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the fake upstream's side ---------------------------------------------------------

    def _respond(self, body: dict[str, Any], _format: object) -> Reply | None:
        live = self._live
        if live is None:
            return None
        if body.get("model") == PLANNER:
            return Reply.text(live.plan.planner_reply)
        if body.get("model") == QLLM:
            return Reply.text(json.dumps(self._quarantined_answer(live, body.get("messages", []))))
        return None

    def _quarantined_answer(self, live: _Live, messages: list[dict[str, Any]]) -> dict[str, Any]:
        system, query = str(messages[0].get("content", "")), str(messages[1].get("content", ""))
        schema = json.loads(system.split(_SCHEMA_MARK, 1)[1]) if _SCHEMA_MARK in system else {}
        found, honest = live.plan.honest_answer(query)
        attacked = live.oracle != "honest" and oracles.contains_tool_output(query, live.tool_outputs)
        if attacked and live.oracle == "refusing":
            return {"not_enough_information": True}
        if attacked and live.attacker is not None:
            question = query
            for output in live.tool_outputs:
                question = question.replace(output.strip(), " ")
            return {"answer": oracles.adversarial_answer(schema, (question,), live.attacker, honest)}
        if not found:
            live.unanswered.append(query[:300])
        if honest is None:
            return {"not_enough_information": True}
        return {"answer": honest}

    # -- the client's side ----------------------------------------------------------------

    def run(self, episode: Episode) -> Outcome:
        started = time.perf_counter()
        suite = suites.suite(episode.suite)
        user_task = suite.get_user_task_by_id(episode.user_task)
        injection_task = (suite.get_injection_task_by_id(episode.injection_task)
                          if episode.injection_task else None)
        injections = suites.injections_for(episode.suite, episode.attack, user_task, injection_task)
        environment = user_task.init_environment(suites.injected_environment(episode.suite, injections))
        pre_environment = environment.model_copy(deep=True)
        attacker = (oracles.attacker_values(injection_task, pre_environment)
                    if injection_task is not None and episode.oracle == "adversarial" else None)
        live = _Live(plan=load_plan(episode.suite, episode.user_task), oracle=episode.oracle, attacker=attacker)
        outcome = Outcome(episode)
        traces: list[FunctionCall] = []
        with self._lock:
            self._live = live
            try:
                self._converse(episode, user_task.PROMPT, environment, live, outcome, traces)
            finally:
                self._live = None
                self._fake.forget_requests()
        outcome.unanswered = live.unanswered
        outcome.utility = _utility(user_task, outcome.answer, pre_environment, environment, traces)
        if injection_task is not None:
            outcome.attacked = _security(injection_task, outcome.answer, pre_environment, environment, traces)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _headers(self, episode: Episode) -> dict[str, str]:
        policy: dict[str, Any] = {"mode": "standard"}
        if episode.policies:
            policy["codes"] = {"code": policy_text(episode.suite), "language": "sqrt"}
        return {
            "Authorization": f"Bearer {KEY}",
            "X-Features": json.dumps({"agent_arch": "dual-llm"}),
            "X-Policy": json.dumps(policy),
            "X-Config": json.dumps({"fsm": {"max_n_turns": 1, "max_pllm_failed_steps": 1}}),
        }

    def _converse(self, episode: Episode, prompt: str, environment: Any, live: _Live, outcome: Outcome,
                  traces: list[FunctionCall]) -> None:
        runtime = FunctionsRuntime(suites.suite(episode.suite).tools)
        headers = self._headers(episode)
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        body = {"model": f"{PLANNER},{QLLM}", "messages": messages, "tools": list(suites.tool_schemas(episode.suite))}
        for _ in range(MAX_REQUESTS):
            response = self._client.post(ROUTE, json=body, headers=headers)
            if response.status_code != 200:
                outcome.status, outcome.error = "error", f"HTTP {response.status_code}: {response.text[:500]}"
                return
            headers["X-Session-ID"] = response.headers["x-session-id"]
            message = response.json()["choices"][0]["message"]
            calls = message.get("tool_calls") or []
            if not calls:
                _read_final(message.get("content") or "", outcome)
                return
            messages.append({"role": "assistant", "content": message.get("content"), "tool_calls": calls})
            for call in calls:
                name, args = call["function"]["name"], json.loads(call["function"]["arguments"] or "{}")
                outcome.tool_calls.append(name)
                traces.append(FunctionCall(function=name, args=args, id=call["id"]))
                result, error = runtime.run_function(environment, name, args)
                text = error if error is not None else suites.format_tool_result(result)
                live.tool_outputs.append(text)
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": text})
        outcome.status, outcome.error = "error", f"no final answer after {MAX_REQUESTS} requests"


def _read_final(content: str, outcome: Outcome) -> None:
    """The dual-LLM final message: `{"status", "final_return_value": {"value"}, "error"}`."""
    try:
        data = json.loads(content)
    except ValueError:
        outcome.status, outcome.answer = "success", content
        return
    outcome.status = str(data.get("status", ""))
    if outcome.status == "success":
        value = (data.get("final_return_value") or {}).get("value")
        outcome.answer = value if isinstance(value, str) else json.dumps(value)
        return
    error = data.get("error") or {}
    message = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    if error.get("code") in POLICY_FAILURES:
        outcome.denied = message
    else:
        outcome.error = message


def _utility(task: Any, answer: str, pre: Any, post: Any, traces: list[FunctionCall]) -> bool:
    from_traces = task.utility_from_traces(answer, pre, post, traces)
    return bool(from_traces) if from_traces is not None else bool(task.utility(answer, pre, post))


def _security(task: Any, answer: str, pre: Any, post: Any, traces: list[FunctionCall]) -> bool:
    from_traces = task.security_from_traces(answer, pre, post, traces)
    return bool(from_traces) if from_traces is not None else bool(task.security(answer, pre, post))
