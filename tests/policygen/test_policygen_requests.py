"""Request bodies: every type's tool format, and bad input answered with what to change."""

from __future__ import annotations

import pytest

from server.errors import BadRequest, PayloadTooLarge
from server.policygen.requests import (
    MAX_DESCRIPTION_CHARS,
    MAX_RETRIES,
    MAX_TOOLS,
    REQUEST_TYPES,
    parse_request,
)
from server.policygen.tools import Param
from tests.policygen.policygen_cases import CHAT_TOOLS, TOOLS_BY_TYPE, body


@pytest.mark.parametrize("kind", REQUEST_TYPES)
def test_every_type_reads_its_tool_format_into_one_catalogue(kind: str) -> None:
    request = parse_request(body(kind, n_retries=2))
    assert request.type == kind and request.n_retries == 2 and request.model == "policy-model"
    assert [t.name for t in request.tools] == ["send_email", "read_hr_record"]
    assert request.tools[0].params == (
        Param("to", "string", "recipient address", required=True),
        Param("body", "string", None, required=True),
    )


def test_defaults_and_internal_tools() -> None:
    request = parse_request(body(internal_tool_names=["parse_with_ai", "parse_with_ai"]))
    assert request.n_retries == 3
    assert [(t.name, t.internal) for t in request.tools][-1] == ("parse_with_ai", True)
    assert len(request.tools) == 3  # listed twice, counted once
    only_internal = parse_request(body(tools=[], internal_tool_names=["set_policy"]))
    assert [t.name for t in only_internal.tools] == ["set_policy"]


def test_tool_schemas_are_read_leniently() -> None:
    tools = [
        {"type": "function", "function": {"name": "noargs"}},
        {"type": "function", "function": {"name": "odd", "parameters": {"type": "object", "properties": {
            "mode": {"enum": ["a", "b"], "type": ["string", "null"]},
            "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        }}}, "extra": "ignored"},
    ]
    noargs, odd = parse_request(body(tools=tools)).tools
    assert noargs.params == ()
    assert odd.params == (Param("mode", "string | null", enum=("a", "b")), Param("n", "integer | null"))


BAD = [
    ({"type": "chat"}, "body.type: unknown request type \"chat\"; one of 'oai_chat_completion'"),
    ({"type": None}, "body.type: field required"),
    ({"type": "oai_responses"}, "type 'oai_responses' is not supported by this server; send the same "
     "Responses function tools with type 'sequrity_azure_responses'"),
    ({"policy_lang": "cedar"}, "body.policy_lang: must be 'sqrt' (got \"cedar\")"),
    ({"n_retries": -1}, "body.n_retries: must be >= 0 (got -1)"),
    ({"n_retries": MAX_RETRIES + 1}, f"body.n_retries: must be <= {MAX_RETRIES} (got {MAX_RETRIES + 1})"),
    ({"n_retries": True}, "body.n_retries: must be an integer (got true)"),
    ({"n_retries": "3"}, "body.n_retries: must be an integer"),
    ({"tools": []}, "body.tools: at least one tool is required"),
    ({"tools": "send_email"}, "body.tools: must be a list"),
    ({"model": ""}, "body.model: must not be empty"),
    ({"model": None}, "body.model: must be a string"),
    ({"description": ""}, "body.description: must not be empty"),
    ({"description": " \n "}, "body.description: must not be blank"),
    ({"temperature": 0.2}, "body.temperature: unknown field; allowed: model, description"),
    ({"internal_tool_names": ["read_file"]}, "body.internal_tool_names[0]: must be 'parse_with_ai'"),
    ({"tools": [{"type": "function", "function": {"name": "a"}}] * 2}, 'body.tools[1]: duplicate tool name "a"'),
    ({"tools": [{"type": "function", "function": {"name": ""}}]}, "body.tools[0]: a tool name must be 1 to 128"),
    ({"tools": [{"name": "f"}]}, "body.tools[0].type: field required"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}] * (MAX_TOOLS + 1)}, f"at most {MAX_TOOLS}"),
]


@pytest.mark.parametrize(("fields", "says"), BAD)
def test_bad_bodies_are_400(fields: dict, says: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_request(body(**fields))
    assert says in caught.value.message and caught.value.status == 400


@pytest.mark.parametrize(
    ("kind", "tool", "says"),
    [
        ("anthropic_messages", {"type": "web_search_20250305", "name": "web_search"},
         "body.tools[0].input_schema: field required"),
        ("sequrity_azure_responses", {"type": "web_search"}, "body.tools[0].type: must be 'function'"),
        ("anthropic_messages", CHAT_TOOLS[0], "body.tools[0].name: field required"),
    ],
)
def test_tools_of_the_wrong_format(kind: str, tool: dict, says: str) -> None:
    with pytest.raises(BadRequest, match=None) as caught:
        parse_request(body(kind, tools=[tool]))
    assert says in caught.value.message


def test_missing_type() -> None:
    plain = body()
    del plain["type"]
    with pytest.raises(BadRequest, match="body.type: field required"):
        parse_request(plain)


def test_enormous_description_is_413() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        parse_request(body(description="x" * (MAX_DESCRIPTION_CHARS + 1)))
    assert caught.value.status == 413
    assert f"at most {MAX_DESCRIPTION_CHARS}" in caught.value.message
    parse_request(body(description="x" * MAX_DESCRIPTION_CHARS))  # the limit itself is fine


def test_enormous_tool_catalogue_is_413() -> None:
    tool = {"type": "function", "function": {"name": "f", "description": "d" * 250_000}}
    with pytest.raises(PayloadTooLarge, match="body.tools is"):
        parse_request(body(tools=[tool]))


def test_all_types_are_covered() -> None:
    assert set(TOOLS_BY_TYPE) == set(REQUEST_TYPES)
