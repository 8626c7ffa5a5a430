"""Tool calls through the gateway: argument mapping, metadata in and out, errors, signals."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from server.agents.dual_llm.interpreter import (
    EndTurn,
    MemoryGateway,
    PolicyDenied,
    ProgramRuntimeError,
    ToolSpec,
    run_program,
)
from server.policy.metadata import Labelled, MetaData
from tests.agents.interpreter.interp_helpers import DB, DEFAULT_META, MAIL, ScriptedGateway, meta, run, value_of

D = DEFAULT_META


def test_positional_and_keyword_arguments_map_to_parameters() -> None:
    gateway = ScriptedGateway()
    run("send_email('bob@x.com', body='hi')", gateway=gateway)
    assert gateway.calls == [("send_email", {"to": ("bob@x.com", D), "body": ("hi", D)}, D)]


def test_argument_metadata_and_result_metadata() -> None:
    gateway = ScriptedGateway()
    source = "e = get_email()\nr = send_email(e['sender'], f'Re: {e[\"subject\"]}')\nfinal_return_value = r"
    result = run(source, gateway=gateway)
    _, args, _ = gateway.calls[-1]
    assert args == {"to": ("eve@evil.com", MAIL), "body": ("Re: Hello", MAIL)}
    assert result.final_return_value == Labelled("sent", MAIL)


def test_arguments_leave_as_json() -> None:
    gateway = ScriptedGateway()
    run("from datetime import date\necho({'s': {2, 1}, 't': (1, 2), 'd': date(2024, 1, 2)})", gateway=gateway)
    assert gateway.calls[0][1]["x"][0] == {"s": [1, 2], "t": [1, 2], "d": "2024-01-02"}


def test_type_argument_arrives_as_python_type() -> None:
    gateway = ScriptedGateway()
    assert value_of("final_return_value = parse_with_ai('abc', output_schema=int)", gateway=gateway) == (3, D)
    assert gateway.calls[0][1]["output_schema"] == (int, D)


def test_json_schema_argument_is_a_dict() -> None:
    gateway = ScriptedGateway()
    run("x = parse_with_ai('q', {'type': 'object'})", gateway=gateway)
    assert gateway.calls[0][1]["output_schema"][0] == {"type": "object"}


def test_result_elements_inherit_result_metadata() -> None:
    assert value_of("final_return_value = get_email()['tags'][1]") == ("y", MAIL)


def test_nested_labelled_results_keep_element_metadata() -> None:
    inner = meta(("inner",))
    tools = {"t": (ToolSpec("t", ()), lambda a, c: Labelled({"a": Labelled(1, inner), "b": 2}, DB))}
    result = run_program("x = t()\nfinal_return_value = [x['a'], x['b']]", gateway=MemoryGateway(tools))
    assert result.namespace.get("final_return_value") is not None
    got = run_program("x = t()\nfinal_return_value = x['b']", gateway=MemoryGateway(tools)).final_return_value
    assert got == Labelled(2, DB)
    got = run_program("x = t()\nfinal_return_value = x['a']", gateway=MemoryGateway(tools)).final_return_value
    assert got == Labelled(1, DB.join(inner))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("send_email('a', 'b', 'c')", "takes 2 positional argument(s) but 3 were given"),
        ("send_email('a', to='b')", "multiple values for argument 'to'"),
        ("send_email(cc='x')", "unexpected keyword argument 'cc'; parameters: to, body"),
        ("echo(json)", "name 'json' is not defined"),
    ],
)
def test_call_errors(source: str, message: str) -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run(source)
    assert message in info.value.message


def test_module_cannot_be_passed_to_a_tool() -> None:
    with pytest.raises(ProgramRuntimeError) as info:
        run("import json\necho(json)")
    assert info.value.type_name == "TypeError"


def test_complete_turn_ends_the_run() -> None:
    gateway = ScriptedGateway()
    result = run("x = get_number()\ncomplete_turn(x)\nsend_email('a', 'b')", gateway=gateway)
    assert result.turn_completed and result.final_return_value == Labelled(7, DB)
    assert [c[0] for c in gateway.calls] == ["get_number", "complete_turn"]


def test_complete_turn_is_not_catchable() -> None:
    result = run("try:\n    complete_turn(1)\nexcept Exception:\n    x = 2\nfinal_return_value = 3")
    assert result.final_return_value == Labelled(1, D)


def test_policy_denied_propagates_with_record() -> None:
    with pytest.raises(PolicyDenied) as info:
        run("deny_me(1)")
    assert info.value.record.tool == "deny_me"
    assert "is denied by argument checking policies" in str(info.value)


def test_gateway_sees_strict_context() -> None:
    gateway = ScriptedGateway()
    run("for t in get_email()['tags']:\n    echo(t)", gateway=gateway, mode="strict")
    assert all(c[2] == MAIL for c in gateway.calls[1:])


def test_memory_gateway_records_calls() -> None:
    def tool(args: Mapping[str, Labelled], ctx: MetaData) -> Labelled:
        return Labelled(args["a"].value * 2, args["a"].meta)

    gateway = MemoryGateway({"double": (ToolSpec("double", ("a",)), tool)})
    assert run_program("final_return_value = double(21)", gateway=gateway).final_return_value == Labelled(42, D)
    assert gateway.calls[0][0] == "double"


def test_endturn_value_from_gateway() -> None:
    def tool(args: Mapping[str, Labelled], ctx: MetaData) -> Labelled:
        raise EndTurn(Labelled("bye", DB))

    gateway = MemoryGateway({"complete_turn": (ToolSpec("complete_turn", ("value",)), tool)})
    assert run_program("complete_turn('x')", gateway=gateway).final_return_value == Labelled("bye", DB)
