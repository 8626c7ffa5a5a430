"""Audit databases: a SQLite file, and the local PostgreSQL in a schema of its own (dropped after)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.keys.schema import make_engine
from tests.postgres import engine_in_new_schema, postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        made = make_engine(f"sqlite:///{tmp_path}/audit.db")
        yield made
        made.dispose()
        return
    url, reason = postgres_url()
    if url is None:
        pytest.skip(reason)
    with engine_in_new_schema(url, "audit_test") as made:
        yield made
