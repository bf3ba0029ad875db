"""Migration 0011 on SQLite and PostgreSQL: rollup cells that disagree with the feedback
rows (a row counted twice, a row never counted) are computed again from the rows."""

from __future__ import annotations

from sqlalchemy import text

from tests.store.migrations import engine_at, upgrade_to_head
from tests.store.seed import account_and_assistant, add_feedback
from thumbs.store import migrate, rollups


def test_rollups_are_computed_again_from_the_rows(empty_database: str) -> None:
    url = empty_database
    with engine_at(url, "0010") as engine:
        with engine.begin() as conn:
            account_pk, assistant_pk = account_and_assistant(conn)
            for n, score in enumerate((1.0, 0.0, 1.0)):
                add_feedback(
                    conn,
                    account_pk,
                    assistant_pk,
                    fid=f"aia_fdbk_{n}",
                    score=score,
                    channel="thumbs",
                    at="2026-01-01 10:00:00.000000",
                )
            rollups.rebuild(conn, account_pk=account_pk)
            right = rollups.stored(conn, account_pk=account_pk)
            # the cells as a race left them: one row counted twice; one row never counted
            conn.execute(text("UPDATE feedback_rollup_hours SET n = n + 1"))
            conn.execute(
                text("DELETE FROM feedback_rollup_days WHERE account_pk = :a"),
                {"a": account_pk},
            )
            assert rollups.stored(conn, account_pk=account_pk) != right
        migrate.upgrade(url, "0011")
        with engine.connect() as conn:
            assert rollups.stored(conn, account_pk=account_pk) == right
            assert right == rollups.recomputed(conn, account_pk=account_pk)
        migrate.downgrade(url, "0010")
        upgrade_to_head(url, engine)
