"""Where the server is and what every request carries: URL, bearer key, X-Features/X-Policy/X-Config.

`server="local"` (or None) → the process's co-located server (`local.py`); a URL → that server
with `api_key` (or SEQURITY_API_KEY). Headers are built in one place for every mode.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sequrity_langgraph.local import LocalServer, shared_local_server

__all__ = ["Connection", "connect", "policy_header"]

PROVIDERS = ("openai", "openrouter", "anthropic", "sequrity_azure")


@dataclass(frozen=True)
class Connection:
    """A server root URL and the bearer key for it; `llm_api_key` goes out as X-Api-Key (BYOK)."""

    url: str
    api_key: str
    llm_api_key: str | None = None
    local: LocalServer | None = field(default=None, compare=False)

    def headers(
        self,
        *,
        features: Mapping[str, Any] | None = None,
        policy: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if self.llm_api_key:
            headers["X-Api-Key"] = self.llm_api_key
        for name, value in (("X-Features", features), ("X-Policy", policy), ("X-Config", config)):
            if value:
                headers[name] = json.dumps(value)
        if session_id:
            headers["X-Session-ID"] = session_id
        return headers


def policy_header(code: str | None, *, language: str = "sqrt", **extra: Any) -> dict[str, Any] | None:
    """The X-Policy value for SQRT (or Cedar) `code`; None when there is nothing to send."""
    if not code and not extra:
        return None
    value: dict[str, Any] = dict(extra)
    if code:
        value["codes"] = {"code": code, "language": language}
    return value


def connect(
    server: str | LocalServer | None = "local",
    *,
    api_key: str | None = None,
    llm_api_key: str | None = None,
    local_settings: Mapping[str, Any] | None = None,
) -> Connection:
    """Resolve `server`: "local"/None → co-located (with `local_settings` overrides), a URL → remote."""
    if server is None or server == "local":
        local = shared_local_server(**dict(local_settings or {}))
        return Connection(url=local.url, api_key=local.api_key, llm_api_key=llm_api_key, local=local)
    if isinstance(server, LocalServer):
        server.start()
        return Connection(url=server.url, api_key=server.api_key, llm_api_key=llm_api_key, local=server)
    key = api_key or os.environ.get("SEQURITY_API_KEY")
    if not key:
        raise ValueError(f"server={server!r} needs api_key=... (or SEQURITY_API_KEY in the environment)")
    return Connection(url=server.rstrip("/"), api_key=key, llm_api_key=llm_api_key)
