"""Audit databases: a SQLite file, and the local PostgreSQL in a schema of its own (dropped after)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.keys.schema import make_engine

PG_BASE = "postgresql+psycopg://{user}@127.0.0.1:5432/test"


def _postgres_url() -> str | None:
    for user in ("root", "postgres"):
        url = PG_BASE.format(user=user)
        try:
            engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
            with engine.connect():
                pass
            engine.dispose()
            return url
        except (ImportError, sa.exc.DBAPIError):  # no driver, or no server: the test skips
            continue
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        made = make_engine(f"sqlite:///{tmp_path}/audit.db")
        yield made
        made.dispose()
        return
    url = _postgres_url()
    if url is None:
        pytest.skip("PostgreSQL at 127.0.0.1:5432/test unreachable")
    schema = f"audit_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(url)
    with admin.begin() as db:
        db.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    made = make_engine(url)

    @sa.event.listens_for(made, "connect")
    def _search_path(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{schema}"')

    try:
        yield made
    finally:
        made.dispose()
        with admin.begin() as db:
            db.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
