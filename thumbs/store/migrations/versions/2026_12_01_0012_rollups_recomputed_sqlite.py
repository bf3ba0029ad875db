"""rollups recomputed on SQLite

SQLite's date functions round a time's fraction to the millisecond, so until 2026-12-01
``store.sql.epoch_seconds`` put a row created at 10:59:59.9996 in the hour 11:00, where
the writers (in Python) put it in 10:00, and counted a review a second longer or shorter
when either time was that close to the next second. Rollups that migrations built (0006,
0011) may hold such rows in the wrong hour, where later changes of the row (made in
Python) no longer find them: every cell is computed again from the rows with the
corrected expression. PostgreSQL was exact and is left alone; downgrading keeps the cells.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 11:45:00.000000
"""

from __future__ import annotations

from alembic import op

from thumbs.store import rollups

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        rollups.rebuild(bind)


def downgrade() -> None:
    pass
