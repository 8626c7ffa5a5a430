"""Shared helpers of the interpreter tests: a scripted gateway with tools of every kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.agents.dual_llm.interpreter import (
    EndTurn,
    NotEnoughInformationError,
    PolicyDenied,
    RunResult,
    Suspend,
    ToolError,
    ToolSpec,
    run_program,
)
from server.policy.engine import CheckRecord, Verdict, denial_message
from server.policy.metadata import DEFAULT_META, Labelled, MetaData

__all__ = ["meta", "MAIL", "DB", "EMAIL", "ScriptedGateway", "run", "value_of", "evaluate", "DEFAULT_META"]


def meta(producers: tuple[str, ...] = (), tags: tuple[str, ...] = (), consumers: tuple[str, ...] | None = None) -> MetaData:
    return MetaData(
        producers=frozenset(producers),
        tags=frozenset(tags),
        consumers=frozenset(consumers) if consumers is not None else frozenset({"*"}),
    )


MAIL = meta(("mail",), ("untrusted",))  # what get_email returns
DB = meta(("db",))  # what get_number returns
EMAIL = {"subject": "Hello", "body": "Meet at 10. Code 4711.", "sender": "eve@evil.com", "tags": ["x", "y"]}

SPECS = {
    "get_email": ToolSpec("get_email", ()),
    "get_number": ToolSpec("get_number", ()),
    "echo": ToolSpec("echo", ("x",)),
    "send_email": ToolSpec("send_email", ("to", "body")),
    "fail_tool": ToolSpec("fail_tool", ("x",)),
    "parse_with_ai": ToolSpec("parse_with_ai", ("query", "output_schema"), joins_context=True),
    "ask_user": ToolSpec("ask_user", ("question",)),
    "complete_turn": ToolSpec("complete_turn", ("value",)),
    "deny_me": ToolSpec("deny_me", ("x",)),
}


def _join(args: Mapping[str, Labelled]) -> MetaData:
    return MetaData.join_all(a.meta for a in args.values())


@dataclass
class ScriptedGateway:
    """Tools with fixed behaviour; `ask_user` answers from `ledger` and suspends past its end."""

    ledger: list[Any] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any], MetaData]] = field(default_factory=list)
    asked: int = 0

    def tool(self, name: str) -> ToolSpec | None:
        return SPECS.get(name)

    def call(self, name: str, args: Mapping[str, Labelled], *, context_meta: MetaData) -> Labelled:
        self.calls.append((name, {k: (v.value, v.meta) for k, v in args.items()}, context_meta))
        if name == "get_email":
            return Labelled(EMAIL, MAIL)
        if name == "get_number":
            return Labelled(7, DB)
        if name == "echo":
            return args["x"]
        if name == "send_email":
            return Labelled("sent", _join(args))
        if name == "fail_tool":
            raise ToolError(f"tool failed on {args['x'].value}")
        if name == "parse_with_ai":
            query = args["query"].value
            if "nothing" in query:
                raise NotEnoughInformationError("the text does not say")
            schema = args["output_schema"].value if "output_schema" in args else str
            answer: Any = len(query) if schema is int else query.upper()
            return Labelled(answer, _join(args))
        if name == "ask_user":
            index = self.asked
            self.asked += 1
            if index >= len(self.ledger):
                raise Suspend("ask_user", payload=args["question"].value)
            return Labelled(self.ledger[index], meta(("user",)))
        if name == "complete_turn":
            raise EndTurn(args["value"])
        if name == "deny_me":
            raise PolicyDenied(CheckRecord(tool=name, verdict=Verdict.HARD_DENIED, message=denial_message(name)))
        raise AssertionError(f"unexpected tool {name}")


def run(source: str, **kwargs: Any) -> RunResult:
    kwargs.setdefault("gateway", ScriptedGateway())
    return run_program(source, **kwargs)


def value_of(source: str, name: str = "final_return_value", **kwargs: Any) -> tuple[Any, MetaData]:
    """Run the program `source` → (JSON value, meta) of variable `name`."""
    result = run(source, **kwargs)
    if name == "final_return_value":
        assert result.final_return_value is not None, "the program did not set final_return_value"
        return result.final_return_value.value, result.final_return_value.meta
    labelled = result.namespace.get(name)
    assert labelled is not None, f"{name} is not set"
    return labelled.value, labelled.meta


def evaluate(expr: str, **kwargs: Any) -> tuple[Any, MetaData]:
    """(JSON value, meta) of one expression."""
    return value_of(f"final_return_value = {expr}", **kwargs)
