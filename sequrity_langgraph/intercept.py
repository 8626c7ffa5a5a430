"""Intercepted mode: the graph runs natively in LangGraph; its model calls and tool runs go through the server.

Two explicit wrappers, no global patching — securing a prebuilt agent is two changed lines::

    model = secure_model(ChatOpenAI(model="gpt-4o-mini"), policy=POLICY)   # 1
    agent = create_react_agent(model, secure_tools(tools, model))          # 2

`secure_model` returns a `SequrityChatModel` with the same model name and sampling settings, so
every call is checked by the chat endpoint (guardrails, tool-call policies; a denied call comes
back as text containing `Tool call to 'NAME' is denied by argument checking policies.`).
`secure_tools` gates execution by that verdict: a tool runs only for a tool-call id the server
returned to this model (so a call the server never approved — forged in state, or from another
model — raises `PolicyDenied` instead of running). A hand-built graph wraps its `ToolNode`'s tools
the same way: `ToolNode(secure_tools(tools, model))`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as as_tool
from pydantic import ConfigDict

from sequrity_langgraph.chat_model import SequrityChatModel, VerdictsMixin
from sequrity_langgraph.graph import PolicyDenied
from sequrity_langgraph.local import LocalServer

__all__ = ["secure_model", "secure_tools", "SecuredTool"]

# Sampling settings carried over from the user's model; everything else (URL, key) is ours.
CARRIED = ("temperature", "max_tokens", "top_p", "seed", "timeout", "max_retries", "stop", "reasoning_effort")


def secure_model(
    model: Any,
    *,
    server: str | LocalServer | None = "local",
    policy: str | None = None,
    provider: str = "openai",
    sequrity_api_key: str | None = None,
    **options: Any,
) -> Any:
    """The same chat model routed through the server: `model` is a `ChatOpenAI`, a `ChatAnthropic`
    (→ `SequrityChatAnthropic`, needs langchain-anthropic) or a model name. The user's provider key,
    if the model had one, goes as X-Api-Key (BYOK)."""
    common: dict[str, Any] = {"server": server, "policy": policy, "sequrity_api_key": sequrity_api_key}
    if isinstance(model, str):
        return SequrityChatModel(model=model, provider=provider, **common, **options)
    carried = {k: getattr(model, k) for k in CARRIED if getattr(model, k, None) is not None}
    if any(cls.__name__ == "ChatAnthropic" for cls in type(model).__mro__):
        from sequrity_langgraph.chat_anthropic import SequrityChatAnthropic

        key = getattr(model, "anthropic_api_key", None)
        if key is not None and "llm_api_key" not in options:
            options["llm_api_key"] = key.get_secret_value() or None
        return SequrityChatAnthropic(model=str(model.model), **common, **{**carried, **options})
    key = getattr(model, "openai_api_key", None)
    if key is not None and "llm_api_key" not in options:
        secret = key.get_secret_value() if hasattr(key, "get_secret_value") else str(key)
        options["llm_api_key"] = secret or None
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    return SequrityChatModel(model=str(name), provider=provider, **common, **{**carried, **options})


class SecuredTool(BaseTool):
    """`inner` runs only for a tool call whose id `model` received from the server."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseTool
    model: VerdictsMixin  # SequrityChatModel or SequrityChatAnthropic: whose approvals count

    def _check(self, value: Any) -> None:
        call_id = value.get("id") if isinstance(value, Mapping) and value.get("type") == "tool_call" else None
        if call_id is None or call_id not in self.model.approved_tool_calls:
            raise PolicyDenied(
                f"Tool call to '{self.name}' was not approved by Sequrity Control (id {call_id!r}); "
                "only calls returned by the secured model may run",
                code="policy_denied",
                session_id=self.model.session_id,
            )

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        self._check(input)
        return self.inner.invoke(input, config, **kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        self._check(input)
        return await self.inner.ainvoke(input, config, **kwargs)

    def _run(self, *args: Any, **kwargs: Any) -> Any:  # only reached through invoke
        raise NotImplementedError("SecuredTool runs through invoke(tool_call)")


def secure_tools(tools: Sequence[Any], model: VerdictsMixin) -> list[SecuredTool]:
    """Wrap tools (BaseTool or plain functions) so each runs only with the server's approval."""
    wrapped = []
    for t in tools:
        inner = t if isinstance(t, BaseTool) else as_tool(t)
        wrapped.append(
            SecuredTool(
                name=inner.name,
                description=inner.description,
                args_schema=inner.args_schema,
                inner=inner,
                model=model,
                return_direct=inner.return_direct,
                response_format=inner.response_format,
            )
        )
    return wrapped
