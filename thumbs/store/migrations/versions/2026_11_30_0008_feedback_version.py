"""feedback version

A version number on every feedback, raised by each change of it (a verdict, its text, a
status): the ETag of the feedback, so that a review decision can be conditional on the
state the reviewer saw (``If-Match``, the console's forms). Existing rows start at 1.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a constant default: PostgreSQL adds the column without rewriting the table
    op.add_column(
        "feedbacks",
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place: the table and its indexes stay as they are
    op.drop_column("feedbacks", "version")
