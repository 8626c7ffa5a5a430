"""`python -m server.fake_upstream --port N [--reply-text TEXT]`: the fixed-reply fake as a process."""

from __future__ import annotations

import argparse
import socket

import uvicorn

from server.fake_upstream.fixed import FixedReplyApp
from server.fake_upstream.script import Quirks, Reply


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m server.fake_upstream",
        description="Fake OpenAI/OpenRouter/Azure/Anthropic upstream answering every request instantly.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--reply-text", default="Hello from the fake upstream.")
    parser.add_argument("--quirks", action="store_true", help="send the providers' stream quirks")
    args = parser.parse_args(argv)
    app = FixedReplyApp(
        reply=Reply.text(args.reply_text), quirks=Quirks() if args.quirks else Quirks.off()
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)  # connections queue from now on, so the line below means "ready"
    host, port = sock.getsockname()[:2]
    # The harness waits for this line (and learns the port when --port 0).
    print(f"fake upstream listening on http://{host}:{port}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
