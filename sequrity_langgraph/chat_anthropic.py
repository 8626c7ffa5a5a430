"""`SequrityChatAnthropic`: langchain-anthropic's `ChatAnthropic` through the server (optional extra).

Same contract as `SequrityChatModel` (session tracking, approvals, denials) on the Messages route
`{server}/control/{family}/anthropic/v1/messages`. Decision: the session header is added and read
in `_create`/`_acreate`, the one place `ChatAnthropic` touches the SDK's raw response, so
streaming and non-streaming calls are both covered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_anthropic import ChatAnthropic
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import PrivateAttr, SecretStr

from sequrity_langgraph.chat_model import SessionTracker, VerdictsMixin, sequrity_headers
from sequrity_langgraph.connection import connect
from sequrity_langgraph.local import LocalServer

__all__ = ["SequrityChatAnthropic"]


class SequrityChatAnthropic(VerdictsMixin, ChatAnthropic):
    """`SequrityChatAnthropic(model="claude-sonnet-4-5", policy=...)`: Claude through Sequrity Control."""

    on_denial: str = "message"
    _tracker: SessionTracker = PrivateAttr(default_factory=SessionTracker)

    def __init__(
        self,
        *,
        model: str = "claude-sonnet-4-5",
        server: str | LocalServer | None = "local",
        sequrity_api_key: str | None = None,
        llm_api_key: str | None = None,
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
        headers["Authorization"] = f"Bearer {conn.api_key}"
        # Older Anthropic SDKs send `api_key` as x-api-key, which the server reads as BYOK: never let
        # the Sequrity key go upstream that way (an empty header counts as absent, control-api 2.1).
        headers.setdefault("X-Api-Key", "")
        super().__init__(  # type: ignore[call-arg]  # `model` is ChatAnthropic's field alias
            model=model,
            base_url=f"{conn.url}/control/{family}/anthropic",
            api_key=SecretStr(conn.api_key),
            default_headers=headers,
            **kwargs,
        )

    def _create(self, payload: dict[str, Any]) -> Any:
        raw = super()._create({**payload, "extra_headers": self._tracker.extra_headers(payload.get("extra_headers"))})
        self._tracker.observe_headers(getattr(raw, "headers", None))
        return raw

    async def _acreate(self, payload: dict[str, Any]) -> Any:
        raw = await super()._acreate({**payload, "extra_headers": self._tracker.extra_headers(payload.get("extra_headers"))})
        self._tracker.observe_headers(getattr(raw, "headers", None))
        return raw

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        for generation in result.generations:
            self._tracker.observe(generation.message, on_denial=self.on_denial)
        return result

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        for generation in result.generations:
            self._tracker.observe(generation.message, on_denial=self.on_denial)
        return result

    @property
    def _llm_type(self) -> str:
        return "sequrity-chat-anthropic"
