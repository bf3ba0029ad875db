"""Migration 0009 on SQLite and PostgreSQL: console users made before it stay active with
their password and no pending link, the explorer's indexes are built over the feedback
already there, and downgrading gives back the 0008 schema."""

from __future__ import annotations

from sqlalchemy import inspect, select, text

from tests.store.migrations import engine_at, upgrade_to_head
from tests.store.seed import add_account
from thumbs.kit import ids
from thumbs.store import migrate
from thumbs.store.models import User

NEW_COLUMNS = {"deactivated_at", "password_link_hash", "password_link_expires"}
NEW_INDEXES = {"ix_feedbacks_account_pk_pk", "ix_feedbacks_account_pk_session_id_pk"}


def test_console_users_stay_active_and_the_explorer_gets_its_indexes(
    empty_database: str,
) -> None:
    url = empty_database
    with engine_at(url, "0008") as engine:
        account = add_account(engine)
        sid = ids.new_sid(ids.USER)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (sid, account_pk, email, password_hash, role, "
                    "date_created, date_updated) VALUES (:sid, :a, 'ada@example.com', "
                    "'argon2-hash', 'admin', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"sid": sid, "a": account},
            )
        migrate.upgrade(url, "0009")
        with engine.connect() as conn:
            row = conn.execute(
                select(
                    User.password_hash,
                    User.deactivated_at,
                    User.password_link_hash,
                    User.password_link_expires,
                ).where(User.sid == sid)
            ).one()
        assert tuple(row) == ("argon2-hash", None, None, None)
        shape = inspect(engine)
        assert {c["name"] for c in shape.get_columns("users")} >= NEW_COLUMNS
        assert {i["name"] for i in shape.get_indexes("feedbacks")} >= NEW_INDEXES

        migrate.downgrade(url, "0008")
        shape = inspect(engine)
        assert not NEW_COLUMNS & {c["name"] for c in shape.get_columns("users")}
        assert not NEW_INDEXES & {i["name"] for i in shape.get_indexes("feedbacks")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT email FROM users")).scalars().all() == [
                "ada@example.com"
            ]
        upgrade_to_head(url, engine)
