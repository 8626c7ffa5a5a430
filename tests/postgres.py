"""The local PostgreSQL for tests: a reachable URL (or why not), and an engine in a throwaway schema."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from server.keys.schema import make_engine

__all__ = ["postgres_url", "engine_in_new_schema"]

PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
PG_USERS = ("root", "postgres")


def postgres_url() -> tuple[str | None, str]:
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


@contextmanager
def engine_in_new_schema(url: str, prefix: str) -> Iterator[sa.Engine]:
    """An engine whose every connection works in a fresh schema `<prefix>_<random>`, dropped after."""
    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = sa.create_engine(url)
    with admin.begin() as db:
        db.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _search_path(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{schema}"')
        dbapi_connection.commit()  # a later rollback must not undo the search path

    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as db:
            db.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
