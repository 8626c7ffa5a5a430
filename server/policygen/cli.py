"""`sequrity-control policy generate`: write a SQRT policy from tools and an intent, for review.

    sequrity-control policy generate --tools tools.json --description "never email outside corp" \\
        --provider openai --model gpt-5-mini > policy.sqrt
    sequrity-control policy check policy.sqrt

The policy goes to stdout (or `--output`), token usage to stderr. The LLM is called directly, not
through a gateway: `--base-url` and `--api-key` default to the provider's usual environment
variables (OPENAI_BASE_URL / OPENAI_API_KEY, OPENROUTER_..., ANTHROPIC_..., and for
sequrity_azure AZURE_OPENAI_ENDPOINT / AZURE_OPENAI_API_KEY). `--model` defaults to
SEQURITY_CONTROL_POLICY_GEN_MODEL.

The tools file is a JSON list of tools (or an object with a `tools` list, such as a saved request
body) in any one of the three formats: Chat Completions function tools, Anthropic tools, or
Responses function tools; the format is recognised from the first tool.

Exit codes: 0 a policy was printed; 1 no valid policy after the retries, or the LLM call failed;
2 bad input (unreadable tools file, unknown format, invalid request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.errors import ControlError
from server.names import POLICY_GEN_DEFAULT_PROVIDER, POLICY_GEN_PROVIDERS, Provider
from server.policygen.generate import generate_policy
from server.policygen.requests import MAX_RETRIES
from server.providers.registry import build_registry
from server.settings import Settings

__all__ = ["add_generate_command", "cmd_generate", "detect_type", "MODEL_ENV"]

MODEL_ENV = "SEQURITY_CONTROL_POLICY_GEN_MODEL"

# Which Settings field `--base-url` overrides, per provider.
_BASE_URL_FIELD: Mapping[Provider, str] = {
    Provider.OPENAI: "openai_base_url",
    Provider.OPENROUTER: "openrouter_base_url",
    Provider.ANTHROPIC: "anthropic_base_url",
    Provider.SEQURITY_AZURE: "azure_openai_endpoint",
}


class _InputError(ValueError):
    """A tools file or option the command cannot use; exit code 2."""


def detect_type(tools: list[Any]) -> str:
    """The request `type` whose tool format the first tool has.

    >>> detect_type([{"name": "f", "input_schema": {"type": "object"}}])
    'anthropic_messages'
    """
    first = tools[0] if tools else None
    if not isinstance(first, Mapping):
        raise _InputError("the tools file holds no tool objects")
    if "function" in first:
        return "openrouter_chat_completion"
    if "input_schema" in first:
        return "anthropic_messages"
    if first.get("type") == "function" and "name" in first:
        return "sequrity_azure_responses"
    raise _InputError(
        "cannot tell the tool format of the first tool: expected a Chat Completions tool "
        '({"type": "function", "function": {...}}), an Anthropic tool ({"name", "input_schema"}) '
        'or a Responses tool ({"type": "function", "name", "parameters"})'
    )


def _read_tools(path: str) -> list[Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise _InputError(f"cannot read {path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise _InputError(f"{path}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from None
    if isinstance(data, Mapping):
        data = data.get("tools")
    if not isinstance(data, list):
        raise _InputError(f"{path}: expected a JSON list of tools, or an object with a 'tools' list")
    return data


def _description(args: argparse.Namespace) -> str:
    if args.description_file is None:
        return str(args.description)
    try:
        return Path(args.description_file).read_text(encoding="utf-8")
    except OSError as err:
        raise _InputError(f"cannot read {args.description_file}: {err.strerror}") from None


async def _generate(args: argparse.Namespace, body: dict[str, Any]) -> dict[str, Any]:
    provider = Provider(args.provider)
    overrides: dict[str, Any] = {"model_allowlist": ""}  # the operator's own key: any model
    if args.base_url:
        overrides[_BASE_URL_FIELD[provider]] = args.base_url
    registry = build_registry(Settings(**overrides))
    try:
        return await generate_policy(
            body, provider=provider, providers=registry, byok=args.api_key or None
        )
    finally:
        await registry.aclose()


def cmd_generate(args: argparse.Namespace) -> int:
    """The handler of `policy generate`."""
    try:
        tools = _read_tools(args.tools)
        model = args.model or Settings().policy_gen_model
        if not model:
            raise _InputError(f"no model: pass --model or set {MODEL_ENV}")
        body = {
            "type": detect_type(tools),
            "model": model,
            "description": _description(args),
            "n_retries": args.n_retries,
            "internal_tool_names": args.internal_tools,
            "tools": tools,
        }
    except _InputError as err:
        print(f"policy generate: {err}", file=sys.stderr)
        return 2
    try:
        answer = asyncio.run(_generate(args, body))
    except ControlError as err:
        print(f"policy generate: {err.message}", file=sys.stderr)
        return 2 if err.status in (400, 413) else 1
    policy = answer["policies"] if answer["policies"].endswith("\n") else answer["policies"] + "\n"
    if args.output:
        Path(args.output).write_text(policy, encoding="utf-8")
    else:
        sys.stdout.write(policy)
    usage = answer["usage"]
    print(
        f"usage: {usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion = "
        f"{usage['total_tokens']} tokens",
        file=sys.stderr,
    )
    return 0


def add_generate_command(subparsers: Any) -> None:
    """Register `generate` on the `policy` group's subparsers object (handler: `cmd_generate`)."""
    gen = subparsers.add_parser(
        "generate",
        help="generate a SQRT policy from tools and a natural-language intent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument("--tools", required=True, metavar="TOOLS.json", help="the agent's tools")
    intent = gen.add_mutually_exclusive_group(required=True)
    intent.add_argument("--description", help="the security intent in natural language")
    intent.add_argument("--description-file", metavar="FILE", help="read the intent from a file")
    gen.add_argument(
        "--provider",
        choices=[p.value for p in POLICY_GEN_PROVIDERS],
        default=POLICY_GEN_DEFAULT_PROVIDER.value,
    )
    gen.add_argument("--model", help=f"the policy model (default: ${MODEL_ENV})")
    gen.add_argument(
        "--base-url",
        help="the provider's API base URL; for sequrity_azure the Azure endpoint "
        "(default: from the environment)",
    )
    gen.add_argument("--api-key", help="the provider key (default: from the environment)")
    gen.add_argument(
        "--internal-tools",
        type=lambda text: [n.strip() for n in text.split(",") if n.strip()],
        default=[],
        metavar="NAMES",
        help="comma-separated internal tools the policy may govern, e.g. parse_with_ai",
    )
    gen.add_argument(
        "--n-retries", type=int, default=3, help=f"extra attempts after a rejected policy (0..{MAX_RETRIES})"
    )
    gen.add_argument("--output", "-o", metavar="FILE", help="write the policy here instead of stdout")
    gen.set_defaults(handler=cmd_generate)
