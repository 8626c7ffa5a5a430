"""Structured JSON logs: one object per line, with the request id of the request being served.

Decisions:
- The request id lives in a context variable set by the observability middleware, so every log
  line written while serving a request carries it without being passed around.
- Secrets are never logged by design (no headers, no bodies); as a second line of defence the
  formatter masks bearer tokens and key-shaped strings (`sqc_...`, `sk-...`) in every message.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = ["request_id_var", "JsonFormatter", "redact", "log_config"]

request_id_var: ContextVar[str | None] = ContextVar("sequrity_request_id", default=None)

_SECRETS = re.compile(
    r"(?i)(bearer\s+)[^\s\"',]+"  # Authorization header values
    r"|\b(sqc_)[A-Za-z0-9_-]{8,}"  # our bearer keys
    r"|\b(sk-(?:ant-)?)[A-Za-z0-9_-]{8,}"  # OpenAI / Anthropic style provider keys
)
# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


def redact(text: str) -> str:
    """Mask secrets that slipped into a message.

    >>> redact("auth Bearer sqc_abcdefghijkl and sk-proj-0123456789")
    'auth Bearer *** and sk-***'
    """
    return _SECRETS.sub(lambda m: f"{m.group(1) or m.group(2) or m.group(3)}***", text)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", ...extra fields}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "request_id":
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Plain lines for a terminal, still redacted and tagged with the request id."""

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        return f"{line} [request_id={request_id}]" if request_id else line


def log_config(*, level: str = "info", fmt: str = "json") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict for uvicorn (`uvicorn.run(log_config=...)`).

    uvicorn's own access log is replaced by the middleware's one line per request.
    """
    formatter = (
        {"()": f"{__name__}.JsonFormatter"}
        if fmt == "json"
        else {"()": f"{__name__}.TextFormatter", "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    named = {"level": level.upper(), "handlers": ["main"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "uvicorn": named,
            "uvicorn.error": {**named},
            "uvicorn.access": {**named, "level": "WARNING"},
            "sequrity_control": named,
        },
        "root": {"level": "WARNING", "handlers": ["main"]},
    }
