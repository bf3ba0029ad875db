"""rollups recomputed

Every rollup cell is computed again from the feedback rows (``rollups.rebuild``, as 0006
built them). On PostgreSQL a known end user's concurrent thumbs on one reply could count
its verdict once per racing request (``insert_ignore``'s rowcount was -1 there until
2026-12-01); a database that met that race holds cells counted twice, and this corrects
them. Nothing else changes; downgrading keeps the cells as they are.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 08:00:00.000000
"""

from __future__ import annotations

from alembic import op

from thumbs.store import rollups

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    rollups.rebuild(op.get_bind())


def downgrade() -> None:
    pass
