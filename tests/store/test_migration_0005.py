"""Migration 0005 on SQLite and PostgreSQL: the revocation counter starts at 0 and moves
with each revocation, the expiry and key-listing indexes exist, and downgrading removes
what it added."""

from __future__ import annotations

from sqlalchemy import delete, inspect

from thumbs.auth.service import bump_credential_epoch, read_credential_epoch
from thumbs.store import migrate
from thumbs.store.engine import Store
from thumbs.store.models import CredentialEpoch


def test_the_counter_starts_at_zero_and_downgrade_removes_it(empty_database: str) -> None:
    migrate.upgrade(empty_database, "0004")
    migrate.upgrade(empty_database)
    store = Store(empty_database)
    try:
        with store.session() as s:
            assert read_credential_epoch(s) == 0
            bump_credential_epoch(s)
        with store.session() as s:
            assert read_credential_epoch(s) == 1
            s.execute(delete(CredentialEpoch))  # a lost row is made again by the next bump
        with store.session() as s:
            assert read_credential_epoch(s) == 0
            bump_credential_epoch(s)
        with store.session() as s:
            assert read_credential_epoch(s) == 1
        found = inspect(store.engine)
        assert "ix_idempotency_keys_date_created" in {
            i["name"] for i in found.get_indexes("idempotency_keys")
        }
        assert "ix_api_keys_account_pk_pk" in {i["name"] for i in found.get_indexes("api_keys")}

        migrate.downgrade(empty_database, "0004")
        found = inspect(store.engine)
        assert "credential_epoch" not in found.get_table_names()
        assert "ix_idempotency_keys_date_created" not in {
            i["name"] for i in found.get_indexes("idempotency_keys")
        }
        assert "ix_api_keys_account_pk_pk" not in {i["name"] for i in found.get_indexes("api_keys")}
    finally:
        store.dispose()
