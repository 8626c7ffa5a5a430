"""`LangGraphExecutor`: run a LangGraph graph through the server's lang-graph endpoint (compiled mode).

Example::

    executor = LangGraphExecutor(graph, policy='tool "send_email" { hard deny always; }')
    try:
        final = executor.run({"query": "..."})
    except PolicyDenied as denied:
        print(denied.message)   # Tool call to 'send_email' is denied by argument checking policies.

The loop (control-api 4.5): POST program + context vars + tools + history; while the answer asks
for tool calls, run each node or routing function locally (reducers applied here, `reducers.py`)
and append the results; the final answer's content (7.1) gives the final state or the failure.
Decisions: failures are raised, never returned as a state (`PolicyDenied` for `policy_denied`,
`RunError` otherwise); the final state is the server's `final_return_value` (the program returns
the state), which equals the client's last copy; one HTTP client per executor, reused.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from sequrity_langgraph.builder import describe
from sequrity_langgraph.compiler import DEFAULT_RECURSION_LIMIT, CompiledProgram, compile_graph
from sequrity_langgraph.connection import Connection, connect, policy_header
from sequrity_langgraph.graph import GraphSpec, Node, PolicyDenied, RunError
from sequrity_langgraph.local import LocalServer
from sequrity_langgraph.reducers import apply_update, as_update, ensure_json, initial_state

__all__ = ["LangGraphExecutor", "DEFAULT_META", "STATE_PARAMETERS"]

DEFAULT_META = {"producers": [], "consumers": ["*"], "tags": []}
STATE_PARAMETERS = {
    "type": "object",
    "properties": {
        "state": {"type": "object", "description": "the graph state this node reads"},
        "into": {"type": "object", "description": "the state to merge into (several nodes in one step)"},
    },
    "required": ["state"],
}
ROUTER_PARAMETERS = {"type": "object", "properties": {"state": {"type": "object"}}, "required": ["state"]}
DENIAL_TEXT = "denied by argument checking policies"


def call_node(node: Node, state: dict[str, Any], config: dict[str, Any]) -> Any:
    """Call a node function as LangGraph would: with `config` when it takes one; async ones on a
    private event loop in a worker thread (so this works inside Jupyter's running loop too)."""
    args: tuple[Any, ...] = (state, config) if node.accepts_config else (state,)
    if not node.is_async:
        return node.func(*args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, node.func(*args)).result()


class LangGraphExecutor:
    """Compiled mode: the graph's program runs on the server, its nodes here, every call policy-checked.

    `server`: "local" (default: co-located, in-process) or a URL (`api_key` then needed).
    `internal_node_mapping`: node → internal tool (e.g. `{"summarize": "parse_with_ai"}`).
    `policy`: SQRT code; `features`/`config` are merged into X-Features / X-Config.
    `model`: the LLMs internal nodes use (`"planner,quarantine"`); a run without internal nodes
    calls no LLM, but a server's managed-key allow list still has to accept the name.
    `provider`: "anthropic" uses the Messages route, any other the Chat Completions one.
    """

    def __init__(
        self,
        graph: Any,
        *,
        server: str | LocalServer | None = "local",
        api_key: str | None = None,
        llm_api_key: str | None = None,
        provider: str = "openai",
        model: str = "sequrity-langgraph",
        policy: str | None = None,
        policy_language: str = "sqrt",
        internal_node_mapping: Mapping[str, str] | None = None,
        recursion_limit: int = DEFAULT_RECURSION_LIMIT,
        features: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        local_settings: Mapping[str, Any] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.spec: GraphSpec = describe(graph)
        self.program: CompiledProgram = compile_graph(
            self.spec, internal_node_mapping=internal_node_mapping, recursion_limit=recursion_limit
        )
        self.connection: Connection = connect(
            server, api_key=api_key, llm_api_key=llm_api_key, local_settings=local_settings
        )
        self.provider = provider
        self.model = model
        self._features = {"agent_arch": "dual-llm", **dict(features or {})}
        fsm = {"disable_rllm": True, **dict((config or {}).get("fsm", {}))}
        self._config = {**dict(config or {}), "fsm": fsm}
        self._policy = policy_header(policy, language=policy_language)
        self._http = httpx.Client(timeout=timeout)
        self._nodes = {n.name: n for n in self.spec.nodes}
        self._run_config: dict[str, Any] = {}
        self._routers = self.spec.routers()
        self.last_session_id: str | None = None
        self.last_content: dict[str, Any] | None = None
        self.calls: list[str] = []  # the client tools run in the last run, in order
        self._last_state: dict[str, Any] | None = None
        self._tools: list[dict[str, Any]] | None = None

    # -- public ------------------------------------------------------------------------------

    @property
    def anthropic(self) -> bool:
        return self.provider == "anthropic"

    @property
    def endpoint(self) -> str:
        suffix = "messages" if self.anthropic else "chat/completions"
        return f"{self.connection.url}/control/lang-graph/{self.provider}/v1/{suffix}"

    def tools(self) -> list[dict[str, Any]]:
        """Tool definitions: one per external node (state, into) and one per routing function."""
        if self._tools is not None:
            return self._tools
        defs = [(n, self.spec.node(n).description or f"LangGraph node {n!r}", STATE_PARAMETERS) for n in self.program.node_tools]
        defs += [(r, f"Routing function {r!r}", ROUTER_PARAMETERS) for r in self.program.router_tools]
        if self.anthropic:
            self._tools = [{"name": n, "description": d, "input_schema": p} for n, d, p in defs]
        else:
            self._tools = [{"type": "function", "function": {"name": n, "description": d, "parameters": p}} for n, d, p in defs]
        return self._tools

    def run(
        self,
        state: Mapping[str, Any] | None = None,
        *,
        initial_state_meta: Mapping[str, Sequence[str]] | None = None,
        config: Mapping[str, Any] | None = None,
        max_requests: int = 1000,
    ) -> dict[str, Any]:
        """Run the graph from `state`; return the final state. Raises `PolicyDenied` / `RunError`.

        `initial_state_meta` (`producers`, `consumers`, `tags`) labels the input for policies;
        `config` is passed to nodes that take a `config` argument, as LangGraph would.
        """
        self._run_config = {"configurable": {}, **dict(config or {})}
        start = ensure_json(initial_state(self.spec.channels, dict(state or {})), where="initial state")
        meta = {**DEFAULT_META, **{k: list(v) for k, v in (initial_state_meta or {}).items()}}
        context_vars = {"initial_state": {"value": start, "meta": meta}}
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": f"Run the LangGraph graph {self.spec.name!r} (sequrity_langgraph)."}
        ]
        session: str | None = None
        self.calls = []
        current = start
        for _ in range(max_requests):
            body = self._body(messages, context_vars)
            headers = self.connection.headers(
                features=self._features, policy=self._policy, config=self._config, session_id=session
            )
            response = self._http.post(self.endpoint, json=body, headers=headers)
            if response.status_code >= 400:
                raise RunError(f"HTTP {response.status_code} from {self.endpoint}: {response.text}", code="http_error")
            session = response.headers.get("x-session-id", session)
            self.last_session_id = session
            data = response.json()
            calls, content = self._decode(data)
            if not calls:
                return self._final(content, fallback=current, session=session)
            messages.extend(self._results(calls, data))
            current = self._last_state if self._last_state is not None else current
        raise RunError(f"graph did not finish within {max_requests} requests", code="max_steps_exceeded")

    def close(self) -> None:
        self._http.close()

    # -- wire --------------------------------------------------------------------------------

    def _body(self, messages: list[dict[str, Any]], context_vars: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "tools": self.tools(),
            "user_provided_program": self.program.source,
            "context_vars": context_vars,
        }
        if self.anthropic:
            body["max_tokens"] = 16384
        return body

    def _decode(self, data: dict[str, Any]) -> tuple[list[tuple[str, str, dict[str, Any]]], str]:
        """(tool calls as (id, name, arguments), final text) of either wire format."""
        if self.anthropic:
            blocks = data.get("content") or []
            calls = [(b["id"], b["name"], b.get("input") or {}) for b in blocks if b.get("type") == "tool_use"]
            text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
            return (calls if data.get("stop_reason") == "tool_use" else []), text
        choice = data["choices"][0]
        message = choice["message"]
        calls = [
            (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"] or "{}"))
            for c in message.get("tool_calls") or []
        ]
        return (calls if choice.get("finish_reason") == "tool_calls" else []), message.get("content") or ""

    def _results(self, calls: list[tuple[str, str, dict[str, Any]]], data: dict[str, Any]) -> list[dict[str, Any]]:
        """The assistant turn echoed back plus one result per call, in the request's format."""
        self._last_state = None
        outputs = [(cid, json.dumps(self._run_tool(name, args))) for cid, name, args in calls]
        if self.anthropic:
            results = [{"type": "tool_result", "tool_use_id": cid, "content": out} for cid, out in outputs]
            return [{"role": "assistant", "content": data["content"]}, {"role": "user", "content": results}]
        assistant = {k: v for k, v in data["choices"][0]["message"].items() if v is not None}
        return [assistant, *({"role": "tool", "tool_call_id": cid, "content": out} for cid, out in outputs)]

    def _run_tool(self, name: str, args: Mapping[str, Any]) -> Any:
        """Run one node (returning the merged state) or routing function (returning its raw value)."""
        self.calls.append(name)
        state = args.get("state") or {}
        if name in self._routers:
            return ensure_json(self._routers[name](state), where=f"routing function {name!r}")
        node = self._nodes.get(name)
        if node is None:
            raise RunError(f"the server asked for tool {name!r}, which is not a node of this graph", code="tool_error")
        update = as_update(name, call_node(node, state, self._run_config))
        merged = apply_update(self.spec.channels, args.get("into", state), update)
        self._last_state = ensure_json(merged, where=f"node {name!r}")
        return merged

    def _final(self, text: str, *, fallback: dict[str, Any], session: str | None) -> dict[str, Any]:
        try:
            content = json.loads(text)
        except json.JSONDecodeError:
            raise RunError(f"unparsable final answer from the server: {text[:200]!r}", code="unknown", session_id=session) from None
        self.last_content = content
        if content.get("status") == "success":
            value = (content.get("final_return_value") or {}).get("value", fallback)
            return dict(value) if isinstance(value, Mapping) else fallback
        error = content.get("error") or {}
        message, code = str(error.get("message", text)), str(error.get("code", "unknown"))
        if code == "policy_denied" or DENIAL_TEXT in message:
            raise PolicyDenied(message, code=code, session_id=session)
        if message.startswith(f"line {self.program.limit_line}: RuntimeError"):
            # Our own limit check: the server redacts messages raised under tool-dependent branches.
            message = (
                f"Recursion limit of {self.program.recursion_limit} supersteps reached without hitting END; "
                f"raise recursion_limit or fix the graph's cycle (server: {message})"
            )
            raise RunError(message, code="recursion_limit", session_id=session)
        raise RunError(message, code=code, session_id=session)

    def __enter__(self) -> LangGraphExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

