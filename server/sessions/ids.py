"""Session and tool-call identifiers (spec 6.2, 6.3 rule 3, 13.5)."""

from __future__ import annotations

import hashlib
import os
import time
import uuid

__all__ = [
    "new_session_id",
    "is_session_id",
    "client_tool_call_id",
    "session_of_tool_call_id",
    "upstream_tool_call_id",
    "TOOL_CALL_PREFIX",
]

TOOL_CALL_PREFIX = "tc-"
_UUID_LEN = 36
_SESSION_END = len(TOOL_CALL_PREFIX) + _UUID_LEN  # 39: tool_call_id[3:39] is the session
_MS_MASK = (1 << 48) - 1


def new_session_id() -> str:
    """A fresh time-ordered UUID (version 7 layout: 48-bit milliseconds + 74 random bits).

    Time-based like the reference server's ids, but without uuid1's MAC address.

    >>> len(new_session_id()), new_session_id()[14]
    (36, '7')
    """
    value = (time.time_ns() // 1_000_000 & _MS_MASK) << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def is_session_id(text: object) -> bool:
    """True for a lowercase hyphenated 36-char UUID.

    >>> is_session_id("0192f1c4-7a2b-7c3d-8e4f-0123456789ab"), is_session_id("nope")
    (True, False)
    """
    if not isinstance(text, str) or len(text) != _UUID_LEN:
        return False
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def client_tool_call_id(session_id: str, call_id: str | None = None) -> str:
    """The tool-call id handed to the client: `tc-<session>-<call uuid>` (76 chars by default).

    >>> client_tool_call_id("0192f1c4-7a2b-7c3d-8e4f-0123456789ab", "x")
    'tc-0192f1c4-7a2b-7c3d-8e4f-0123456789ab-x'
    """
    if not is_session_id(session_id):
        raise ValueError(
            f"session id must be a lowercase hyphenated 36-char UUID, got {session_id!r}"
        )
    if call_id is None:
        call_id = str(uuid.uuid4())
    elif not call_id:
        raise ValueError("call id must be a non-empty string (or None for a fresh UUID)")
    return f"{TOOL_CALL_PREFIX}{session_id}-{call_id}"


def session_of_tool_call_id(tool_call_id: object) -> str | None:
    """The session encoded in a client tool-call id, or None (spec 6.3 rule 3).

    >>> session_of_tool_call_id("tc-0192F1C4-7A2B-7C3D-8E4F-0123456789AB-1")
    '0192f1c4-7a2b-7c3d-8e4f-0123456789ab'
    >>> session_of_tool_call_id("call_abc") is None
    True
    """
    if not isinstance(tool_call_id, str) or not tool_call_id.startswith(TOOL_CALL_PREFIX):
        return None
    if len(tool_call_id) < _SESSION_END:
        return None
    candidate = tool_call_id[len(TOOL_CALL_PREFIX) : _SESSION_END].lower()
    return candidate if is_session_id(candidate) else None


def upstream_tool_call_id(client_id: str) -> str:
    """The stateless upstream id of a client id: `call_` + first 32 hex digits of SHA-256 (13.5).

    >>> upstream_tool_call_id("tc-x")[:5], len(upstream_tool_call_id("tc-x"))
    ('call_', 37)
    """
    return "call_" + hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:32]
