"""KeyStore on SQLite and PostgreSQL: create, list, revoke, authenticate, seed; no secret leaks."""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import server.keys as keys
from server.errors import StoreUnavailable
from server.keys import AmbiguousKey, InvalidKeyConfig, KeyRecord, KeyStore
from server.keys.schema import api_keys

CONFIG = {"features": {"agent_arch": "dual-llm"}, "policy": {"codes": {"code": "x"}}, "config": {}}


def test_create_returns_the_secret_once_and_stores_only_its_hash(key_store: KeyStore) -> None:
    record, secret = key_store.create(name="ci", config=CONFIG)
    assert secret.startswith("sqc_") and len(secret) == 47
    assert record.prefix == secret[:8] and record.masked == secret[:8] + "…"
    assert (record.name, record.revoked, record.config) == ("ci", False, CONFIG)
    assert abs(record.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    with key_store.engine.connect() as db:
        rows = [tuple(map(str, row)) for row in db.execute(sa.select(api_keys))]
    assert not any(secret in value for row in rows for value in row)
    assert any(hashlib.sha256(secret.encode()).hexdigest() in row for row in rows)


def test_authenticate(key_store: KeyStore) -> None:
    record, secret = key_store.create()
    assert key_store.authenticate(secret) == record
    assert record.name is None and record.config is None
    assert key_store.authenticate(secret + "x") is None
    assert key_store.authenticate("") is None


def test_list_never_shows_secrets(key_store: KeyStore) -> None:
    first, first_secret = key_store.create(name="one")
    second, second_secret = key_store.create(name="two")
    listed = key_store.list()
    assert [r.id for r in listed] == [first.id, second.id]
    assert first_secret not in repr(listed) and second_secret not in repr(listed)


@pytest.mark.parametrize("by", ["id", "prefix", "masked", "dots"])
def test_revoke_by_id_or_prefix(key_store: KeyStore, by: str) -> None:
    record, secret = key_store.create()
    kept, kept_secret = key_store.create()
    handle = {
        "id": record.id,
        "prefix": record.prefix,
        "masked": record.masked,
        "dots": record.prefix + "...",
    }[by]
    assert key_store.revoke(handle) is True
    assert key_store.authenticate(secret) is None
    assert key_store.authenticate(kept_secret) == kept
    assert key_store.revoke(handle) is False  # already revoked
    assert [r.revoked for r in key_store.list()] == [True, False]


def test_revoke_unknown_and_empty(key_store: KeyStore) -> None:
    assert key_store.revoke("key_nope") is False
    with pytest.raises(ValueError, match="give the id or the displayed prefix"):
        key_store.revoke("  ")


def test_revoke_of_an_ambiguous_prefix_names_the_keys(key_store: KeyStore) -> None:
    key_store.seed(["shared-prefix-one", "shared-prefix-two"])  # prefix "shar" for both
    ids = sorted(r.id for r in key_store.list())
    with pytest.raises(AmbiguousKey) as caught:
        key_store.revoke("shar")
    assert caught.value.status == 409 and all(key_id in caught.value.message for key_id in ids)
    assert key_store.revoke(ids[0]) is True


def test_seed_is_idempotent_and_keeps_revocations(key_store: KeyStore) -> None:
    assert key_store.is_empty()
    assert key_store.seed(["dev-key-one", " dev-key-two ", "", "dev-key-one"]) == 2
    assert key_store.seed(["dev-key-one", "dev-key-two"]) == 0
    assert not key_store.is_empty()
    one = key_store.authenticate("dev-key-one")
    assert one is not None and one.name == "SEQURITY_CONTROL_API_KEYS" and one.prefix == "de"
    assert key_store.authenticate("dev-key-two") is not None
    key_store.revoke(one.id)
    assert key_store.seed(["dev-key-one"]) == 0
    assert key_store.authenticate("dev-key-one") is None
    assert len(key_store.list()) == 2


def test_workers_seeding_at_once_store_each_key_once(key_store: KeyStore) -> None:
    wanted = [f"worker-seeded-key-{n}" for n in range(5)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        added = list(pool.map(lambda _: key_store.seed(wanted), range(4)))
    assert sum(added) == 5 and len(key_store.list()) == 5


def test_is_empty_counts_active_keys_only(key_store: KeyStore) -> None:
    record, _ = key_store.create()
    assert not key_store.is_empty()
    key_store.revoke(record.id)
    assert key_store.is_empty()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([], "key config must be a JSON object with keys features, policy, config"),
        ({"feature": {}}, "key config has unknown keys feature; allowed: features, policy, config"),
        ({"policy": "allow all"}, "key config.policy must be a JSON object, got str"),
        ({"config": {"x": {1, 2}}}, "key config is not JSON data"),
    ],
)
def test_bad_configs_are_named_and_nothing_is_stored(
    key_store: KeyStore, config: object, message: str
) -> None:
    with pytest.raises(InvalidKeyConfig) as caught:
        key_store.create(config=config)  # type: ignore[arg-type]
    assert caught.value.status == 400 and caught.value.message.startswith(message)
    assert key_store.list() == []


def test_ping_and_reopen_keep_keys(key_store: KeyStore) -> None:
    key_store.ping()
    record, secret = key_store.create(config=CONFIG)
    again = KeyStore.from_engine(key_store.engine)  # tables exist already: create_all is a no-op
    assert again.authenticate(secret) == record


def test_secrets_are_never_logged(key_store: KeyStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, secret = key_store.create(name="logged?")
    key_store.seed(["seeded-secret-value"])
    key_store.authenticate(secret)
    key_store.authenticate("seeded-secret-value")
    assert secret not in caplog.text and "seeded-secret-value" not in caplog.text


def test_unreachable_database_is_store_unavailable_without_the_password() -> None:
    url = "postgresql+psycopg://user:hunter2@127.0.0.1:1/none?connect_timeout=1"
    with pytest.raises(StoreUnavailable) as caught:
        KeyStore(url)
    assert caught.value.status == 503 and "key database" in caught.value.message
    assert "hunter2" not in caught.value.message and "***" in caught.value.message


def test_a_broken_sqlite_file_is_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="key database sqlite:///.*missing/keys.db"):
        KeyStore(f"sqlite:///{tmp_path}/missing/keys.db")


def test_bare_postgresql_url_uses_psycopg() -> None:
    from server.keys.schema import normalise_url

    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///k.db").drivername == "sqlite"


def test_unsupported_database_is_named() -> None:
    engine = sa.create_engine("sqlite://")
    engine.dialect.name = "mysql"  # no MySQL driver here; the check only looks at the name
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        KeyStore.from_engine(engine)


def test_key_record_is_frozen_and_surface_is_pinned() -> None:
    record = KeyRecord("key_1", None, "sqc_ab12", datetime.now(UTC), False, None)
    with pytest.raises(AttributeError):
        record.revoked = True  # type: ignore[misc]
    assert sorted(keys.__all__) == sorted(
        ["KeyStore", "KeyRecord", "AmbiguousKey", "InvalidKeyConfig", "hash_secret", "new_secret"]
    )
