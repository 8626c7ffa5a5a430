"""The package's public surface is pinned."""

import sequrity_langgraph


def test_public_names() -> None:
    assert sorted(sequrity_langgraph.__all__) == sorted([
        "LangGraphExecutor", "SequrityChatModel", "secure_model", "secure_tools", "SecuredTool", "LocalServer",
        "SequrityLangGraphError", "GraphError", "UnsupportedGraph", "RunError", "PolicyDenied",
    ])
    assert issubclass(sequrity_langgraph.PolicyDenied, sequrity_langgraph.RunError)
