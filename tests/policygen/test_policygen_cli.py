"""`policy generate` against the scripted fake upstream: prints the policy, exit codes say why not."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from server.fake_upstream import FakeUpstream, Reply
from server.policygen.cli import MODEL_ENV, add_generate_command
from tests.policygen.policygen_cases import (
    ANTHROPIC_TOOLS,
    CHAT_TOOLS,
    DESCRIPTION,
    MODEL,
    RESPONSES_TOOLS,
    SYNTAX_ERROR,
    VALID,
    fenced,
)

ENV_NAMES = (
    "OPENAI_API_KEY", "OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY", "OPENAI_BASE_URL",
    "OPENROUTER_BASE_URL", "ANTHROPIC_BASE_URL", "AZURE_OPENAI_ENDPOINT", MODEL_ENV,
    "SEQURITY_CONTROL_MODEL_ALLOWLIST",
)


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="sequrity-control")
    policy = parser.add_subparsers(dest="command", required=True).add_parser("policy")
    add_generate_command(policy.add_subparsers(dest="policy_command", required=True))
    args = parser.parse_args(["policy", "generate", *argv])
    return int(args.handler(args))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, fake_upstream: FakeUpstream) -> FakeUpstream:
    """Provider settings from the environment only, pointed at the fake upstream."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake_upstream.openrouter_base_url)
    monkeypatch.setenv("OPENROUTER_API_KEY", "env-key")
    monkeypatch.setenv(MODEL_ENV, MODEL)
    return fake_upstream


def tools_file(tmp_path: Path, tools: object) -> str:
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(tools))
    return str(path)


def test_prints_the_policy_with_settings_from_the_environment(env, tmp_path, capsys) -> None:
    env.script(MODEL, Reply.text(fenced(SYNTAX_ERROR)), Reply.text(fenced(VALID)))
    assert run("--tools", tools_file(tmp_path, CHAT_TOOLS), "--description", DESCRIPTION) == 0
    out, err = capsys.readouterr()
    assert out == VALID
    assert "usage: 20 prompt + 10 completion = 30 tokens" in err
    assert env.last_request.flavor == "openrouter"
    assert env.last_request.headers["authorization"] == "Bearer env-key"


@pytest.mark.parametrize(
    ("tools", "provider", "flavor"),
    [(ANTHROPIC_TOOLS, "anthropic", "anthropic"), (RESPONSES_TOOLS, "openai", "openai"),
     ({"type": "oai_chat_completion", "tools": CHAT_TOOLS}, "sequrity_azure", "sequrity_azure")],
)
def test_options_override_the_environment(env, tmp_path, capsys, tools, provider, flavor) -> None:
    env.script("other-model", Reply.text(fenced(VALID)))
    base = {"anthropic": env.anthropic_base_url, "openai": env.openai_base_url,
            "sequrity_azure": env.azure_endpoint}[provider]
    intent = tmp_path / "intent.txt"
    intent.write_text(DESCRIPTION)
    output = tmp_path / "policy.sqrt"
    rc = run("--tools", tools_file(tmp_path, tools), "--description-file", str(intent),
             "--provider", provider, "--model", "other-model", "--base-url", base, "--api-key", "cli-key",
             "--internal-tools", "parse_with_ai,set_policy", "-o", str(output))
    assert rc == 0, capsys.readouterr().err
    assert output.read_text() == VALID and capsys.readouterr().out == ""
    sent = env.last_request
    assert sent.flavor == flavor
    header, value = {"sequrity_azure": ("api-key", "cli-key")}.get(
        provider, ("authorization", "Bearer cli-key"))
    assert sent.headers[header] == value
    assert "set_policy" in json.dumps(sent.json)


def test_no_valid_policy_exits_1(env, tmp_path, capsys) -> None:
    env.script(MODEL, Reply.text(fenced(SYNTAX_ERROR)))
    assert run("--tools", tools_file(tmp_path, CHAT_TOOLS), "--description", "x", "--n-retries", "0") == 1
    out, err = capsys.readouterr()
    assert out == "" and "no valid policy after 1 attempt" in err and "startswith" in err


@pytest.mark.parametrize(
    ("content", "args", "says"),
    [
        (None, (), "cannot read"),
        ("{not json", (), "not valid JSON"),
        ('{"functions": []}', (), "expected a JSON list of tools"),
        ("[]", (), "holds no tool objects"),
        ('[{"name": "f"}]', (), "cannot tell the tool format"),
        (json.dumps(CHAT_TOOLS), ("--n-retries", "11"), "body.n_retries: must be <= 10"),
        (json.dumps(CHAT_TOOLS), ("--internal-tools", "read_file"), "body.internal_tool_names[0]"),
    ],
)
def test_bad_input_exits_2(env, tmp_path, capsys, content, args, says) -> None:
    path = tmp_path / "tools.json"
    if content is not None:
        path.write_text(content)
    assert run("--tools", str(path), "--description", "x", *args) == 2
    assert says in capsys.readouterr().err
    assert env.requests == []


def test_a_model_is_required(env, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv(MODEL_ENV)
    assert run("--tools", tools_file(tmp_path, CHAT_TOOLS), "--description", "x") == 2
    assert f"pass --model or set {MODEL_ENV}" in capsys.readouterr().err
