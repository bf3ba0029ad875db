"""``store.sql.epoch_seconds`` gives the whole seconds Python's ``rollups.epoch`` gives, on
both stores, for every fraction of a second: the rollups kept by the writers (Python) and
the numbers recomputed from the rows (SQL) must agree to the second and to the hour."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, literal, select

from tests.support.server import LiveServer
from thumbs.store import rollups
from thumbs.store.sql import epoch_seconds

MOMENTS = [
    datetime(2026, 12, 1, 12, 0, 0),
    datetime(2026, 12, 1, 12, 0, 0, 500_000),
    datetime(2026, 12, 1, 12, 0, 0, 999_499),
    # SQLite's date functions round these to the next second
    datetime(2026, 12, 1, 12, 0, 0, 999_500),
    datetime(2026, 12, 1, 12, 0, 0, 999_999),
    datetime(2026, 12, 1, 12, 59, 59, 999_700),  # and this to the next hour
    datetime(1970, 1, 1, 0, 0, 0, 999_999),
]


def test_whole_seconds_in_sql_are_pythons_for_every_fraction(server: LiveServer) -> None:
    with server.runtime.store.engine.connect() as conn:
        got = [
            conn.execute(select(epoch_seconds(literal(m, DateTime())))).scalar_one()
            for m in MOMENTS
        ]
    assert got == [rollups.epoch(m) for m in MOMENTS]
    assert [g // 3600 for g in got] == [rollups.epoch(m) // 3600 for m in MOMENTS]
