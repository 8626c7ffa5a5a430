"""A KeyStore on a temporary SQLite file and on the local PostgreSQL, each in its own schema."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.keys import KeyStore
from server.keys.schema import make_engine

PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
PG_USERS = ("root", "postgres")


def _postgres_url() -> tuple[str | None, str]:
    """A reachable PostgreSQL URL, or None with the reason it is not usable."""
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed (pip install 'psycopg[binary]')"
    errors = []
    for user in PG_USERS:
        try:
            psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname=PG_DATABASE, connect_timeout=2
            ).close()
        except psycopg.Error as exc:
            errors.append(f"{user}: {str(exc).strip().splitlines()[0]}")
            continue
        return f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}", ""
    where = f"{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
    return None, f"PostgreSQL at {where} unreachable ({'; '.join(errors)})"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url, reason = _postgres_url()
    if url is None:
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def pg_engine(postgres_url: str) -> Iterator[sa.Engine]:
    """An engine whose every connection works in a fresh schema for this run, dropped afterwards."""
    schema = f"keys_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as db:
        db.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(postgres_url)

    @sa.event.listens_for(engine, "connect")
    def _search_path(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{schema}"')
        dbapi_connection.commit()

    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as db:
            db.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def key_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyStore]:
    if request.param == "sqlite":
        store = KeyStore(f"sqlite:///{tmp_path}/keys.db")
    else:
        engine = request.getfixturevalue("pg_engine")
        with engine.begin() as db:  # the schema is per run; each test starts with no keys
            db.execute(sa.text("DROP TABLE IF EXISTS control_api_keys"))
        store = KeyStore.from_engine(engine)
    yield store
    if request.param == "sqlite":
        store.close()  # the PostgreSQL engine is shared by the run and disposed with its schema
