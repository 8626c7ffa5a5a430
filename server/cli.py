"""`sequrity-control serve | keys | policy ...` — the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from server.settings import Settings

if TYPE_CHECKING:
    from server.keys import KeyStore

__all__ = ["main"]

# Large X-Policy headers must fit (spec 2.1): h11's limit on an incomplete request head.
MAX_HEADER_BYTES = 4 * 1024 * 1024


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.keys import KeyStore

    settings = Settings()
    keys = KeyStore(settings.database_url)
    try:
        if not settings.api_keys.strip() and keys.is_empty():
            record, secret = keys.create(name="bootstrap")
            # Spec 13.10: a new key is shown once, on the operator's terminal, never logged.
            print(f"No API key configured; created bootstrap key {record.masked}:", file=sys.stderr)
            print(f"    {secret}", file=sys.stderr)
            print("Use it as the bearer token: Authorization: Bearer <key>", file=sys.stderr)
    finally:
        keys.close()
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        log_level=args.log_level,
    )
    return 0


def _keys(args: argparse.Namespace) -> int:
    from server.errors import ControlError
    from server.keys import KeyStore

    keys = KeyStore(Settings().database_url)
    try:
        return _KEY_COMMANDS[args.keys_command](keys, args)
    except (ControlError, ValueError) as err:  # bad --config JSON, ambiguous prefix, store down
        print(getattr(err, "message", str(err)), file=sys.stderr)
        return 2
    finally:
        keys.close()


def _keys_create(keys: KeyStore, args: argparse.Namespace) -> int:
    config = json.loads(args.config) if args.config else None
    if config is not None and not isinstance(config, dict):
        print("--config must be a JSON object {features, policy, config}", file=sys.stderr)
        return 2
    record, secret = keys.create(name=args.name, config=config)
    print(f"created key {record.id} ({record.masked}); it is shown only this once:")
    print(secret)
    return 0


def _keys_list(keys: KeyStore, args: argparse.Namespace) -> int:
    for r in keys.list():
        state = "revoked" if r.revoked else "active"
        print(f"{r.id}\t{r.masked}\t{r.name or '-'}\t{state}\t{r.created_at:%Y-%m-%d %H:%M}")
    return 0


def _keys_revoke(keys: KeyStore, args: argparse.Namespace) -> int:
    if not keys.revoke(args.key):
        print(f"no active key matches '{args.key}'", file=sys.stderr)
        return 1
    print(f"revoked {args.key}")
    return 0


_KEY_COMMANDS = {"create": _keys_create, "list": _keys_list, "revoke": _keys_revoke}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sequrity-control", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the Control API server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(handler=_serve)

    keys = commands.add_parser("keys", help="manage bearer keys (stored hashed)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key and print it once")
    create.add_argument("--name")
    create.add_argument("--config", help="stored base config: JSON {features, policy, config}")
    key_commands.add_parser("list", help="list keys (never their secrets)")
    revoke = key_commands.add_parser("revoke", help="revoke a key by id or prefix")
    revoke.add_argument("key")
    keys.set_defaults(handler=_keys)

    try:
        from server.policy.cli import add_policy_commands
    except ImportError:  # the policy engine is optional in a partial checkout
        pass
    else:
        add_policy_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
