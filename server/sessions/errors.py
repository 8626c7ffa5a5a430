"""Session-store errors, and the one translation of backend errors into StoreUnavailable.

    Conflict (409)
    ├── SessionBusy       another request holds the session's lease
    ├── VersionConflict   the stored version moved on since this request read it
    └── SessionExists     create() of an id that is already stored
    StoreUnavailable (503)  the backend failed (translated by `backend_errors`)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from server.errors import Conflict, StoreUnavailable

__all__ = ["SessionBusy", "VersionConflict", "SessionExists", "backend_errors"]


class SessionBusy(Conflict):
    default_code = "session_busy"

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id} is busy")
        self.session_id = session_id


class VersionConflict(Conflict):
    default_code = "session_version_conflict"

    def __init__(self, session_id: str, *, stored: int | None, given: int) -> None:
        if stored is None:
            detail = "it is no longer stored (expired or deleted)"
        else:
            detail = f"stored version is {stored}, this request read version {given}"
        super().__init__(f"session {session_id} was changed by another request: {detail}")
        self.session_id = session_id
        self.stored = stored
        self.given = given


class SessionExists(Conflict):
    default_code = "session_exists"

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id} already exists; new sessions need a new id")
        self.session_id = session_id


@contextmanager
def backend_errors(store: str, foreign: tuple[type[BaseException], ...]) -> Iterator[None]:
    """Turn a backend's own exceptions (`foreign`, each backend's table) into StoreUnavailable.

    `store` names the store for the message and must not contain secrets (passwords in URLs).
    """
    try:
        yield
    except foreign as exc:
        raise StoreUnavailable(
            f"session store {store} is unavailable: {type(exc).__name__}: {exc}"
        ) from exc
