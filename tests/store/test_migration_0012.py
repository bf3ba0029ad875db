"""Migration 0012 on SQLite: rollup cells built with SQLite's rounding of a time's fraction
(a row at 10:59:59.9997 in the hour 11:00) are computed again, each row in the hour Python
puts it in; PostgreSQL's cells are left as they are."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from tests.store.migrations import engine_at, upgrade_to_head
from tests.store.seed import account_and_assistant, add_feedback
from thumbs.store import migrate, rollups

LATE = datetime(2026, 1, 1, 10, 59, 59, 999_700)


def test_rollups_are_computed_again_with_each_row_in_its_hour(empty_database: str) -> None:
    url = empty_database
    with engine_at(url, "0011") as engine:
        with engine.begin() as conn:
            account_pk, assistant_pk = account_and_assistant(conn)
            add_feedback(
                conn,
                account_pk,
                assistant_pk,
                fid="aia_fdbk_late",
                score=1.0,
                channel="api",
                at=LATE.isoformat(" ", "microseconds"),
            )
            rollups.rebuild(conn, account_pk=account_pk)
            right = rollups.stored(conn, account_pk=account_pk)
            hours = {key[2] for key in right["feedback_rollup_hours"]}
            assert hours == {rollups.epoch(LATE) // 3600}
            # the cells as the rounding SQL built them: the row an hour later
            conn.execute(text("UPDATE feedback_rollup_hours SET bucket = bucket + 1"))
            wrong = rollups.stored(conn, account_pk=account_pk)
            assert wrong != right
        migrate.upgrade(url, "0012")
        with engine.connect() as conn:
            after = rollups.stored(conn, account_pk=account_pk)
            sqlite = conn.dialect.name == "sqlite"
        assert after == (right if sqlite else wrong)
        migrate.downgrade(url, "0011")
        upgrade_to_head(url, engine)
