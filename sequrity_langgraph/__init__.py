"""Secure existing LangGraph graphs through a Sequrity Control server.

Compiled mode: `LangGraphExecutor(graph, policy=...).run(state)`.
Intercepted mode: `secure_model(model)` and `secure_tools(tools)` around a native LangGraph graph.
"""

from sequrity_langgraph.chat_model import SequrityChatModel
from sequrity_langgraph.executor import LangGraphExecutor
from sequrity_langgraph.graph import GraphError, PolicyDenied, RunError, SequrityLangGraphError, UnsupportedGraph
from sequrity_langgraph.intercept import SecuredTool, secure_model, secure_tools
from sequrity_langgraph.local import LocalServer

__all__ = [
    "LangGraphExecutor",
    "SequrityChatModel",
    "secure_model",
    "secure_tools",
    "SecuredTool",
    "LocalServer",
    "SequrityLangGraphError",
    "GraphError",
    "UnsupportedGraph",
    "RunError",
    "PolicyDenied",
]
