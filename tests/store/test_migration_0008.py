"""Migration 0008 on SQLite and PostgreSQL: feedback written before it gets version 1 (its
first ETag), new rows start at 1 without naming the column, and downgrading removes the
column and keeps the rows and the one-verdict-per-user index."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from tests.store.migrations import engine_at
from tests.store.seed import account_and_assistant
from thumbs.store import migrate

BEFORE = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_revision("0008")


def _feedback(conn: Connection, account_pk: int, assistant_pk: int, fid: str) -> None:
    conn.execute(
        text(
            "INSERT INTO feedbacks (id, account_pk, assistant_pk, session_id, channel, status, "
            "date_created, date_updated) VALUES (:id, :a, :b, 's', 'api', 'pending', "
            "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
        ),
        {"id": fid, "a": account_pk, "b": assistant_pk},
    )


def test_existing_feedback_starts_at_version_one_and_downgrade_removes_it(
    empty_database: str,
) -> None:
    assert BEFORE is not None
    down = BEFORE.down_revision
    assert isinstance(down, str)
    url = empty_database
    with engine_at(url, down) as engine:
        with engine.begin() as conn:
            account_pk, assistant_pk = account_and_assistant(conn)
            _feedback(conn, account_pk, assistant_pk, "aia_fdbk_before")

        migrate.upgrade(url, "0008")
        with engine.begin() as conn:
            _feedback(conn, account_pk, assistant_pk, "aia_fdbk_after")
            versions = conn.execute(text("SELECT id, version FROM feedbacks ORDER BY pk")).all()
        assert [tuple(v) for v in versions] == [("aia_fdbk_before", 1), ("aia_fdbk_after", 1)]

        migrate.downgrade(url, down)
        columns = {c["name"] for c in inspect(engine).get_columns("feedbacks")}
        assert "version" not in columns
        indexes = {i["name"] for i in inspect(engine).get_indexes("feedbacks")}
        assert "uq_feedbacks_thumb" in indexes
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT id FROM feedbacks ORDER BY pk")).scalars().all()
        assert kept == ["aia_fdbk_before", "aia_fdbk_after"]
