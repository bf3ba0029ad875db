"""Migration 0006 on SQLite and PostgreSQL: feedback written before it (every status, with
and without verdicts, scores, texts, reasons and reviews, over several hours and days) is
counted in the rollups it builds, exactly as a recomputation from the rows; later writes
keep them true; downgrading removes what it added and keeps the feedback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, make_url, select, text

from thumbs.analytics import service
from thumbs.config import normalize_database_url
from thumbs.feedback.filters import FeedbackFilter
from thumbs.kit import ids
from thumbs.store import migrate, rollups
from thumbs.store.engine import Store, make_engine
from thumbs.store.models import Account, Assistant, Feedback

PG_URL = os.environ.get("THUMBS_TEST_DATABASE_URL")


def _fresh_postgres(url: str) -> str:
    """A database of its own for this test (``<database>_migration``), emptied."""
    base = make_url(normalize_database_url(url))
    name = f"{base.database}_migration"
    admin = make_engine(base.render_as_string(hide_password=False), null_pool=True)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if (
            conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            is None
        ):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    fresh = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(fresh, null_pool=True)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return fresh


@pytest.fixture(params=["sqlite", *(["postgresql"] if PG_URL else [])])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    else:
        assert PG_URL is not None
        yield _fresh_postgres(PG_URL)


def _revision_before_0006(url: str) -> str:
    down = ScriptDirectory.from_config(migrate.alembic_config(url)).get_revision("0006")
    assert down is not None
    assert isinstance(down.down_revision, str)
    return down.down_revision


def _old_feedback(store: Store) -> tuple[int, int]:
    """Feedback as the revisions before 0006 stored it; returns the account and assistant
    keys."""
    start = datetime(2026, 6, 1, 9, 30)
    with store.engine.begin() as conn:
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
        statuses = ["pending", "auto_approved", "reviewed", "dismissed"]
        rows = []
        for i in range(120):
            created = start + timedelta(minutes=47 * i)
            status = statuses[i % 4]
            decided = status in ("reviewed", "dismissed")
            score = None if i % 7 == 0 else (i % 5) / 4
            rows.append(
                {
                    "id": ids.new_id(ids.FEEDBACK),
                    "account_pk": account_pk,
                    "assistant_pk": assistant_pk,
                    "session_id": f"s{i % 3}",
                    "score": score,
                    "text": ["", None, "slow"][i % 3],
                    "reason": "wrong" if i % 4 == 1 else None,
                    "channel": "thumbs" if i % 2 else "api",
                    "feedback_type": None
                    if score is None
                    else ("positive" if score >= 0.5 else "negative"),
                    "status": status,
                    "reviewed_at": created + timedelta(seconds=90 * i) if decided else None,
                    "date_created": created,
                    "date_updated": created,
                }
            )
        conn.execute(insert(Feedback), rows)
    return account_pk, assistant_pk


def test_the_rollups_are_built_for_existing_feedback_and_downgrade_cleans_up(
    empty_url: str,
) -> None:
    before = _revision_before_0006(empty_url)
    migrate.upgrade(empty_url, before)
    store = Store(empty_url)
    try:
        account_pk, assistant_pk = _old_feedback(store)

        migrate.upgrade(empty_url)

        with store.engine.connect() as conn:
            built = rollups.stored(conn, account_pk=account_pk)
            expected = rollups.recomputed(conn, account_pk=account_pk)
        assert built[rollups.HOURS.name]  # something was built
        for grain, cells in expected.items():
            assert set(built[grain]) == set(cells)
            for key, values in cells.items():
                assert built[grain][key] == pytest.approx(values), (grain, key)
        with store.sessions() as session:
            found = service.summary(
                session, flt=FeedbackFilter(account_pk=account_pk, assistant_pk=assistant_pk)
            )
            every = list(session.scalars(select(Feedback)))
        assert found.totals.count == 120
        assert found.by_status == dict.fromkeys(
            ("pending", "auto_approved", "reviewed", "dismissed"), 30
        )
        assert found.rate.positive == sum(f.feedback_type == "positive" for f in every)
        assert found.totals["reviewed"] == 60
        assert found.totals["with_reason"] == 30

        migrate.downgrade(empty_url, before)
        names = set(inspect(store.engine).get_table_names())
        assert not {"feedback_rollup_hours", "feedback_rollup_days"} & names
        indexes = {i["name"] for i in inspect(store.engine).get_indexes("feedbacks")}
        assert "ix_feedbacks_assistant_pk_date_created" not in indexes
        assert "ix_feedbacks_user_pk_date_created" not in indexes
        with store.engine.connect() as conn:
            assert len(conn.execute(select(Feedback.pk)).all()) == 120
    finally:
        store.dispose()
