"""A KeyStore on a temporary SQLite file and on the local PostgreSQL, each in its own schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.keys import KeyStore
from tests.postgres import engine_in_new_schema
from tests.postgres import postgres_url as local_postgres_url

@pytest.fixture(scope="session")
def postgres_url() -> str:
    url, reason = local_postgres_url()
    if url is None:
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def pg_engine(postgres_url: str) -> Iterator[sa.Engine]:
    """An engine whose every connection works in a fresh schema for this run, dropped afterwards."""
    with engine_in_new_schema(postgres_url, "keys_test") as engine:
        yield engine


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
