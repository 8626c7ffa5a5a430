"""`SequrityChatModel`: langchain-openai's `ChatOpenAI` pointed at the server, with session tracking.

Built on `ChatOpenAI` (not a re-implementation): it only sets the base URL
(`{server}/control/{family}/{provider}/v1`), the bearer key and the X-Features/X-Policy/X-Config
headers, sends the last `X-Session-ID` it saw, and records what the server decided: the tool-call
ids it let through (`approved_tool_calls`, used by `intercept.SecuredTool` to gate executions)
and the denials it wrote in place of a tool call (`denials`).

`SessionTracker` holds that per-model state so `chat_anthropic.SequrityChatAnthropic` (built on
langchain-anthropic's `ChatAnthropic`) shares it.

Example (usable in any LangChain code)::

    llm = SequrityChatModel(model="gpt-4o-mini", policy='tool "send_email" { hard deny always; }')
    llm.invoke("hello").content
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr, SecretStr

from sequrity_langgraph.connection import Connection, connect, policy_header
from sequrity_langgraph.graph import PolicyDenied
from sequrity_langgraph.local import LocalServer

__all__ = ["SequrityChatModel", "SessionTracker", "VerdictsMixin", "DENIAL_PATTERN"]

DENIAL_PATTERN = re.compile(r"Tool call to '([^']+)' is denied by argument checking policies\.[^\n]*")


class SessionTracker:
    """Per-model session id, approved tool-call ids and denials seen (not thread-safe: one run at a time)."""

    def __init__(self) -> None:
        self.session_id: str | None = None
        self.approved: set[str] = set()
        self.denials: list[str] = []

    def extra_headers(self, existing: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = dict(existing or {})
        if self.session_id:
            headers["X-Session-ID"] = self.session_id
        return headers

    def observe_headers(self, headers: Mapping[str, str] | None) -> None:
        session = {k.lower(): v for k, v in (headers or {}).items()}.get("x-session-id")
        if session:
            self.session_id = session

    def observe(self, message: BaseMessage, *, on_denial: str) -> None:
        if not isinstance(message, AIMessage):
            return
        self.approved.update(c["id"] for c in message.tool_calls if c["id"])
        text = message.content if isinstance(message.content, str) else str(message.text)
        for match in DENIAL_PATTERN.finditer(text):
            self.denials.append(match.group(0))
            if on_denial == "raise":
                raise PolicyDenied(match.group(0), code="policy_denied", session_id=self.session_id)


class VerdictsMixin:
    """Read-only views of a model's `SessionTracker` (`self._tracker`)."""

    _tracker: SessionTracker

    @property
    def session_id(self) -> str | None:
        """The session the next call continues (None: the server starts one)."""
        return self._tracker.session_id

    def reset_session(self) -> None:
        """Start a fresh session on the next call (forgets approvals too)."""
        self._tracker.session_id = None
        self._tracker.approved.clear()

    @property
    def approved_tool_calls(self) -> frozenset[str]:
        """Ids of tool calls the server returned, i.e. proposed by the model and allowed by policy."""
        return frozenset(self._tracker.approved)

    @property
    def denials(self) -> list[str]:
        """The server's denial sentences seen so far (`Tool call to 'x' is denied by ...`)."""
        return list(self._tracker.denials)


def sequrity_headers(
    *,
    conn: Connection,
    policy: str | None,
    policy_language: str,
    features: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
    extra: Mapping[str, str] | None,
) -> dict[str, str]:
    """X-Features (single-LLM unless overridden), X-Policy, X-Config, X-Api-Key; no bearer (SDKs send it)."""
    headers = conn.headers(
        features={"agent_arch": "single-llm", **dict(features or {})},
        policy=policy_header(policy, language=policy_language),
        config=config,
    )
    headers.pop("Authorization")
    headers.update(extra or {})
    return headers


class SequrityChatModel(VerdictsMixin, ChatOpenAI):
    """A chat model whose every call goes through Sequrity Control's chat endpoint (single-LLM by default).

    `server`: "local" (co-located, default) or a URL with `sequrity_api_key`; `provider` picks the
    upstream; `on_denial="raise"` raises `PolicyDenied` instead of returning the server's denial text.
    """

    on_denial: str = "message"
    _tracker: SessionTracker = PrivateAttr(default_factory=SessionTracker)

    def __init__(
        self,
        *,
        model: str = "gpt-4o-mini",
        server: str | LocalServer | None = "local",
        sequrity_api_key: str | None = None,
        llm_api_key: str | None = None,
        provider: str = "openai",
        family: str = "chat",
        policy: str | None = None,
        policy_language: str = "sqrt",
        features: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        local_settings: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        conn = connect(server, api_key=sequrity_api_key, llm_api_key=llm_api_key, local_settings=local_settings)
        headers = sequrity_headers(
            conn=conn, policy=policy, policy_language=policy_language, features=features, config=config,
            extra=kwargs.pop("default_headers", None),
        )
        super().__init__(
            model=model,
            base_url=f"{conn.url}/control/{family}/{provider}/v1",
            api_key=SecretStr(conn.api_key),
            default_headers=headers,
            include_response_headers=True,
            **kwargs,
        )

    def _with_session(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs["extra_headers"] = self._tracker.extra_headers(kwargs.get("extra_headers"))
        return kwargs

    def _record(self, result: ChatResult) -> ChatResult:
        for generation in result.generations:
            self._tracker.observe_headers((generation.generation_info or {}).get("headers"))
            self._tracker.observe(generation.message, on_denial=self.on_denial)
        return result

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = super()._generate(messages, stop=stop, run_manager=run_manager, **self._with_session(kwargs))
        return self._record(result)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = await super()._agenerate(messages, stop=stop, run_manager=run_manager, **self._with_session(kwargs))
        return self._record(result)

    @property
    def _llm_type(self) -> str:
        return "sequrity-chat"
