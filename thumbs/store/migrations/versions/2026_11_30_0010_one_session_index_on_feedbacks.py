"""one session index on feedbacks

``feedbacks (account_pk, session_id, pk)`` (0009) is dropped: a session's feedback in the
whole account is found through ``(assistant_pk, session_id, pk)``, one seek per assistant of
the account (``thumbs.feedback.filters``). The two indexes held the same keys in another
order, and under real traffic (a new session on nearly every create) each one costs every
create a write on a page of its own: one group-commit batch of 16 creates wrote about 16
more pages to the WAL (bench/README.md).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 18:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_feedbacks_account_pk_session_id_pk", table_name="feedbacks")


def downgrade() -> None:
    op.create_index(
        "ix_feedbacks_account_pk_session_id_pk", "feedbacks", ["account_pk", "session_id", "pk"]
    )
