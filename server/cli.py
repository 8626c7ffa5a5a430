"""`sequrity-control serve | keys | audit | policy ...` — the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from server.policy.cli import add_policy_commands
from server.policygen.cli import add_generate_command
from server.settings import Settings

if TYPE_CHECKING:
    from server.keys import KeyStore

__all__ = ["main"]

# Large X-Policy headers must fit (spec 2.1): h11's limit on an incomplete request head.
MAX_HEADER_BYTES = 4 * 1024 * 1024
WORKER_HEALTHCHECK_SECONDS = 60


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.keys import KeyStore
    from server.observability.logging import log_config
    from server.observability.workers import multiprocess_metrics_dir, session_store_problem

    settings = Settings()
    # issue 8: Redis down at start, or a memory store for several workers -> refuse, clearly
    problem = session_store_problem(settings, workers=args.workers)
    if problem is not None:
        print(f"sequrity-control: cannot start: {problem}", file=sys.stderr)
        return 2
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
    with multiprocess_metrics_dir(args.workers):  # issue 8: /metrics sums every worker
        uvicorn.run(
            "server.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            log_level=args.log_level,
            log_config=log_config(level=args.log_level, fmt=settings.log_format),
            access_log=False,  # the observability middleware logs one line per request
            # A worker importing the provider SDKs on a busy machine takes more than uvicorn's
            # default 5 s to answer its first health check; it was killed and restarted in a loop.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
    return 0


def _audit(args: argparse.Namespace) -> int:
    """`sequrity-control audit --session ID`: the session's audit records (issue 8)."""
    from server.audit import read_session_audit
    from server.errors import StoreUnavailable
    from server.keys.schema import make_engine

    engine = make_engine(Settings().database_url)
    try:
        records = read_session_audit(engine, args.session, owner=args.key)
    except StoreUnavailable as err:
        print(err.message, file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if not records:
        print(f"no audit records for session {args.session}", file=sys.stderr)
        return 1
    for r in records:
        if args.json:
            print(json.dumps(r.to_json()))
            continue
        rules = ",".join(f["rule"] for f in r.fired) or "-"
        print(f"{r.at:%Y-%m-%d %H:%M:%S.%f}\t{r.owner}\t{r.tool}\t{r.verdict}\t{rules}")
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

    audit = commands.add_parser("audit", help="show a session's audit records (policy decisions)")
    audit.add_argument("--session", required=True, help="the session id (X-Session-ID)")
    audit.add_argument("--key", help="only records of this owning key id")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(handler=_audit)

    add_generate_command(add_policy_commands(commands))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
