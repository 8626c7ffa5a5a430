"""The tool-filter LLM (TLLM): with many client tools, pick the ones the request needs.

It sees the user's request and the tool list only (trusted data). The selection only shortens the
planner's prompt: the gateway still knows every client tool, and every call is policy-checked as
always. An unreadable or empty answer keeps every tool (the planner just sees more).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from server.config import SessionConfig
from server.formats.canonical import ToolSpec
from server.providers.base import LlmClient
from server.providers.completion import ChatTurn, Usage, complete

__all__ = ["filter_tools"]

_SYSTEM = (
    "You select, from a list of tools, the ones an assistant may need to fulfil a request. "
    "Answer with a JSON array of tool names and nothing else. When unsure, include the tool."
)
MAX_DESCRIPTION = 300


def _listing(tools: Sequence[ToolSpec], config: SessionConfig) -> str:
    tllm = config.prompt.tllm
    lines = []
    for tool in tools:
        line = f"- {tool.name}"
        if tllm.add_tool_description is not False and tool.description:
            line += f": {tool.description[:MAX_DESCRIPTION]}"
        if tllm.add_tool_input_schema:
            line += f" (parameters: {json.dumps(tool.parameters)[:1000]})"
        lines.append(line)
    return "\n".join(lines)


async def filter_tools(
    client: LlmClient, *, config: SessionConfig, api_key: str, request: str, tools: tuple[ToolSpec, ...]
) -> tuple[tuple[ToolSpec, ...], Usage]:
    """The tools to show the planner; all of them below `fsm.min_num_tools_for_filtering`."""
    if len(tools) < config.fsm.min_num_tools_for_filtering:
        return tools, Usage()
    got = await complete(
        client,
        model=config.pllm_model,
        api_key=api_key,
        messages=[ChatTurn("system", _SYSTEM), ChatTurn("user", f"Request: {request}\n\nTools:\n{_listing(tools, config)}")],
    )
    try:
        names = json.loads(got.text.strip().strip("`").removeprefix("json").strip())
    except (ValueError, RecursionError):
        return tools, got.usage
    if not isinstance(names, list):
        return tools, got.usage
    chosen = tuple(t for t in tools if t.name in {n for n in names if isinstance(n, str)})
    return (chosen or tools), got.usage
