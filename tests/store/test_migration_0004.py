"""Migration 0004 on SQLite and PostgreSQL: users made before it keep their emails, an email
becomes unique per account (free in another account, still refused twice in one), and
downgrading restores the global rule."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from tests.store.migrations import engine_at, upgrade_to_head
from tests.store.seed import add_account
from thumbs.kit import ids
from thumbs.store import migrate
from thumbs.store.models import User


def add_user(engine: Engine, account_pk: int, email: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(User).values(
                sid=ids.new_sid(ids.USER), account_pk=account_pk, email=email, role="member"
            )
        )


def test_an_email_becomes_unique_per_account(empty_database: str) -> None:
    url = empty_database
    with engine_at(url, "0003") as engine:
        first, second = add_account(engine), add_account(engine)
        add_user(engine, first, "ada@example.com")
        with pytest.raises(IntegrityError):
            add_user(engine, second, "ada@example.com")  # before: unique across accounts

        migrate.upgrade(url)
        add_user(engine, second, "ada@example.com")
        with pytest.raises(IntegrityError):
            add_user(engine, first, "ada@example.com")
        with engine.connect() as conn:
            rows = conn.execute(select(User.account_pk, User.email).order_by(User.pk)).all()
        assert [tuple(r) for r in rows] == [
            (first, "ada@example.com"),
            (second, "ada@example.com"),
        ]

        with engine.begin() as conn:
            conn.execute(User.__table__.delete().where(User.account_pk == second))
        migrate.downgrade(url, "0003")
        with pytest.raises(IntegrityError):
            add_user(engine, second, "ada@example.com")
        upgrade_to_head(url, engine)
