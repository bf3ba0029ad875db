"""Migration 0010 on SQLite and PostgreSQL: the account-wide session index of feedbacks is
dropped (the assistants' session index serves those reads) and comes back on downgrade."""

from __future__ import annotations

from sqlalchemy import inspect

from tests.store.migrations import engine_at, upgrade_to_head
from thumbs.store import migrate

DROPPED = "ix_feedbacks_account_pk_session_id_pk"


def test_one_session_index_is_left_on_feedbacks(empty_database: str) -> None:
    url = empty_database
    with engine_at(url, "0009") as engine:
        assert DROPPED in {i["name"] for i in inspect(engine).get_indexes("feedbacks")}
        migrate.upgrade(url, "0010")
        names = {i["name"] for i in inspect(engine).get_indexes("feedbacks")}
        assert DROPPED not in names
        assert "ix_feedbacks_assistant_pk_session_id_pk" in names
        migrate.downgrade(url, "0009")
        assert DROPPED in {i["name"] for i in inspect(engine).get_indexes("feedbacks")}
        upgrade_to_head(url, engine)
