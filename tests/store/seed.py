"""Rows the migration tests write directly (the schema may be older than the models)."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert, text

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


def add_feedback(
    conn: Connection,
    account_pk: int,
    assistant_pk: int,
    *,
    fid: str,
    score: float,
    channel: str,
    at: str,
) -> None:
    """A pending feedback row of session ``s`` created at ``at`` (the stored text of a
    DateTime), its type from its score; written by SQL, as a migration finds it."""
    conn.execute(
        text(
            "INSERT INTO feedbacks (id, account_pk, assistant_pk, session_id, score, "
            "feedback_type, channel, status, version, date_created, date_updated) "
            "VALUES (:id, :a, :b, 's', :score, :kind, :channel, 'pending', 1, :at, :at)"
        ),
        {
            "id": fid,
            "a": account_pk,
            "b": assistant_pk,
            "score": score,
            "kind": "positive" if score else "negative",
            "channel": channel,
            "at": at,
        },
    )
