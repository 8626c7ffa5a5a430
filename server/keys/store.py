"""KeyStore: bearer keys, stored hashed with an optional base config, on SQLAlchemy Core."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError

from server.errors import Conflict, StoreUnavailable
from server.keys.record import KeyRecord, check_config, display_prefix, hash_secret, new_secret
from server.keys.schema import api_keys, make_engine, metadata

__all__ = ["KeyStore", "AmbiguousKey", "SEEDED_KEY_NAME"]

SEEDED_KEY_NAME = "SEQURITY_CONTROL_API_KEYS"
_ELLIPSES = ("…", "...")
# Foreign errors this store turns into StoreUnavailable, in one place (`_database`).
_FOREIGN_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, OSError)
# Idempotent inserts per dialect (seed): INSERT ... ON CONFLICT DO NOTHING.
_INSERT_IGNORING: dict[str, Callable[[], Any]] = {
    "sqlite": lambda: sqlite.insert(api_keys).on_conflict_do_nothing(
        index_elements=["secret_sha256"]
    ),
    "postgresql": lambda: postgresql.insert(api_keys).on_conflict_do_nothing(
        index_elements=["secret_sha256"]
    ),
}


class AmbiguousKey(Conflict):
    default_code = "ambiguous_key"


class KeyStore:
    """The bearer keys of a deployment. Secrets are returned once by `create` and never stored.

    >>> store = KeyStore("sqlite://")
    >>> record, secret = store.create(name="ci")
    >>> store.authenticate(secret) == record, secret.startswith("sqc_")
    (True, True)
    """

    def __init__(self, url: str | URL) -> None:
        self._setup(make_engine(url))

    @classmethod
    def from_engine(cls, engine: Engine) -> KeyStore:
        """A store on an engine the caller configured (event hooks, pools); tables are created."""
        store = cls.__new__(cls)
        store._setup(engine)
        return store

    def _setup(self, engine: Engine) -> None:
        self.engine = engine
        self._label = engine.url.render_as_string(hide_password=True)
        dialect = engine.dialect.name
        if dialect not in _INSERT_IGNORING:
            raise ValueError(
                f"key database {self._label}: unsupported database {dialect!r};"
                f" use sqlite:///<file> or postgresql+psycopg://user@host/db"
            )
        self._insert_ignoring = _INSERT_IGNORING[dialect]
        with self._database():
            try:
                metadata.create_all(engine)
            except DBAPIError:  # another worker created the tables at the same moment
                metadata.create_all(engine)

    def __repr__(self) -> str:
        return f"KeyStore({self._label!r})"

    # -- keys ----------------------------------------------------------------------------------

    def create(
        self, name: str | None = None, config: dict[str, Any] | None = None
    ) -> tuple[KeyRecord, str]:
        """A new key and its secret; show the secret once, it cannot be recovered."""
        stored_config = check_config(config)
        secret = new_secret()
        row = self._row(secret, name=name, config=stored_config)
        with self._database() as db:
            db.execute(api_keys.insert().values(**row))
        return _record(row), secret

    def list(self) -> list[KeyRecord]:
        """Every key, oldest first, revoked ones included (never a secret)."""
        query = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        with self._database() as db:
            return [_record(row._mapping) for row in db.execute(query)]

    def revoke(self, key_id_or_prefix: str) -> bool:
        """Revoke the active key with this id or displayed prefix; False when none matches.

        A prefix that matches several active keys raises AmbiguousKey naming their ids.
        """
        wanted = key_id_or_prefix.strip()
        for ellipsis in _ELLIPSES:
            wanted = wanted.removesuffix(ellipsis)
        if not wanted:
            raise ValueError("give the id or the displayed prefix of the key to revoke")
        active = api_keys.c.revoked_at.is_(None)
        with self._database() as db:
            ids = list(db.scalars(sa.select(api_keys.c.id).where(active, api_keys.c.id == wanted)))
            if not ids:
                by_prefix = sa.select(api_keys.c.id).where(active, api_keys.c.prefix == wanted)
                ids = list(db.scalars(by_prefix))
            if len(ids) > 1:
                raise AmbiguousKey(
                    f"prefix {wanted!r} matches {len(ids)} active keys ({', '.join(sorted(ids))});"
                    " revoke by id instead"
                )
            if not ids:
                return False
            update = api_keys.update().where(api_keys.c.id == ids[0], active)
            return db.execute(update.values(revoked_at=_now())).rowcount == 1

    def authenticate(self, secret: str) -> KeyRecord | None:
        """The active key with this secret, or None (unknown or revoked).

        The lookup is by SHA-256 (see `hash_secret`), so no comparison of the secret itself leaks
        timing.
        """
        if not secret:
            return None
        query = sa.select(api_keys).where(
            api_keys.c.secret_sha256 == hash_secret(secret), api_keys.c.revoked_at.is_(None)
        )
        with self._database() as db:
            row = db.execute(query).first()
        return None if row is None else _record(row._mapping)

    def seed(self, secrets_: Iterable[str]) -> int:
        """Store the given secrets as keys unless already stored (revoked ones stay revoked).

        Idempotent, and safe when several workers seed at once. Returns how many were new.
        """
        wanted = list(dict.fromkeys(s.strip() for s in secrets_ if s and s.strip()))
        if not wanted:
            return 0
        added = 0
        with self._database() as db:
            for secret in wanted:
                row = self._row(secret, name=SEEDED_KEY_NAME, config=None)
                insert = self._insert_ignoring().values(**row).returning(api_keys.c.id)
                added += db.execute(insert).first() is not None  # rowcount is -1 on psycopg
        return added

    def is_empty(self) -> bool:
        """True when no active key exists (nobody could authenticate: time for a bootstrap key)."""
        query = sa.select(api_keys.c.id).where(api_keys.c.revoked_at.is_(None)).limit(1)
        with self._database() as db:
            return db.execute(query).first() is None

    def ping(self) -> None:
        """Raise StoreUnavailable when the database does not answer."""
        with self._database() as db:
            db.execute(sa.select(sa.literal(1))).scalar_one()

    def close(self) -> None:
        self.engine.dispose()

    # -- helpers -------------------------------------------------------------------------------

    @contextmanager
    def _database(self) -> Iterator[Connection]:
        """One transaction; the single place database errors become StoreUnavailable."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except _FOREIGN_ERRORS as exc:
            cause = getattr(exc, "orig", None) or exc
            first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
            raise StoreUnavailable(
                f"key database {self._label} is unavailable: {type(cause).__name__}: {first_line}"
            ) from exc

    @staticmethod
    def _row(secret: str, *, name: str | None, config: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "id": "key_" + secrets.token_hex(8),
            "name": name,
            "prefix": display_prefix(secret),
            "secret_sha256": hash_secret(secret),
            "created_at": _now(),
            "revoked_at": None,
            "config": config,
        }


def _now() -> datetime:
    return datetime.now(UTC)


def _record(row: Any) -> KeyRecord:
    created = row["created_at"]
    if created.tzinfo is None:  # SQLite keeps no zone; we only ever store UTC
        created = created.replace(tzinfo=UTC)
    return KeyRecord(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=created,
        revoked=row["revoked_at"] is not None,
        config=row["config"],
    )
