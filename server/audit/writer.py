"""`AuditLog.record(...)`: cheap, non-blocking audit records, written in batches by a background task.

Decisions:
- `record` only appends to an in-memory queue (no await, no I/O): a policy check never waits for
  the database. A background task writes the queue every `flush_seconds` (or as soon as a batch
  is full) in one multi-row INSERT, in a thread so the event loop never blocks on SQLite.
- A worker's records become readable within `flush_seconds`; the audit route flushes its own
  worker's queue first, so an owner reading after a request sees that request's records.
- When the database is down, batches stay queued and are retried; a queue past `max_pending`
  drops new records, counted in `sequrity_control_audit_records_dropped_total` and logged.
  Records still queued when a worker is SIGKILLed are lost (at most `flush_seconds` worth).
- Argument values are kept only with SEQURITY_CONTROL_AUDIT_VALUES=1 (`include_values`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from server.audit.records import audit_metadata, audit_records, normalise_fired
from server.errors import StoreUnavailable
from server.observability.logging import request_id_var

__all__ = ["AuditLog", "database_errors"]

log = logging.getLogger("sequrity_control.audit")

FLUSH_SECONDS = 0.25
BATCH_SIZE = 500
MAX_PENDING = 100_000
RETRY_SECONDS = 1.0
_WARN_EVERY_SECONDS = 60.0
# Foreign errors turned into StoreUnavailable, in one place (`database_errors`).
_FOREIGN_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, OSError)


@contextmanager
def database_errors(engine: Engine) -> Iterator[None]:
    """The one place audit database errors become StoreUnavailable (URL shown without password)."""
    try:
        yield
    except _FOREIGN_ERRORS as exc:
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        label = engine.url.render_as_string(hide_password=True)
        raise StoreUnavailable(
            f"audit database {label} is unavailable: {type(cause).__name__}: {first}"
        ) from exc


class AuditLog:
    """The audit log of one worker: `record` from the request path, batched writes behind it.

    >>> from server.keys.schema import make_engine
    >>> audit = AuditLog(make_engine("sqlite://"))
    >>> audit.record(session_id="s", owner="key_1", tool="send_email", verdict="hard_denied",
    ...              fired=["no_external_mail"])
    >>> audit.pending
    1
    """

    def __init__(
        self,
        engine: Engine,
        *,
        include_values: bool = False,
        flush_seconds: float = FLUSH_SECONDS,
        batch_size: int = BATCH_SIZE,
        max_pending: int = MAX_PENDING,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.include_values = include_values
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._on_drop = on_drop
        self._queue: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._write_lock: asyncio.Lock | None = None
        self._last_warning = 0.0
        self._ensure_schema()

    @property
    def pending(self) -> int:
        """Records recorded but not yet written."""
        return len(self._queue)

    def record(
        self,
        *,
        session_id: str,
        owner: str,
        tool: str,
        verdict: str,
        fired: Sequence[Any] = (),
        call_id: str | None = None,
        source: str | None = None,
        message: str | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue one policy decision (never blocks, never raises for a database outage).

        `fired` holds rule names or spec 13.8 objects `{"rule", "line", "description"}`;
        `arguments` is stored only when the log was built with `include_values=True`.
        """
        if len(self._queue) >= self._max_pending:
            self._dropped()
            return
        self._queue.append(
            {
                "at": datetime.now(UTC),
                "session_id": session_id,
                "owner": owner,
                "tool": tool,
                "call_id": call_id,
                "verdict": verdict,
                "source": source,
                "fired": normalise_fired(fired),
                "message": message,
                "arguments": dict(arguments) if self.include_values and arguments else None,
                "request_id": request_id_var.get(),
            }
        )
        if len(self._queue) >= self._batch_size:
            self._wake_writer()

    async def start(self) -> None:
        """Start the background writer on the running loop (the app's lifespan calls this)."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._task = asyncio.create_task(self._writer(self._wake), name="audit-writer")

    async def flush(self) -> None:
        """Write everything queued now; raises StoreUnavailable when the database is down."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
                try:
                    await self._write_in_thread(batch)
                except BaseException:
                    self._queue.extendleft(reversed(batch))  # kept for the next attempt
                    raise

    async def aclose(self) -> None:
        """Stop the writer and write what is left (logged, not raised, if the database is down)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        try:
            await self.flush()
        except StoreUnavailable as err:
            log.error("%d audit records were not written: %s", self.pending, err.message)

    # -- behind the queue ----------------------------------------------------------------------

    async def _writer(self, wake: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(wake.wait(), timeout=self._flush_seconds)
            except TimeoutError:
                pass
            wake.clear()
            try:
                await self.flush()
            except StoreUnavailable as err:
                self._warn(f"audit records kept for retry ({self.pending}): {err.message}")
                await asyncio.sleep(RETRY_SECONDS)

    async def _write_in_thread(self, batch: list[dict[str, Any]]) -> None:
        try:
            await asyncio.to_thread(self._write, batch)
        except RuntimeError as err:
            if "shutdown" not in str(err):
                raise
            # The loop's default executor is gone (a server stopped at interpreter exit, from an
            # atexit hook): write on this thread rather than lose the records.
            self._write(batch)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        rows = [
            {**row, "arguments": _json_safe(row["arguments"])} if row["arguments"] else row
            for row in batch
        ]
        with database_errors(self.engine), self.engine.begin() as db:
            db.execute(audit_records.insert(), rows)

    def _ensure_schema(self) -> None:
        with database_errors(self.engine):
            try:
                audit_metadata.create_all(self.engine)
            except DBAPIError:  # another worker created the table at the same moment
                audit_metadata.create_all(self.engine)

    def _wake_writer(self) -> None:
        if self._wake is None or self._loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _dropped(self) -> None:
        if self._on_drop is not None:
            self._on_drop()
        self._warn(f"audit queue full ({self._max_pending} records): dropping new records")

    def _warn(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning(text)


def _json_safe(value: Any) -> Any:
    """Argument values as JSON (anything else by its repr), so one odd value never fails a batch."""
    return json.loads(json.dumps(value, default=repr))
