"""Rows the migration tests write directly (the schema may be older than the models)."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert

from thumbs.kit import ids
from thumbs.store.models import Account, Assistant


def account_and_assistant(conn: Connection) -> tuple[int, int]:
    """A new account with one assistant: their primary keys."""
    account_pk = conn.execute(
        insert(Account)
        .values(sid=ids.new_sid(ids.ACCOUNT), friendly_name="a", auth_token_hash="x")
        .returning(Account.pk)
    ).scalar_one()
    assistant_pk = conn.execute(
        insert(Assistant)
        .values(
            id=ids.new_id(ids.ASSISTANT),
            account_pk=account_pk,
            name="bot",
            owner="",
            model="",
            personality_prompt="",
            customer_ai={},
        )
        .returning(Assistant.pk)
    ).scalar_one()
    return int(account_pk), int(assistant_pk)


def add_account(engine: Engine) -> int:
    """A new account, in a transaction of its own: its primary key."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(Account)
                .values(sid=ids.new_sid(ids.ACCOUNT), friendly_name="a", auth_token_hash="x")
                .returning(Account.pk)
            ).scalar_one()
        )
