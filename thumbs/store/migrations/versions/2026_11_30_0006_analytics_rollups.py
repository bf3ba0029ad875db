"""analytics rollups

Two rollup tables, ``feedback_rollup_hours`` and ``feedback_rollup_days``: feedback counted
per account x assistant x UTC hour (day) x type x status x channel (see
thumbs.store.rollups), built here from the feedback that exists; from then on every
write of feedback keeps them true in its own transaction. Two indexes on feedbacks serve the
reads that rollups do not cover: the minutes at the edges of a date range
(``assistant_pk, date_created``) and the end-user filter (``user_pk, date_created``, only for
feedback with a user).

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from thumbs.store import rollups

revision = "0006"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("feedback_rollup_hours", "feedback_rollup_days")
REVIEW_TIME_BINS = 16
_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, _PK, server_default="0", nullable=False)


def upgrade() -> None:
    for name in TABLES:
        op.create_table(
            name,
            sa.Column("account_pk", _PK, nullable=False),
            sa.Column("assistant_pk", _PK, nullable=False),
            sa.Column("bucket", sa.Integer(), nullable=False),
            sa.Column("feedback_type", sa.String(length=16), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("channel", sa.String(length=16), nullable=False),
            _count("n"),
            _count("scored"),
            sa.Column("score_sum", sa.Float(), server_default="0", nullable=False),
            _count("with_text"),
            _count("with_reason"),
            _count("reviewed"),
            _count("review_seconds"),
            *(_count(f"rt_{i:02d}") for i in range(REVIEW_TIME_BINS)),
            sa.ForeignKeyConstraint(
                ["account_pk"],
                ["accounts.pk"],
                name=op.f(f"fk_{name}_account_pk_accounts"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["assistant_pk"],
                ["assistants.pk"],
                name=op.f(f"fk_{name}_assistant_pk_assistants"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint(
                "assistant_pk",
                "bucket",
                "feedback_type",
                "status",
                "channel",
                name=op.f(f"pk_{name}"),
            ),
            sqlite_with_rowid=False,
        )
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(f"ix_{name}_account_pk_bucket", ["account_pk", "bucket"])

    with op.batch_alter_table("feedbacks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedbacks_assistant_pk_date_created", ["assistant_pk", "date_created"], unique=False
        )
        batch_op.create_index(
            "ix_feedbacks_user_pk_date_created",
            ["user_pk", "date_created"],
            unique=False,
            sqlite_where=sa.text("user_pk IS NOT NULL"),
            postgresql_where=sa.text("user_pk IS NOT NULL"),
        )

    # the feedback that exists, counted with the code that checks the rollups in the tests
    rollups.rebuild(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("feedbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_feedbacks_user_pk_date_created")
        batch_op.drop_index("ix_feedbacks_assistant_pk_date_created")
    for name in reversed(TABLES):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{name}_account_pk_bucket")
        op.drop_table(name)
