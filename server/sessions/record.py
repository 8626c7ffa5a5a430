"""The stored session: one frozen record of plain JSON data, changed only with `replace`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from server.names import AgentArch
from server.sessions.ids import is_session_id, new_session_id

__all__ = ["Session", "empty_session_meta"]

_ARCHS = tuple(arch.value for arch in AgentArch)
_META_KEYS = ("producers", "consumers", "tags")


def empty_session_meta() -> dict[str, list[Any]]:
    """Session metadata in wire shape with nothing in it."""
    return {key: [] for key in _META_KEYS}


@dataclass(frozen=True)
class Session:
    """One session's state (spec 6.1). The config is not stored: it is resolved per request (13.1).

    `lease` is the token of the request lease this copy was handed out with (by `acquire` or
    `create`); it is not session data, so it is neither serialised nor compared.
    Treat the dict fields as immutable: build new ones and `replace`.

    >>> s = Session.new(owner="key-1", arch="single-llm", now=0.0)
    >>> Session.from_json(s.to_json()) == s
    True
    """

    id: str
    owner: str
    arch: str
    version: int = 0
    turn: int = 0
    session_meta: dict[str, Any] = field(default_factory=empty_session_meta)
    pending_calls: tuple[str, ...] = ()
    state: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    lease: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not is_session_id(self.id):
            raise ValueError(f"Session.id must be a lowercase hyphenated UUID, got {self.id!r}")
        if not isinstance(self.owner, str) or not self.owner:
            raise ValueError("Session.owner must be a non-empty key id")
        if self.arch not in _ARCHS:
            raise ValueError(f"Session.arch must be one of {', '.join(_ARCHS)}, got {self.arch!r}")
        if isinstance(self.pending_calls, list):  # JSON gives lists; keep the field hashable
            object.__setattr__(self, "pending_calls", tuple(self.pending_calls))

    @classmethod
    def new(
        cls, *, owner: str, arch: str, now: float | None = None, session_id: str | None = None
    ) -> Session:
        """A fresh session at version 0, turn 0."""
        stamp = time.time() if now is None else now
        return cls(
            id=session_id or new_session_id(),
            owner=owner,
            arch=str(arch),
            created_at=stamp,
            updated_at=stamp,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (no lease)."""
        return {
            "id": self.id,
            "owner": self.owner,
            "arch": self.arch,
            "version": self.version,
            "turn": self.turn,
            "session_meta": self.session_meta,
            "pending_calls": list(self.pending_calls),
            "state": self.state,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def to_json(self) -> str:
        try:
            return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"session {self.id} holds data that is not JSON: {exc}") from exc

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        missing = [name for name in ("id", "owner", "arch") if name not in data]
        if missing:
            raise ValueError(f"stored session lacks {', '.join(missing)}")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValueError(f"stored session has unknown fields {', '.join(unknown)}")
        return cls(**{**data, "pending_calls": tuple(data.get("pending_calls", ()))})

    @classmethod
    def from_json(cls, text: str | bytes) -> Session:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"stored session must be a JSON object, got {type(data).__name__}")
        return cls.from_dict(data)

    def with_lease(self, lease: str | None) -> Session:
        return replace(self, lease=lease)


_FIELDS = (
    "id owner arch version turn session_meta pending_calls state created_at updated_at".split()
)
